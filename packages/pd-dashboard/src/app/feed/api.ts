// The page's only way to PD: GET requests to this origin's status API. The
// page has no write action, so nothing here sends anything but GET.

/** Where the API lives, relative to the page (`/dashboard/` → `/pd/api/v1/`), so the page works behind a path prefix too. */
export const API_BASE = new URL("../pd/api/v1/", document.baseURI).href;

/** An answer that was not 2xx, with PD's `{"error": …}` message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/**
 * GETs `path` below the API and parses the JSON. Rejects on a network
 * failure, after `timeoutMs`, or with {@link ApiError} on a non-2xx answer.
 * Every uint64 in the API is a decimal string, so `JSON.parse` loses nothing.
 */
export async function getJson<T>(path: string, timeoutMs = 4000): Promise<T> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(API_BASE + path, { method: "GET", signal: ctl.signal, cache: "no-store", credentials: "same-origin" });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    if (!res.ok) {
      const msg = typeof body === "object" && body !== null && "error" in body ? String((body as { error: unknown }).error) : `HTTP ${res.status}`;
      throw new ApiError(res.status, msg, body);
    }
    return body as T;
  } finally {
    clearTimeout(timer);
  }
}
