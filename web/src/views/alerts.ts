// Alerts as they happen: a banner per track at the top of the page, with its thumbnail, that
// opens the event; it says when the track has ended. Only the user's agency's alerts arrive.

import { type Alert, type Session, watchAlerts } from "../api";
import { el, when } from "../dom";
import { openDetail } from "./detail";

export function startAlertBanner(session: Session): AbortController {
  const stop = new AbortController();
  const bar = document.getElementById("alerts")!;
  bar.replaceChildren();
  const shown = new Map<string, HTMLElement>();
  const onAlert = (alert: Alert) => {
    const key = `${alert.rule}/${alert.event.event_id}`;
    const existing = shown.get(key);
    if (existing) {
      if (alert.phase === "closed") {
        existing.classList.add("ended");
        existing.querySelector(".state")!.textContent = `ended ${when(alert.event.wall_end)}`;
      }
      return;
    }
    if (alert.phase !== "opened") return;
    const e = alert.event;
    const what = `${e.attributes.colour?.value ? e.attributes.colour.value + " " : ""}${e.class}`;
    const thumb = alert.thumbnail_jpeg_base64
      ? el("img", { src: `data:image/jpeg;base64,${alert.thumbnail_jpeg_base64}`, alt: `${what} at ${e.source_id}` })
      : el("span", { class: "noimg" }, ["no thumbnail"]);
    const open = el("button", { type: "button", class: "open" }, ["Open"]);
    const dismiss = el("button", { type: "button", class: "dismiss", "aria-label": "Dismiss" }, ["×"]);
    const item = el("article", { class: "alert", "data-event": e.event_id, "data-rule": alert.rule }, [
      thumb,
      el("div", {}, [
        el("strong", {}, [`${what.toUpperCase()} · ${e.source_id}`]),
        el("p", {}, [`Rule ${alert.rule} · seen ${when(alert.confirmed_at)} · ${(e.confidence * 100).toFixed(0)}%`]),
        el("p", { class: "state" }, ["in view now"]),
      ]),
      open,
      dismiss,
    ]);
    // The page's own clock against the frame's: how late the banner is (the latency bench reads it).
    item.dataset.latencyMs = String(Date.now() - Date.parse(alert.confirmed_at));
    open.addEventListener("click", () => void openDetail(session, e.event_id));
    dismiss.addEventListener("click", () => item.remove());
    shown.set(key, item);
    bar.prepend(item);
  };
  void watchAlerts(session.token, onAlert, stop.signal).then((why) => {
    if (why !== "stopped") bar.dataset.off = why;
  });
  return stop;
}
