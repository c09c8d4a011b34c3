// One event: the thumbnail large, its clip from the stored footage (or, without one, the still at
// the best frame) with the box drawn, when and where in the original file, and other sightings of
// the same kind of vehicle nearby in time.

import { type Session, eventDetail, image, search } from "../api";
import { clear, el, mediaTime, when } from "../dom";
import { player } from "./player";
import { card } from "./search";

const NEARBY_MINUTES = 15;

export async function openDetail(session: Session, id: string) {
  const dialog = document.getElementById("detail") as HTMLDialogElement;
  clear(dialog);
  dialog.dataset.event = id;
  const close = el("button", { type: "button", class: "close", "aria-label": "Close" }, ["×"]);
  close.addEventListener("click", () => dialog.close());
  dialog.append(close, el("p", { role: "status" }, ["Loading…"]));
  if (!dialog.open) dialog.showModal();
  try {
    const { event, thumbnail } = await eventDetail(session, id);
    const colour = event.attributes.colour?.value;
    const title = `${colour ? colour + " " : ""}${event.class} at ${event.source_id}`;
    const thumb = el("img", { class: "thumb-large", alt: `thumbnail: ${title}` });
    const frame = el("img", { id: "frame", alt: `source footage at ${mediaTime(event.best_frame.media_time_us / 1e6)}` });
    const b = event.best_frame.bbox;
    const box = el("div", {
      class: "bbox",
      "aria-hidden": "true",
      style: `left:${b.x * 100}%;top:${b.y * 100}%;width:${b.width * 100}%;height:${b.height * 100}%`,
    });
    const frameBox = el("figure", { class: "frame" }, [el("div", { class: "frame-inner" }, [frame, box]), el("figcaption", {}, [
      `Source footage at ${mediaTime(event.best_frame.media_time_us / 1e6)} in ${event.input} (jump there in the original file).`,
    ])]);
    const still = image(session, `/v1/events/${encodeURIComponent(id)}/frame`);
    const clipBox: HTMLElement = player(session, event, still, (why) => {
      clipBox.replaceWith(el("p", { class: "muted", id: "no-clip" }, [`No clip: ${why}`]), frameBox);
      still.then((src) => (frame.src = src)).catch((err) => frameBox.replaceWith(el("p", { class: "muted" }, [`Footage unavailable: ${(err as Error).message}`])));
    });
    const others = el("ul", { class: "grid small-grid", "aria-label": "other sightings" });
    clear(dialog).append(
      close,
      el("h2", { id: "detail-title" }, [title]),
      el("div", { class: "detail" }, [
        el("div", {}, [thumb]),
        el("dl", {}, [
          el("dt", {}, ["When"]), el("dd", {}, [`${when(event.wall_start)} – ${when(event.wall_end)}`]),
          el("dt", {}, ["In the file"]), el("dd", {}, [`${mediaTime(event.media_start_us / 1e6)} – ${mediaTime(event.media_end_us / 1e6)} of ${event.input}`]),
          el("dt", {}, ["Confidence"]), el("dd", {}, [`${(event.confidence * 100).toFixed(0)}% over ${event.frames} frames`]),
          el("dt", {}, ["Model"]), el("dd", {}, [`${event.model.name} ${event.model.version}`]),
        ]),
      ]),
      clipBox,
      el("h3", {}, [`Other sightings within ${NEARBY_MINUTES} minutes`]),
      others,
    );
    close.focus();
    image(session, thumbnail).then((src) => (thumb.src = src)).catch(() => thumb.replaceWith(el("span", { class: "noimg" }, ["no thumbnail"])));
    const start = new Date(event.wall_start).getTime();
    const span = NEARBY_MINUTES * 60_000;
    const nearby = await search(session, {
      q: `${colour ?? ""} ${event.class}`.trim(),
      from: new Date(start - span).toISOString(),
      to: new Date(start + span).toISOString(),
      limit: 12,
    });
    const list = nearby.events.filter((h) => h.event_id !== id);
    if (list.length === 0) others.replaceWith(el("p", { class: "muted" }, ["None."]));
    for (const hit of list) others.append(card(session, hit));
  } catch (err) {
    clear(dialog).append(close, el("p", { class: "error", role: "alert" }, [`Cannot open the event: ${(err as Error).message}`]));
  }
}
