// The dashboard shell: a hash router (#/fleet, #/vehicle/VIN, #/health, #/signin).

import { setUnauthorizedHandler, token } from "./api.js";
import * as fleet from "./fleet.js";
import * as health from "./health.js";
import * as signin from "./signin.js";
import * as vehicle from "./vehicle.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signout = document.getElementById("signout");
let unmount = () => {};

const PAGES = { fleet, vehicle, health, signin };

function route(extra = {}) {
  unmount();
  const [, name = "fleet", param] = location.hash.match(/^#\/([a-z]+)\/?(.*)$/) ?? [];
  const signedIn = Boolean(token.get());
  let page = PAGES[name] ?? fleet;
  if (!signedIn && page !== signin) {
    extra.next = location.hash;
    page = signin;
  }
  // Fleet and ingest health are operator pages: a vehicle token (vt_…) sees only its vehicle.
  nav.hidden = !signedIn || page === signin || !token.get().startsWith("ot_");
  signout.hidden = !signedIn;
  nav.querySelectorAll("a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  document.body.dataset.page = page === signin ? "signin" : name;
  document.title = `Volta — ${page === signin ? "sign in" : name}`;
  unmount = page.mount(main, decodeURIComponent(param ?? ""), extra) ?? (() => {});
}

setUnauthorizedHandler(() => {
  token.clear();
  route({ reason: "Your token is no longer accepted: sign in again." });
});
signout.addEventListener("click", () => { token.clear(); location.hash = "#/signin"; route(); });
window.addEventListener("hashchange", () => route());
route();
