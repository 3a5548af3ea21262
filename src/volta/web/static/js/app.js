// The dashboard shell: a hash router (#/fleet, #/vehicle/VIN, #/trip[/VIN], #/vehicles, #/alerts,
// #/reports, #/places, #/health, #/campaigns, #/workbench[/CASE], #/diagnosis/VIN,
// #/service/VIN, #/recalls[/ID], #/signin).

import * as alerts from "./alerts.js";
import * as campaigns from "./campaigns.js";
import { get, keepFresh, me, setUnauthorizedHandler, token } from "./api.js";
import * as diagnosis from "./diagnosis.js";
import * as fleet from "./fleet.js";
import { esc } from "./format.js";
import * as health from "./health.js";
import * as places from "./places.js";
import * as recalls from "./recalls.js";
import * as reports from "./reports.js";
import * as service from "./servicepage.js";
import * as signin from "./signin.js";
import * as trip from "./trip.js";
import * as vehicle from "./vehicle.js";
import * as workbench from "./workbench.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signout = document.getElementById("signout");
const who = document.getElementById("who");
let unmount = () => {};

// The vehicles this credential may see (drivers, technicians): links to their pages.
const vehicles = {
  mount(el) {
    const m = me.get();
    const list = m?.vehicles ?? [];
    el.innerHTML = `
      <section class="panel">
        <h1>Your vehicles</h1>
        <p class="sub">${list.length ? `${list.length} vehicle${list.length === 1 ? "" : "s"} you may see.` : ""}</p>
        ${list.length
          ? `<ul class="vehicles" id="my-vehicles">${list.map((v) => `<li><a href="#/vehicle/${encodeURIComponent(v)}" class="mono">${esc(v)}</a></li>`).join("")}</ul>`
          : `<p class="empty">No vehicles are assigned to you yet: ask an operator.</p>`}
      </section>`;
    return () => {};
  },
};

const PAGES = { fleet, vehicle, vehicles, alerts, reports, places, health, campaigns, signin, trip, workbench, diagnosis, service, recalls };
// Pages for operators only, and for service staff (operators and technicians): everyone else
// is sent to their own home page.
const OPERATOR_PAGES = new Set([fleet, alerts, reports, places, health, campaigns, recalls]);
const STAFF_PAGES = new Set([workbench, diagnosis]);

function route(extra = {}) {
  unmount();
  const [, name = "", param] = location.hash.match(/^#\/([a-z]+)\/?(.*)$/) ?? [];
  const signedIn = Boolean(token.get());
  const m = signedIn ? me.get() : null;
  if (signedIn && !m) {
    // Signed in before roles were kept (or storage was cleared): ask who this is first.
    get("/v1/me").then((answer) => { me.set(answer); route(extra); }).catch(() => {});
    return;
  }
  const operator = Boolean(m?.all_vehicles);
  const staff = operator || m?.role === "technician";
  let page = PAGES[name] ?? (signedIn ? null : fleet);
  if (!signedIn && page !== signin) {
    extra.next = location.hash;
    page = signin;
  } else if (signedIn && (page === null || (OPERATOR_PAGES.has(page) && !operator) || (STAFF_PAGES.has(page) && !staff))) {
    const target = signin.home(m);
    if (location.hash !== target) { location.hash = target; return; }
    page = PAGES[target.slice(2).split("/")[0]] ?? vehicles;
  }
  const pageName = Object.keys(PAGES).find((k) => PAGES[k] === page);
  // The navigation by role: operators get fleet and ingest health; technicians their workbench;
  // drivers and technicians with more than one vehicle their list; a vehicle token (or one
  // vehicle) needs none.
  const links = operator ? ["fleet", "alerts", "reports", "places", "health", "campaigns", "workbench", "recalls"]
    : [...(staff ? ["workbench"] : []), ...(m?.vehicles?.length > 1 ? ["vehicles"] : [])];
  nav.querySelectorAll("a").forEach((a) => {
    a.hidden = !links.includes(a.dataset.page);
    a.classList.toggle("active", a.dataset.page === pageName);
  });
  nav.hidden = !signedIn || page === signin || links.length === 0;
  signout.hidden = !signedIn;
  who.hidden = !signedIn || page === signin;
  who.textContent = m ? `${m.user ?? m.vin ?? m.credential_id} · ${m.role}` : "";
  document.body.dataset.page = page === signin ? "signin" : pageName;
  document.body.dataset.role = m?.role ?? "";
  document.title = `Volta — ${page === signin ? "sign in" : pageName}`;
  unmount = page.mount(main, decodeURIComponent(param ?? ""), extra) ?? (() => {});
}

setUnauthorizedHandler((err) => {
  token.clear();
  const expired = /expired/.test(err?.message ?? "");
  route({ reason: expired ? "Your sign-in has expired: sign in again." : "Your token is no longer accepted: sign in again." });
});
signout.addEventListener("click", () => { token.clear(); location.hash = "#/signin"; route(); });
// a new page starts at its top, not where the last one was scrolled to
window.addEventListener("hashchange", () => { route(); window.scrollTo(0, 0); });
keepFresh(); // a sign-in token kept from before a reload
route();
