// The investigator's page: sign in, give the case and purpose, then search, look at an event,
// see the hits per camera over time, find the registered cameras near an incident, and see the
// case's evidence and jobs (and upload more). A camera owner gets the requests for their cameras.

import "leaflet/dist/leaflet.css";
import "./style.css";
import { ApiError, type Session, checkToken, me } from "./api";
import { el, clear } from "./dom";
import { showCameras } from "./views/cameras";
import { startAlertBanner } from "./views/alerts";
import { showCase } from "./views/case";
import { showOwner } from "./views/owner";
import { showSearch } from "./views/search";
import { showTimeline } from "./views/timeline";

const STORAGE_KEY = "canvass-session";
let alerts: AbortController | undefined;
const app = document.getElementById("app")!;

function loadSession(): Partial<Session> & { role?: string } {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "{}");
  } catch {
    return {};
  }
}

function saveSession(session: Partial<Session> & { role?: string }) {
  // Session storage: the token goes when the tab closes.
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

function signIn() {
  const token = el("input", { id: "token", type: "password", autocomplete: "off", required: "" });
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "card narrow", "aria-labelledby": "sign-in-title" }, [
    el("h1", { id: "sign-in-title" }, ["Sign in"]),
    el("label", { for: "token" }, ["API token"]),
    token,
    el("button", { type: "submit" }, ["Sign in"]),
    error,
  ]);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await checkToken(token.value.trim());
      saveSession({ token: token.value.trim() });
      void route();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? "That token is not valid." : String((err as Error).message);
    }
  });
  clear(app).append(form);
  token.focus();
}

function caseForm(token: string) {
  const caseId = el("input", { id: "case", required: "", maxlength: "200", placeholder: "e.g. 2026-0042" });
  const purpose = el("input", { id: "purpose", required: "", maxlength: "500", placeholder: "e.g. hit and run, Main St" });
  const form = el("form", { class: "card narrow", "aria-labelledby": "case-title" }, [
    el("h1", { id: "case-title" }, ["Case"]),
    el("p", { class: "muted" }, ["Every search and view is recorded in the audit log with the case and purpose."]),
    el("label", { for: "case" }, ["Case number"]),
    caseId,
    el("label", { for: "purpose" }, ["Purpose"]),
    purpose,
    el("button", { type: "submit" }, ["Start"]),
  ]);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveSession({ ...loadSession(), token, caseId: caseId.value.trim(), purpose: purpose.value.trim() });
    route();
  });
  clear(app).append(form);
  caseId.focus();
}

type Tab = "search" | "timeline" | "cameras" | "case";

function workspace(session: Session & { role?: string }) {
  const panel = el("section", { id: "panel" });
  const tabs: Record<Tab, HTMLButtonElement> = {
    search: el("button", { type: "button", role: "tab", id: "tab-search" }, ["Search"]),
    timeline: el("button", { type: "button", role: "tab", id: "tab-timeline" }, ["Timeline"]),
    cameras: el("button", { type: "button", role: "tab", id: "tab-cameras" }, ["Camera map"]),
    case: el("button", { type: "button", role: "tab", id: "tab-case" }, ["Case"]),
  };
  const show = (tab: Tab) => {
    for (const [name, button] of Object.entries(tabs)) button.setAttribute("aria-selected", String(name === tab));
    clear(panel);
    if (tab === "search") showSearch(panel, session);
    if (tab === "timeline") showTimeline(panel, session);
    if (tab === "cameras") showCameras(panel, session);
    if (tab === "case") showCase(panel, session);
  };
  for (const [name, button] of Object.entries(tabs)) button.addEventListener("click", () => show(name as Tab));
  clear(app).append(el("nav", { role: "tablist", class: "tabs" }, Object.values(tabs)), panel);
  show("search");
  alerts?.abort();
  // Investigators and supervisors hear their agency's alerts; other roles are not sent any.
  if (session.role === "investigator" || session.role === "supervisor") alerts = startAlertBanner(session);
}

async function route() {
  const session = loadSession();
  const info = document.getElementById("session-info")!;
  const signOut = document.getElementById("sign-out") as HTMLButtonElement;
  signOut.hidden = !session.token;
  info.textContent = session.caseId ? `case ${session.caseId} · ${session.purpose}` : "";
  if (!session.token) return signIn();
  if (session.role === undefined) {
    try {
      session.role = (await me(session.token)).role;
      saveSession(session);
    } catch {
      sessionStorage.removeItem(STORAGE_KEY);
      return signIn();
    }
  }
  if (session.role === "owner") return showOwner(app, session.token);
  if (!session.caseId || !session.purpose) return caseForm(session.token);
  workspace(session as Session);
}

document.getElementById("sign-out")!.addEventListener("click", () => {
  sessionStorage.removeItem(STORAGE_KEY);
  alerts?.abort();
  document.getElementById("alerts")!.replaceChildren();
  void route();
});
void route();
