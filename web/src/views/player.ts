// The event's clip: a player set to the event's start, the detection box drawn over the video at
// the best frame, the track's span marked on its own seek bar, and keys an investigator expects
// (space plays and pauses, arrows step a frame, shift+arrows a second).

import { type Clip, type DetectionEvent, type Session, clip as fetchClip } from "../api";
import { el, mediaTime } from "../dom";

/** How near the best frame (s) the box is drawn: half a frame either side. */
function nearBest(t: number, best: number, fps: number): boolean {
  return Math.abs(t - best) <= 0.5 / fps + 1e-3;
}

/** The player; `unavailable` is called with the reason when there is no clip (a live stream
 * keeps no footage, the evidence is gone). */
export function player(
  session: Session,
  event: DetectionEvent,
  poster: Promise<string>,
  unavailable: (why: string) => void,
): HTMLElement {
  const video = el("video", { id: "clip", preload: "auto", playsinline: "", muted: "", tabindex: "0", "aria-label": "event clip" });
  video.muted = true;
  const b = event.best_frame.bbox;
  const box = el("div", {
    class: "bbox",
    "aria-hidden": "true",
    style: `left:${b.x * 100}%;top:${b.y * 100}%;width:${b.width * 100}%;height:${b.height * 100}%`,
  });
  const span = el("div", { class: "span", title: "the event" });
  const head = el("div", { class: "playhead" });
  const seek = el("div", { class: "seekbar", role: "slider", "aria-label": "Seek", tabindex: "-1" }, [span, head]);
  const time = el("span", { class: "time" });
  const play = el("button", { type: "button" }, ["Play"]);
  const toBest = el("button", { type: "button" }, ["Best frame"]);
  const toStart = el("button", { type: "button" }, ["Event start"]);
  const status = el("p", { class: "muted", role: "status" }, ["Cutting the clip…"]);
  const figure = el("figure", { class: "frame player" }, [
    el("div", { class: "frame-inner" }, [video, box]),
    seek,
    el("div", { class: "controls" }, [play, toStart, toBest, time]),
    el("figcaption", {}, ["Space plays or pauses; ← → step one frame, shift+← → one second."]),
    status,
  ]);
  poster.then((src) => (video.poster = src)).catch(() => {});

  fetchClip(session, event.event_id)
    .then((c: Clip) => {
      const startAt = event.media_start_us / 1e6 - c.start;
      const endAt = event.media_end_us / 1e6 - c.start;
      const best = event.best_frame.media_time_us / 1e6 - c.start;
      const update = () => {
        const d = video.duration || 1;
        head.style.left = `${(video.currentTime / d) * 100}%`;
        box.hidden = !nearBest(video.currentTime, best, c.fps);
        time.textContent = `${mediaTime(c.start + video.currentTime)} in the file`;
        play.textContent = video.paused ? "Play" : "Pause";
        seek.setAttribute("aria-valuenow", video.currentTime.toFixed(2));
      };
      video.addEventListener("loadedmetadata", () => {
        const d = video.duration;
        span.style.left = `${(Math.max(0, startAt) / d) * 100}%`;
        span.style.width = `${(Math.max(0, Math.min(d, endAt) - Math.max(0, startAt)) / d) * 100}%`;
        seek.setAttribute("aria-valuemin", "0");
        seek.setAttribute("aria-valuemax", d.toFixed(2));
        video.currentTime = Math.max(0, startAt);
      });
      for (const name of ["timeupdate", "seeked", "play", "pause"]) video.addEventListener(name, update);
      video.addEventListener("error", () => (status.textContent = "This browser cannot play the clip."));
      video.addEventListener("loadeddata", () => (status.textContent = `Clip from ${mediaTime(c.start)}; the event is marked on the bar.`), { once: true });
      const step = (seconds: number) => {
        video.pause();
        video.currentTime = Math.min(video.duration || 0, Math.max(0, video.currentTime + seconds));
      };
      // A pause before playback starts rejects play(): that is the user's choice, not an error.
      const toggle = () => (video.paused ? video.play().catch(() => {}) : video.pause());
      play.addEventListener("click", toggle);
      toBest.addEventListener("click", () => step(best - video.currentTime));
      toStart.addEventListener("click", () => step(startAt - video.currentTime));
      seek.addEventListener("click", (e) => {
        const r = seek.getBoundingClientRect();
        step(((e.clientX - r.left) / r.width) * (video.duration || 0) - video.currentTime);
      });
      figure.addEventListener("keydown", (e) => {
        if (e.target instanceof HTMLButtonElement && e.key === " ") return; // a button's own space
        const second = e.shiftKey ? 1 : 1 / c.fps;
        if (e.key === " ") toggle();
        else if (e.key === "ArrowRight") step(second);
        else if (e.key === "ArrowLeft") step(-second);
        else return;
        e.preventDefault();
      });
      video.src = c.src;
    })
    .catch((err) => unavailable((err as Error).message));
  return figure;
}
