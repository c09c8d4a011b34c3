// A few lines instead of a framework: build elements with attributes and children.

type Children = (Node | string)[];

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  children: Children = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function clear<T extends Element>(node: T): T {
  node.replaceChildren();
  return node;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function mediaTime(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = (seconds % 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

/** `datetime-local` value to RFC 3339 in UTC, or undefined when empty. */
export function isoFromLocal(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

/** A length of time for people: "20 s", "15 min", "2.5 h", "3 days". */
export function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${+(seconds / 3600).toFixed(1)} h`;
  return `${+(seconds / 86400).toFixed(1)} days`;
}

/** Turns a status line into an alert that says what went wrong. */
export function showError(status: HTMLElement, message: string) {
  status.className = "error";
  status.setAttribute("role", "alert");
  status.textContent = message;
}

/** A status line back to plain, polite news. */
export function showStatus(status: HTMLElement, message: string) {
  status.className = "";
  status.setAttribute("role", "status");
  status.textContent = message;
}
