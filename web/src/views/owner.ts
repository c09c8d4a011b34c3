// A camera owner's view: the switch of each camera they share live only on a condition (the
// "panic button": on, canvass may take it live; off, the stream stops within seconds), and the
// footage requests for their cameras (never the case behind them), each answered by uploading
// the footage or declined with a reason.

import { type CameraHit, type FootageRequest, decline, myCameras, requests, setCondition } from "../api";
import { clear, el, showError, showStatus, when } from "../dom";
import { upload } from "../upload";

function requestCard(token: string, r: FootageRequest, refresh: () => void): HTMLElement {
  const status = el("p", { role: "status" });
  const card = el("article", { class: "card request", "data-request": r.id }, [
    el("h2", {}, [`Camera ${r.camera_id}`]),
    el("p", {}, [`${when(r.from)} – ${when(r.to)}`]),
    el("p", {}, [`Asked by ${r.requested_by}: ${r.reason}`]),
    el("p", { class: "state" }, [r.state === "open" ? "Open" : `${r.state}: ${r.answer?.reason ?? ""}`]),
    status,
  ]);
  if (r.state !== "open") return card;
  const file = el("input", { type: "file", accept: "video/*", id: `footage-${r.id}` });
  const progress = el("progress", { max: "1", value: "0" });
  const reason = el("input", { id: `reason-${r.id}`, maxlength: "1000", placeholder: "why not" });
  const no = el("button", { type: "button" }, ["Decline"]);
  card.append(
    el("label", { for: file.id }, ["Send footage"]), " ", file, " ", progress,
    el("p", {}, [el("label", { for: reason.id }, ["Or decline: "]), reason, " ", no]),
  );
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    upload(token, chosen, { request: r.id }, {
      onProgress: (sent, total) => {
        progress.max = total;
        progress.value = sent;
      },
      onDone: () => {
        showStatus(status, "Sent. Thank you.");
        refresh();
      },
      onError: (message) => showError(status, `Upload failed: ${message}`),
    });
  });
  no.addEventListener("click", async () => {
    try {
      await decline({ token }, r.id, reason.value.trim());
      refresh();
    } catch (err) {
      showError(status, (err as Error).message);
    }
  });
  return card;
}

function liveSwitch(token: string, camera: CameraHit): HTMLElement {
  const status = el("p", { role: "status" });
  const button = el("button", { type: "button", class: "live-switch", "data-camera": camera.id }, []);
  const show = (active: boolean) => {
    button.textContent = active ? "Stop live sharing" : "Share live now (emergency)";
    button.setAttribute("aria-pressed", String(active));
    showStatus(status, active ? "Live: canvass may watch this camera now." : "Not shared live.");
  };
  let active = camera.condition_active;
  show(active);
  button.addEventListener("click", async () => {
    try {
      active = (await setCondition(token, camera.id, !active)).condition_active;
      show(active);
    } catch (err) {
      showError(status, (err as Error).message);
    }
  });
  return el("article", { class: "card" }, [
    el("h2", {}, [camera.address ?? camera.source_id ?? camera.id]),
    button,
    status,
  ]);
}

export async function showOwner(app: HTMLElement, token: string) {
  const list = el("section", { id: "requests" });
  const live = el("section", { id: "live-cameras" });
  const status = el("p", { role: "status", id: "owner-status" });
  clear(app).append(live, el("h1", {}, ["Footage requests for your cameras"]), status, list);
  try {
    const shared = (await myCameras(token)).filter((c) => c.access === "conditional_live");
    if (shared.length) live.append(el("h1", {}, ["Live sharing"]), ...shared.map((c) => liveSwitch(token, c)));
  } catch (err) {
    showError(status, `Cannot list your cameras: ${(err as Error).message}`);
  }
  const refresh = async () => {
    try {
      const all = await requests({ token });
      showStatus(status, all.length ? `${all.length} request${all.length === 1 ? "" : "s"}` : "No requests.");
      clear(list).append(...all.map((r) => requestCard(token, r, () => void refresh())));
    } catch (err) {
      showError(status, `Cannot list requests: ${(err as Error).message}`);
    }
  };
  await refresh();
}
