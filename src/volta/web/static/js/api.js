// Talking to Volta's API: the credential (sessionStorage), fetch with errors a person can read.
// The credential is an API token (ot_…, vt_…) or a sign-in token (JWT) from POST /v1/auth/token;
// both go in the same place and the same Authorization header.

const KEY = "volta.token";
const ME_KEY = "volta.me";
const EXPIRES_KEY = "volta.expires"; // ms since the epoch; only for sign-in tokens

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => {
    clearTimeout(refreshTimer);
    [KEY, ME_KEY, EXPIRES_KEY].forEach((k) => sessionStorage.removeItem(k));
  },
};

// A sign-in token lasts minutes: it is exchanged for a fresh one a minute before it expires
// (POST /v1/auth/refresh), for as long as the server allows (12 h after the password).
let refreshTimer = null;
export function keepFresh(expiresAtMs) {
  clearTimeout(refreshTimer);
  if (expiresAtMs) sessionStorage.setItem(EXPIRES_KEY, String(expiresAtMs));
  const at = Number(sessionStorage.getItem(EXPIRES_KEY));
  if (!at || !token.get()) return;
  refreshTimer = setTimeout(async () => {
    try {
      const s = await post("/v1/auth/refresh");
      token.set(s.access_token);
      keepFresh(s.expires_at);
    } catch { /* a 401 already sent the user to sign-in; otherwise the next request will */ }
  }, Math.max(5_000, at - Date.now() - 60_000));
}

// Who the credential is (GET /v1/me): role, user, the vehicles it may see. Pages and the
// navigation decide by role, not by the shape of the token.
export const me = {
  get: () => {
    try { return JSON.parse(sessionStorage.getItem(ME_KEY) ?? "null"); } catch { return null; }
  },
  set: (m) => sessionStorage.setItem(ME_KEY, JSON.stringify(m)),
};

export class ApiError extends Error {
  // `body`: the whole answer, for refusals that say more (a 409's `next_free`, `allowed`)
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

// Called on 401 so the app can send the user back to sign-in.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
export function reportUnauthorized(err) { onUnauthorized(err); }

export async function request(path, { raw = false, tokenOverride = null, signal, method = "GET", body } = {}) {
  const t = tokenOverride ?? token.get();
  const headers = t ? { Authorization: `Bearer ${t}` } : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Volta is not reachable: check that the server is running.");
  }
  if (!res.ok) {
    let code = "error", message = `${res.status} ${res.statusText}`, b = null;
    try {
      b = await res.json();
      code = b.error ?? code;
      message = b.message ?? message;
    } catch { /* not JSON */ }
    const err = new ApiError(res.status, code, message, b);
    if (res.status === 401 && !tokenOverride && t) onUnauthorized(err);
    throw err;
  }
  return raw ? res : res.json();
}

export const get = (path, opts) => request(path, opts);
export const post = (path, body, opts = {}) => request(path, { ...opts, method: "POST", body });

// The routes this server has (from its OpenAPI document, which needs no token): pages for
// services that are not deployed show an empty state instead of failing.
let routes = null;
export async function hasRoute(path) {
  if (routes === null) {
    try {
      const doc = await (await fetch("/openapi.json")).json();
      routes = new Set(Object.keys(doc.paths ?? {}));
    } catch {
      routes = new Set();
    }
  }
  return routes.has(path);
}
