// Search: the CLI's query language in one box, a time range, a camera filter, and the results
// as a grid of thumbnails, a page at a time.

import { ApiError, type Hit, type Session, cameras, image, search } from "../api";
import { clear, el, isoFromLocal, mediaTime, showError, showStatus, when } from "../dom";
import { openDetail } from "./detail";

/** The last query, shared with the timeline. */
export const current = { q: "", from: "", to: "", source: "" };

const PAGE = 24;

export function showSearch(panel: HTMLElement, session: Session) {
  const q = el("input", { id: "q", type: "search", value: current.q, placeholder: "red pickup after:-24h camera:main-st", "aria-describedby": "q-help" });
  const from = el("input", { id: "from", type: "datetime-local", value: current.from });
  const to = el("input", { id: "to", type: "datetime-local", value: current.to });
  const camera = el("select", { id: "camera" }, [el("option", { value: "" }, ["any camera"])]);
  const status = el("p", { id: "status", role: "status", "aria-live": "polite" });
  const understood = el("p", { id: "understood", class: "muted small", hidden: "" });
  const grid = el("ul", { id: "results", class: "grid", "aria-label": "results" });
  const more = el("button", { type: "button", id: "more", hidden: "" }, ["More results"]);
  const form = el("form", { class: "searchbar", role: "search" }, [
    el("label", { for: "q", class: "sr-only" }, ["Query"]),
    q,
    el("label", { for: "from" }, ["From"]),
    from,
    el("label", { for: "to" }, ["To"]),
    to,
    el("label", { for: "camera" }, ["Camera"]),
    camera,
    el("button", { type: "submit" }, ["Search"]),
  ]);
  const help = el("p", { id: "q-help", class: "muted small" }, [
    "Objects and colours (car, pickup, truck, bus, firearm, knife; red, orange, white, ...), times (yesterday afternoon, last night, between 14:00 and 16:00, weekdays), places (near main st, near:51.5,-0.12,500m), motion (heading north, parked, dwell:>10m, zone:driveway) and filters: camera:, after:, before: (-24h, -7d, a date), min-conf:0.6.",
  ]);
  panel.append(form, help, status, understood, grid, more);

  cameras(session, {})
    .then((list) => {
      for (const c of list.filter((c) => c.source_id)) {
        const option = el("option", { value: c.source_id! }, [`${c.source_id} — ${c.address ?? c.id}`]);
        if (c.source_id === current.source) option.selected = true;
        camera.append(option);
      }
    })
    .catch(() => {
      // The filter is optional; the query's camera: word still works.
    });

  let offset = 0;
  const run = async (append: boolean) => {
    Object.assign(current, { q: q.value.trim(), from: from.value, to: to.value, source: camera.value });
    if (!append) {
      offset = 0;
      clear(grid);
    }
    showStatus(status, "Searching…");
    more.hidden = true;
    try {
      const page = await search(session, {
        q: current.q,
        from: isoFromLocal(current.from),
        to: isoFromLocal(current.to),
        sources: current.source || undefined,
        limit: PAGE,
        offset,
      });
      offset += page.events.length;
      understood.textContent = `Understood: ${page.understood.map((u) => `${u.aspect}: ${u.value}`).join("; ")}`;
      understood.hidden = page.understood.length === 0;
      for (const hit of page.events) grid.append(card(session, hit));
      status.textContent =
        page.total === 0
          ? `Nothing found: ${page.note ?? "no event matches"}.`
          : `${page.total} event${page.total === 1 ? "" : "s"}, showing ${offset}.`;
      more.hidden = offset >= page.total;
    } catch (err) {
      showError(
        status,
        err instanceof ApiError && err.status === 400 ? `Query refused: ${err.message}` : `Search failed: ${(err as Error).message}`,
      );
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void run(false);
  });
  more.addEventListener("click", () => void run(true));
  q.focus();
  if (current.q) void run(false);
}

export function card(session: Session, hit: Hit): HTMLLIElement {
  const img = el("img", { alt: `${hit.colour ?? ""} ${hit.class} at ${hit.source}`.trim(), width: "200", height: "150" });
  image(session, hit.thumbnail)
    .then((src) => (img.src = src))
    .catch(() => img.replaceWith(el("span", { class: "noimg" }, ["no thumbnail"])));
  const button = el("button", { type: "button", class: "hit", "data-event": hit.event_id }, [
    img,
    el("span", { class: "label" }, [`${hit.colour ? hit.colour + " " : ""}${hit.class}`, el("span", { class: "conf" }, [` ${(hit.confidence * 100).toFixed(0)}%`])]),
    el("span", { class: "small" }, [hit.source]),
    el("span", { class: "small muted" }, [`${when(hit.start)} · at ${mediaTime(hit.media_start_s)}`]),
  ]);
  button.addEventListener("click", () => void openDetail(session, hit.event_id));
  return el("li", {}, [button]);
}
