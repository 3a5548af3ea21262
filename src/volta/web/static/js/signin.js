// Sign-in: a Volta token, checked against the API before it is kept (sessionStorage only).

import { ApiError, get, token } from "./api.js";
import { esc } from "./format.js";

export function mount(main, _param, { reason, next } = {}) {
  main.innerHTML = `
    <section class="panel signin">
      <h1>Sign in to Volta</h1>
      <p class="sub">Paste an operator token (<span class="mono">ot_…</span>), e.g. the one <span class="mono">volta demo</span> prints, or a vehicle token (<span class="mono">vt_…</span>).</p>
      <form id="signin-form">
        <input type="password" id="token" autocomplete="off" placeholder="Token" aria-label="Token" required>
        <div id="signin-error" role="alert">${reason ? `<p class="error">${esc(reason)}</p>` : ""}</div>
        <button type="submit" id="signin-button">Sign in</button>
      </form>
    </section>`;
  const form = main.querySelector("#signin-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = main.querySelector("#token").value.trim();
    const err = main.querySelector("#signin-error");
    const button = main.querySelector("#signin-button");
    button.disabled = true;
    err.innerHTML = "";
    try {
      const list = await get("/v1/vehicles?limit=1", { tokenOverride: t });
      token.set(t);
      // A vehicle token sees only itself: its own page is its home.
      const own = t.startsWith("vt_") && list.vehicles?.length ? `#/vehicle/${list.vehicles[0].vin}` : null;
      const target = next && next !== "#/signin" ? next : own ?? "#/fleet";
      if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
      else location.hash = target;
    } catch (e2) {
      const msg = e2 instanceof ApiError && e2.status === 401
        ? "This token was not accepted: it is unknown or revoked. Check it and try again."
        : e2.message;
      err.innerHTML = `<p class="error">${esc(msg)}</p>`;
    } finally {
      button.disabled = false;
    }
  });
  main.querySelector("#token").focus();
  return () => {};
}
