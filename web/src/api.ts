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
