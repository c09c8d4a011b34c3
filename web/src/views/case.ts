// The case: its stored evidence (with hashes and who submitted it), the ingest jobs with their
// progress, the footage requests made for it, and a drop zone to upload more evidence.

import { type Job, type Session, caseDetail, jobs, requests } from "../api";
import { clear, el, showError, showStatus, when } from "../dom";
import { upload } from "../upload";

function size(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function jobRow(job: Job): HTMLTableRowElement {
  const total = job.media_s_total ?? 0;
  const bar = el("progress", { max: String(total || 1), value: String(job.state === "done" ? total || 1 : job.media_s_done) });
  bar.setAttribute("aria-label", `${job.original_name}: ${job.state}`);
  const done = total ? `${job.media_s_done.toFixed(0)} of ${total.toFixed(0)} s` : `${job.media_s_done.toFixed(0)} s`;
  const note = job.error ?? job.warning ?? "";
  return el("tr", { "data-state": job.state }, [
    el("td", {}, [job.original_name]),
    el("td", {}, [job.reason]),
    el("td", { class: "state" }, [job.state]),
    el("td", {}, [bar, " ", done]),
    el("td", {}, [String(job.frames)]),
    el("td", {}, [job.events == null ? "" : String(job.events)]),
    el("td", { class: note ? "error" : "" }, [note]),
  ]);
}

export async function showCase(panel: HTMLElement, session: Session) {
  const title = el("h1", { id: "case-heading" });
  const status = el("p", { role: "status", id: "case-status" });
  const evidence = el("table", { id: "evidence", class: "list" });
  const jobTable = el("table", { id: "jobs", class: "list" });
  const asked = el("table", { id: "case-requests", class: "list" });
  const file = el("input", { id: "evidence-file", type: "file", accept: "video/*" });
  const progress = el("progress", { id: "upload-progress", max: "1", value: "0" });
  const drop = el("div", { class: "drop", id: "drop-zone", tabindex: "0" }, [
    el("label", { for: "evidence-file" }, ["Upload evidence"]),
    " Drop a video here or choose one: ",
    file,
    progress,
  ]);
  panel.append(title, status, drop, el("h2", {}, ["Evidence"]), evidence, el("h2", {}, ["Ingest jobs"]), jobTable,
    el("h2", {}, ["Footage requests"]), asked);

  let timer: number | undefined;
  const refresh = async () => {
    try {
      const [detail, list, all] = await Promise.all([caseDetail(session), jobs(session), requests(session)]);
      // The title, not the status line: an upload's news stays where it was said.
      title.textContent = `Case ${detail.case.id}: ${detail.case.title} (${detail.case.agency})`;
      clear(evidence).append(el("tr", {}, ["File", "Size", "SHA-256", "Submitted by", "At"].map((h) => el("th", { scope: "col" }, [h]))));
      for (const m of detail.evidence) {
        evidence.append(el("tr", {}, [m.original_name, size(m.size), m.sha256, m.submitted_by, when(m.submitted_at)].map((v, i) =>
          el("td", i === 2 ? { class: "hash" } : {}, [v]))));
      }
      clear(jobTable).append(el("tr", {}, ["File", "Why", "State", "Progress", "Frames", "Events", ""].map((h) => el("th", { scope: "col" }, [h]))), ...list.map(jobRow));
      clear(asked).append(el("tr", {}, ["Camera", "Window", "Reason", "State", "Answer"].map((h) => el("th", { scope: "col" }, [h]))));
      for (const r of all.filter((r) => r.case === session.caseId)) {
        asked.append(el("tr", {}, [r.camera_id, `${when(r.from)} – ${when(r.to)}`, r.reason, r.state, r.answer?.reason ?? ""].map((v) => el("td", {}, [v]))));
      }
      const busy = list.some((j) => j.state === "queued" || j.state === "running");
      clearTimeout(timer);
      if (busy && panel.isConnected) timer = window.setTimeout(refresh, 1000);
    } catch (err) {
      showError(status, `Cannot show the case: ${(err as Error).message}`);
    }
  };
  const send = (chosen: File | undefined) => {
    if (!chosen) return;
    showStatus(status, `Uploading ${chosen.name}…`);
    upload(session.token, chosen, { case: session.caseId }, {
      onProgress: (sent, total) => {
        progress.max = total;
        progress.value = sent;
      },
      onDone: () => {
        showStatus(status, `${chosen.name} is stored as evidence; its job is queued.`);
        void refresh();
      },
      onError: (message) => showError(status, `Upload of ${chosen.name} failed: ${message}`),
    });
  };
  file.addEventListener("change", () => send(file.files?.[0]));
  drop.addEventListener("dragover", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    send(e.dataTransfer?.files[0]);
  });
  await refresh();
}
