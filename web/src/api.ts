// The investigator API (`canvass serve`), as the page uses it. Every call carries the user's
// token and the case and purpose the service audits.

export interface Session {
  token: string;
  caseId: string;
  purpose: string;
}

export interface Hit {
  event_id: string;
  source: string;
  class: string;
  colour: string | null;
  confidence: number;
  start: string;
  end: string;
  media_start_s: number;
  media_end_s: number;
  thumbnail: string;
  model: string;
}

export interface SearchResponse {
  total: number;
  offset: number;
  limit: number;
  events: Hit[];
  note?: string | null;
  /** How the query was read, aspect by aspect. */
  understood: { aspect: string; value: string }[];
}

export interface DetectionEvent {
  event_id: string;
  source_id: string;
  input: string;
  class: string;
  confidence: number;
  attributes: { colour?: { value: string; confidence: number } | null };
  wall_start: string;
  wall_end: string;
  media_start_us: number;
  media_end_us: number;
  frames: number;
  best_frame: { media_time_us: number; bbox: { x: number; y: number; width: number; height: number } };
  model: { name: string; version: string };
}

export interface EventDetail {
  event: DetectionEvent;
  thumbnail: string;
}

export interface TimelineResponse {
  from: string | null;
  to: string | null;
  bucket_s: number;
  total: number;
  counted: number;
  sources: { source: string; counts: number[] }[];
}

export interface CameraHit {
  id: string;
  owner: string;
  source_id?: string | null;
  contact: string;
  lat: number;
  lon: number;
  address?: string | null;
  description?: string | null;
  access: "registry_only" | "request" | "conditional_live";
  condition_active: boolean;
  distance_m?: number | null;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | undefined>;

function url(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function call(session: Pick<Session, "token"> & Partial<Session>, path: string, params?: Params): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${session.token}` };
  if (session.caseId) headers["X-Canvass-Case"] = session.caseId;
  if (session.purpose) headers["X-Canvass-Purpose"] = session.purpose;
  const response = await fetch(url(path, params), { headers });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, response.status);
  }
  return response;
}

export async function checkToken(token: string): Promise<void> {
  await call({ token }, "/v1/cameras");
}

export async function search(session: Session, params: Params): Promise<SearchResponse> {
  return (await call(session, "/v1/search", params)).json();
}

export async function timeline(session: Session, params: Params): Promise<TimelineResponse> {
  return (await call(session, "/v1/timeline", params)).json();
}

export async function eventDetail(session: Session, id: string): Promise<EventDetail> {
  return (await call(session, `/v1/events/${encodeURIComponent(id)}`)).json();
}

export async function cameras(session: Session, params: Params): Promise<CameraHit[]> {
  return (await call(session, "/v1/cameras", params)).json();
}

/** An image the API serves behind the token, as an object URL for an <img>. */
export async function image(session: Session, path: string): Promise<string> {
  const blob = await (await call(session, path)).blob();
  return URL.createObjectURL(blob);
}

/** An event's clip (fetched whole behind the token: a <video> cannot send it) and where it
 * sits in the source footage. */
export interface Clip {
  src: string;
  /** Media time (s) of the clip's time 0. */
  start: number;
  fps: number;
}

export async function clip(session: Session, id: string): Promise<Clip> {
  const response = await call(session, `/v1/events/${encodeURIComponent(id)}/clip`);
  const start = Number(response.headers.get("X-Canvass-Clip-Start") ?? "0");
  const fps = Number(response.headers.get("X-Canvass-Clip-Fps") ?? "25") || 25;
  return { src: URL.createObjectURL(await response.blob()), start, fps };
}

export interface Me {
  name: string;
  role: "investigator" | "supervisor" | "admin" | "owner";
  agency: string | null;
}

export interface Manifest {
  sha256: string;
  size: number;
  original_name: string;
  submitted_by: string;
  submitted_at: string;
  source_id: string | null;
  request: string | null;
}

export interface CaseDetail {
  case: { id: string; title: string; agency: string; created_by: string; created_at: string };
  evidence: Manifest[];
}

export interface Job {
  id: string;
  original_name: string;
  reason: string;
  state: "queued" | "running" | "done" | "failed";
  media_s_done: number;
  media_s_total: number | null;
  frames: number;
  events: number | null;
  error: string | null;
  warning: string | null;
}

export interface FootageRequest {
  id: string;
  camera_id: string;
  case: string | null;
  requested_by: string;
  from: string;
  to: string;
  reason: string;
  state: "open" | "declined" | "answered";
  answer: { by: string; at: string; reason: string; evidence_sha256?: string | null } | null;
}

export async function me(token: string): Promise<Me> {
  return (await call({ token }, "/v1/me")).json();
}

export async function caseDetail(session: Session): Promise<CaseDetail> {
  return (await call(session, `/v1/cases/${encodeURIComponent(session.caseId)}`)).json();
}

export async function jobs(session: Session): Promise<Job[]> {
  return (await call(session, "/v1/jobs", { case: session.caseId })).json();
}

export async function requests(session: Pick<Session, "token">): Promise<FootageRequest[]> {
  return (await call(session, "/v1/requests")).json();
}

export async function decline(session: Pick<Session, "token">, id: string, reason: string): Promise<void> {
  const response = await fetch(`/v1/requests/${encodeURIComponent(id)}/decline`, {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ reason }),
  });
  if (!response.ok) throw new ApiError((await response.json()).error ?? response.statusText, response.status);
}

/** An alert (schema alert.v2): a rule matched a track as it happened. */
export interface Alert {
  alert_id: string;
  rule: string;
  agency?: string;
  phase: "opened" | "updated" | "closed";
  event: DetectionEvent;
  confirmed_at: string;
  raised_at: string;
  thumbnail_jpeg_base64?: string;
}

/**
 * Listens to the alert stream (Server-Sent Events read with fetch, since EventSource cannot send
 * the token) until `stop` aborts; reconnects after a dropped connection. Resolves with the
 * reason when there is nothing to listen to (no alert rules configured: 204).
 */
export async function watchAlerts(token: string, onAlert: (alert: Alert) => void, stop: AbortSignal): Promise<string> {
  let delay = 1000;
  while (!stop.aborted) {
    try {
      const response = await fetch("/v1/alerts/stream", { headers: { Authorization: `Bearer ${token}` }, signal: stop });
      if (response.status === 204) return "no alert rules are configured";
      if (!response.ok || !response.body) throw new Error(response.statusText);
      delay = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n");
          const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
          const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (event === "alert" && data) onAlert(JSON.parse(data) as Alert);
        }
      }
    } catch {
      if (stop.aborted) break;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30_000);
  }
  return "stopped";
}

/** An owner's switch for a conditional_live camera (the panic button). */
export async function setCondition(token: string, id: string, active: boolean): Promise<CameraHit> {
  const response = await fetch(`/v1/cameras/${encodeURIComponent(id)}/condition`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ condition_active: active }),
  });
  if (!response.ok) throw new ApiError((await response.json()).error ?? response.statusText, response.status);
  return response.json();
}

export async function myCameras(token: string): Promise<CameraHit[]> {
  return (await call({ token }, "/v1/cameras")).json();
}

/** A live camera's health (`GET /v1/live`). */
export interface CameraHealth {
  source_id: string;
  url: string;
  state: "connecting" | "streaming" | "refused_by_owner" | "failed" | "stopped";
  connected: boolean;
  fps_in: number;
  lag_s: number;
  last_frame_at?: string | null;
  frames_sampled: number;
  reconnects: number;
  error?: string;
}

export async function liveCameras(session: Session): Promise<CameraHealth[]> {
  return (await call(session, "/v1/live")).json();
}
