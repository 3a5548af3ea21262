// Sign-in: a user name and password (POST /v1/auth/token gives a short-lived token), or a
// pasted API token. Either way the credential is checked with GET /v1/me before it is kept
// (sessionStorage only), and that answer decides where the user lands.

import { ApiError, get, keepFresh, me, post, token } from "./api.js";
import { esc } from "./format.js";

// Where a credential lands: operators on the fleet, technicians on their workbench, anyone who
// sees one vehicle on it, others on their list of vehicles.
export function home(who) {
  if (!who) return "#/signin";
  if (who.all_vehicles) return "#/fleet";
  if (who.role === "technician") return "#/workbench";
  if (who.vehicles.length === 1) return `#/vehicle/${who.vehicles[0]}`;
  return "#/vehicles";
}

async function keep(t, next, expiresAt = null) {
  const who = await get("/v1/me", { tokenOverride: t });
  token.set(t);
  me.set(who);
  if (expiresAt) keepFresh(expiresAt);
  const target = next && next !== "#/signin" ? next : home(who);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}

export function mount(main, _param, { reason, next } = {}) {
  main.innerHTML = `
    <section class="panel signin">
      <h1>Sign in to Volta</h1>
      <p class="sub">With your user name and password.</p>
      <form id="signin-user-form">
        <input type="text" id="username" autocomplete="username" placeholder="User name" aria-label="User name" required>
        <input type="password" id="password" autocomplete="current-password" placeholder="Password" aria-label="Password" required>
        <div id="signin-user-error" role="alert">${reason ? `<p class="error">${esc(reason)}</p>` : ""}</div>
        <button type="submit" id="signin-user-button">Sign in</button>
      </form>
      <p class="sub or">Or paste an API token: an operator token (<span class="mono">ot_…</span>), e.g. the one <span class="mono">volta demo</span> prints, or a vehicle token (<span class="mono">vt_…</span>).</p>
      <form id="signin-form">
        <input type="password" id="token" autocomplete="off" placeholder="Token" aria-label="Token" required>
        <div id="signin-error" role="alert"></div>
        <button type="submit" id="signin-button">Sign in with token</button>
      </form>
    </section>`;

  async function attempt(form, errBox, button, work, refusal) {
    button.disabled = true;
    errBox.innerHTML = "";
    try {
      await work();
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 401 ? refusal : e.message;
      errBox.innerHTML = `<p class="error">${esc(msg)}</p>`;
    } finally {
      button.disabled = false;
    }
  }

  const userForm = main.querySelector("#signin-user-form");
  userForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const username = main.querySelector("#username").value.trim();
    const password = main.querySelector("#password");
    attempt(userForm, main.querySelector("#signin-user-error"), main.querySelector("#signin-user-button"),
      async () => {
        const session = await post("/v1/auth/token", { username, password: password.value }, { tokenOverride: "" });
        password.value = "";
        await keep(session.access_token, next, session.expires_at);
      },
      "Wrong user name or password.");
  });

  const tokenForm = main.querySelector("#signin-form");
  tokenForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const t = main.querySelector("#token").value.trim();
    attempt(tokenForm, main.querySelector("#signin-error"), main.querySelector("#signin-button"),
      () => keep(t, next),
      "This token was not accepted: it is unknown or revoked. Check it and try again.");
  });
  main.querySelector("#username").focus();
  return () => {};
}
