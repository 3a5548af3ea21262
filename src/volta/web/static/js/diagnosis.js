// A vehicle's diagnosis (technicians and operators): its trouble codes, active first, decoded
// (J2012 structure and description) with their freeze frames; the predictions of the rules with
// their evidence plotted (points, fitted trend, threshold); its charging failures; its cases.

import { ApiError, get } from "./api.js";
import { dueCell, sevPill, statePill } from "./cases.js";
import { dateTime, esc, num, reading } from "./format.js";
import { trendPlot } from "./trend.js";

const KIND_WORDS = { tyre_leak: "Tyre leak", lv_battery: "12 V battery", cell_imbalance: "HV cell imbalance", pad_wear: "Brake pads", battery_hot: "Pack heating on DC charging" };
const short = (path) => path.replace(/^Vehicle\./, "");

function frame(ff) {
  if (!ff) return `<span class="sub">no freeze frame</span>`;
  const rows = Object.entries(ff.values).map(([p, v]) => `<tr><td class="mono">${esc(short(p))}</td><td class="num">${esc(reading(p, v))}</td></tr>`).join("");
  return `<details class="freeze"><summary>freeze frame ${esc(dateTime(ff.ts_ms))}</summary><table>${rows}</table></details>`;
}

function codesTable(codes) {
  if (!codes.length) return `<p class="empty">No trouble codes reported.</p>`;
  return `<table id="dx-codes"><thead><tr><th>Code</th><th>Meaning</th><th>State</th><th class="num">Times</th><th>First / last seen</th><th>Freeze frame</th></tr></thead><tbody>${codes.map((c) => `
    <tr data-code="${esc(c.code)}" data-active="${c.active}"><td class="mono"><b>${esc(c.code)}</b></td>
    <td>${esc(c.description ?? (c.valid ? "no description known" : "not a J2012 code: shown as sent"))}
      <div class="sub">${c.valid ? esc([c.system, c.origin, c.subsystem].filter(Boolean).join(" · ")) : ""}</div></td>
    <td>${c.active ? `<span class="pill sev-critical">active</span>` : `<span class="pill plain">cleared ${esc(dateTime(c.cleared_ms ?? c.last_seen_ms))}</span>`}</td>
    <td class="num">${c.occurrences}</td><td class="nowrap">${esc(dateTime(c.first_seen_ms))}<br>${esc(dateTime(c.last_seen_ms))}</td>
    <td>${frame(c.freeze_frame)}</td></tr>`).join("")}</tbody></table>`;
}

function prediction(p) {
  const f = p.evidence.fit;
  const eta = p.eta_ms ? `limit reached about ${esc(dateTime(p.eta_ms))}` : "";
  const km = p.km_left !== null ? `${num(p.km_left, 0)} km left` : "";
  return `<div class="prediction" data-kind="${esc(p.kind)}" data-active="${p.active}">
    <div class="toolbar"><b>${esc(KIND_WORDS[p.kind] ?? p.kind)}</b> <span class="sub">${esc(p.subject)}</span><span class="spacer"></span>
      ${p.active ? `<span class="pill sev-warning">alert since ${esc(dateTime(p.since_ms))}</span>` : `<span class="pill plain">no alert</span>`}</div>
    <p>${esc(p.message || "Watching: no clear trend yet.")}</p>
    <p class="sub">${[eta, km].filter(Boolean).join(" · ")}${f ? ` · trend ${num(f.slope, 3)} ${esc(p.evidence.unit)}/${esc(p.evidence.x_unit)}, R² ${num(f.r2, 2)}, ${f.n} points` : " · too few points for a trend"}</p>
    <div class="trend-plot"></div></div>`;
}

export function mount(main, vin) {
  main.innerHTML = `
    <a class="back" href="#/workbench">← Workbench</a>
    <div class="toolbar"><h1 class="mono" style="font-size:22px">${esc(vin)}</h1><span class="sub" style="margin:0">diagnosis</span><span class="spacer"></span>
      <a class="button" href="#/vehicle/${encodeURIComponent(vin)}">Live values</a></div>
    <div id="dx-error"></div>
    <div class="stack">
      <section class="panel"><h2>Trouble codes</h2><div id="dx-codes-box"><p class="empty">Loading…</p></div></section>
      <section class="panel"><h2>Predictions</h2><div id="dx-predictions"><p class="empty">Loading…</p></div></section>
      <div class="grid cols-2">
        <section class="panel"><h2>Charging failures</h2><div id="dx-charging"><p class="empty">Loading…</p></div></section>
        <section class="panel"><h2>Cases</h2><div id="dx-cases"><p class="empty">Loading…</p></div></section>
      </div>
    </div>`;
  const $ = (s) => main.querySelector(s);
  let stopped = false;
  const v = encodeURIComponent(vin);

  get(`/v1/vehicles/${v}/diagnostics`).then((d) => {
    if (stopped) return;
    $("#dx-codes-box").innerHTML = codesTable(d.codes);
    const preds = [...d.predictions].sort((a, b) => b.active - a.active);
    $("#dx-predictions").innerHTML = preds.length ? preds.map(prediction).join("") : `<p class="empty">The rules have not enough history of this vehicle yet.</p>`;
    $("#dx-predictions").querySelectorAll(".prediction").forEach((el, i) => trendPlot(el.querySelector(".trend-plot"), preds[i].evidence));
    const cf = d.charging_failures;
    $("#dx-charging").innerHTML = (cf.car_alert ? `<p class="error">${esc(cf.car_alert)}</p>` : "") + (cf.failures.length
      ? `<table><thead><tr><th>When</th><th>Where</th><th>Cause</th></tr></thead><tbody>${cf.failures.map((f) => `<tr><td>${esc(dateTime(f.ts_ms))}</td><td class="nowrap">${num(f.lat, 4)}, ${num(f.lon, 4)}</td><td>${esc(f.cause)}</td></tr>`).join("")}</tbody></table>`
      : `<p class="empty">No failed charging sessions.</p>`);
  }).catch((e) => {
    if (stopped) return;
    const why = e instanceof ApiError && e.status === 403 ? `You may not see vehicle ${vin}.` : e.message;
    $("#dx-error").innerHTML = `<p class="error">${esc(why)}</p>`;
    ["#dx-codes-box", "#dx-predictions", "#dx-charging"].forEach((s) => { $(s).innerHTML = ""; });
  });

  get(`/v1/vehicles/${v}/cases?active=false&limit=100`).then(({ cases }) => {
    if (stopped) return;
    $("#dx-cases").innerHTML = cases.length
      ? `<table id="dx-case-table"><thead><tr><th>Opened</th><th>Problem</th><th>State</th><th>Due</th></tr></thead><tbody>${cases.map((c) => `
          <tr data-case="${esc(c.id)}"><td class="nowrap">${esc(dateTime(c.opened_ms))}</td><td><a href="#/workbench/${encodeURIComponent(c.id)}">${esc(c.title)}</a> ${sevPill(c.severity)}</td>
          <td>${statePill(c.state)}</td><td class="nowrap">${dueCell(c)}</td></tr>`).join("")}</tbody></table>`
      : `<p class="empty">No service cases for this vehicle.</p>`;
  }).catch((e) => { if (!stopped) $("#dx-cases").innerHTML = `<p class="error">${esc(e.message)}</p>`; });
  return () => { stopped = true; };
}
