// Talking to Volta's API: the token (sessionStorage), fetch with errors a person can read.

const KEY = "volta.token";

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Called on 401 so the app can send the user back to sign-in.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
export function reportUnauthorized(err) { onUnauthorized(err); }

export async function request(path, { raw = false, tokenOverride = null, signal } = {}) {
  const t = tokenOverride ?? token.get();
  let res;
  try {
    res = await fetch(path, { headers: t ? { Authorization: `Bearer ${t}` } : {}, signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Volta is not reachable: check that the server is running.");
  }
  if (!res.ok) {
    let code = "error", message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      code = body.error ?? code;
      message = body.message ?? message;
    } catch { /* not JSON */ }
    const err = new ApiError(res.status, code, message);
    if (res.status === 401 && !tokenOverride) onUnauthorized(err);
    throw err;
  }
  return raw ? res : res.json();
}

export const get = (path, opts) => request(path, opts);

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
