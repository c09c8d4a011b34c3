// Hits per camera over the time range of the current search: when a red pickup passed each
// camera.

import { type Session, timeline } from "../api";
import { duration, el, isoFromLocal, showError, when } from "../dom";
import { current } from "./search";

export async function showTimeline(panel: HTMLElement, session: Session) {
  const status = el("p", { role: "status" });
  panel.append(el("h2", {}, [current.q ? `Timeline: ${current.q}` : "Timeline"]), status);
  if (!current.q) {
    status.textContent = "Search first: the timeline shows the hits of the current search per camera.";
    return;
  }
  status.textContent = "Counting…";
  try {
    const t = await timeline(session, {
      q: current.q,
      from: isoFromLocal(current.from),
      to: isoFromLocal(current.to),
      sources: current.source || undefined,
      buckets: 48,
    });
    if (t.sources.length === 0 || !t.from || !t.to) {
      status.textContent = "Nothing found in this range.";
      return;
    }
    status.textContent = `${t.total} hits from ${when(t.from)} to ${when(t.to)}; each bar is ${duration(t.bucket_s)}${t.counted < t.total ? ` (the best ${t.counted} counted)` : ""}.`;
    const peak = Math.max(...t.sources.flatMap((s) => s.counts));
    const table = el("table", { class: "timeline", id: "timeline" }, [
      el("caption", { class: "sr-only" }, ["Hits per camera over time"]),
    ]);
    for (const row of t.sources) {
      const cells = row.counts.map((n, i) => {
        const start = new Date(new Date(t.from!).getTime() + i * t.bucket_s * 1000);
        return el("span", {
          class: "bar",
          title: `${n} at ${row.source} from ${when(start.toISOString())}`,
          style: `height:${n === 0 ? 0 : Math.max(8, (n / peak) * 100)}%`,
        });
      });
      const total = row.counts.reduce((a, b) => a + b, 0);
      table.append(
        el("tr", {}, [
          el("th", { scope: "row" }, [row.source]),
          el("td", { class: "bars" }, [el("div", { class: "bars-inner", "aria-label": `${total} hits` }, cells)]),
          el("td", { class: "count" }, [String(total)]),
        ]),
      );
    }
    panel.append(table, el("p", { class: "muted small axis" }, [el("span", {}, [when(t.from)]), el("span", {}, [when(t.to)])]));
  } catch (err) {
    showError(status, `Timeline failed: ${(err as Error).message}`);
  }
}
