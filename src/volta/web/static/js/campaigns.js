// OTA campaigns: every campaign with its phase and progress; the selected one with its progress
// per wave, failure reasons per hardware variant, and start / pause / resume / cancel buttons.

import { ApiError, get, hasRoute, post } from "./api.js";
import { dateTime, esc, int } from "./format.js";

const POLL_MS = 5000;
// states in the order a car goes through them, with their colours
const STATES = [
  ["succeeded", "#1a9f4a"], ["installing", "#1f6feb"], ["downloading", "#54aeff"],
  ["assigned", "#afb8c1"], ["retry_wait", "#d4a72c"], ["failed", "#cf222e"],
  ["withdrawn", "#6e7781"], ["waiting", "#eaeef2"],
];
const ACTIONS = { paused: ["resume", "cancel"], running: ["pause", "cancel"], halted: ["cancel"] };

function bar(states, total) {
  return `<div class="wavebar" title="${esc(STATES.filter(([s]) => states[s]).map(([s]) => `${s} ${states[s]}`).join(", "))}">${
    STATES.filter(([s]) => states[s]).map(([s, c]) =>
      `<i data-state="${s}" style="width:${(100 * states[s] / Math.max(total, 1)).toFixed(2)}%;background:${c}"></i>`).join("")}</div>`;
}

function totals(c) {
  const out = {};
  for (const w of c.waves) for (const [s, n] of Object.entries(w.states)) out[s] = (out[s] ?? 0) + n;
  return out;
}

export function mount(main, selected) {
  main.innerHTML = `
    <h1>OTA campaigns</h1>
    <p class="sub" id="c-sub">Loading…</p>
    <section class="panel"><div id="c-list"></div></section>
    <section class="panel" id="c-detail" style="margin-top:16px" hidden></section>
    <div class="c-legend" id="c-legend" style="margin-top:8px">${STATES.map(([s, c]) => `<span><i style="background:${c}"></i>${s.replace("_", " ")}</span>`).join("")}</div>`;
  let stopped = false, timer = null, current = selected || null;

  function renderList(list) {
    main.querySelector("#c-list").innerHTML = list.length
      ? `<table id="c-table"><thead><tr><th>Campaign</th><th>ECU</th><th>Version</th><th>Mode</th><th>Phase</th><th class="num">Vehicles</th><th style="width:32%">Progress</th><th>Created</th></tr></thead><tbody>${
          list.map((c) => `<tr data-id="${esc(c.id)}" class="${c.id === current ? "selected" : ""}" style="cursor:pointer">
            <td class="mono">${esc(c.id)}</td><td>${esc(c.ecu_type)}</td><td class="mono">${esc(c.version)}</td><td>${esc(c.mode)}</td>
            <td><span class="phase phase-${esc(c.phase)}">${esc(c.phase)}</span></td><td class="num">${int(c.vehicles)}</td>
            <td>${bar(totals(c), c.vehicles)}</td><td>${dateTime(c.created_ms)}</td></tr>`).join("")}</tbody></table>`
      : `<p class="empty">No campaign yet: create one with POST /v1/campaigns.</p>`;
    main.querySelectorAll("#c-table tr[data-id]").forEach((tr) => tr.addEventListener("click", () => {
      location.hash = `#/campaigns/${encodeURIComponent(tr.dataset.id)}`;
    }));
  }

  function renderDetail(c) {
    const el = main.querySelector("#c-detail");
    el.hidden = false;
    const failures = Object.entries(c.failures_by_variant);
    el.innerHTML = `
      <div class="toolbar"><h2 style="margin:0" id="d-title">${esc(c.id)} · ${esc(c.ecu_type)} ${esc(c.version)}</h2><span class="spacer"></span>
        ${(c.released_waves === 0 && c.phase === "paused" ? ["start", "cancel"] : ACTIONS[c.phase] ?? []).map((a) => `<button class="small" data-action="${a}">${a[0].toUpperCase() + a.slice(1)}</button>`).join("")}</div>
      <p class="sub" id="d-phase" data-phase="${esc(c.phase)}">Phase <b>${esc(c.phase)}</b>, ${int(c.released_waves)} of ${c.waves.length} waves released, ${int(c.listed)} vehicles listed at the director now${c.ignored_reports ? `, ${int(c.ignored_reports)} reports ignored` : ""}.</p>
      ${c.halt_reason ? `<p class="error" id="d-halt">Halted: ${esc(c.halt_reason)}</p>` : ""}
      <p class="error" id="d-error" hidden></p>
      <h3>Progress per wave</h3>
      <table id="d-waves"><thead><tr><th>Wave</th><th class="num">Cumulative share</th><th class="num">Vehicles</th><th class="num">Succeeded</th><th class="num">Failing</th><th style="width:40%"></th></tr></thead><tbody>${
        c.waves.map((w) => `<tr data-wave="${w.wave}"><td>${w.wave}</td><td class="num">${Math.round(100 * w.share)} %</td><td class="num">${int(w.vehicles)}</td>
          <td class="num">${int(w.states.succeeded ?? 0)}</td><td class="num">${int((w.states.failed ?? 0) + (w.states.retry_wait ?? 0))}</td><td>${bar(w.states, w.vehicles)}</td></tr>`).join("")}</tbody></table>
      <h3>Failures per hardware variant</h3>
      ${failures.length
        ? `<table id="d-failures"><thead><tr><th>Hardware variant</th><th>Reason</th><th class="num">Vehicles</th></tr></thead><tbody>${
            failures.flatMap(([variant, reasons]) => Object.entries(reasons).map(([why, n]) =>
              `<tr data-variant="${esc(variant)}"><td class="mono">${esc(variant)}</td><td>${esc(why)}</td><td class="num">${int(n)}</td></tr>`)).join("")}</tbody></table>`
        : `<p class="empty" id="d-no-failures">No vehicle has failed.</p>`}
      <p class="sub">Images: ${Object.entries(c.images).map(([v, p]) => `<span class="mono">${esc(v)}</span> → <span class="mono">${esc(p)}</span>`).join(", ")}</p>`;
    el.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        renderDetail(await post(`/v1/campaigns/${encodeURIComponent(c.id)}/${b.dataset.action}`));
        poll();
      } catch (e) {
        const err = el.querySelector("#d-error");
        err.hidden = false;
        err.textContent = e instanceof ApiError ? e.message : String(e);
        b.disabled = false;
      }
    }));
  }

  async function poll() {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const { campaigns } = await get("/v1/campaigns");
      if (stopped) return;
      if (!current && campaigns.length) current = campaigns[0].id;
      renderList(campaigns);
      const chosen = campaigns.find((c) => c.id === current);
      if (chosen) renderDetail(chosen);
      main.querySelector("#c-sub").textContent = `${campaigns.length} campaign${campaigns.length === 1 ? "" : "s"}; updated ${new Date().toLocaleTimeString("en-GB", { hour12: false })}, every 5 s`;
    } catch (e) {
      if (stopped) return;
      main.querySelector("#c-sub").textContent = e instanceof ApiError && e.status === 503 ? e.message : `Could not load campaigns: ${e.message}`;
    }
    timer = setTimeout(poll, POLL_MS);
  }

  hasRoute("/v1/campaigns").then((yes) => {
    if (yes) poll();
    else main.querySelector("#c-sub").textContent = "This server runs no OTA campaigns.";
  });
  return () => { stopped = true; clearTimeout(timer); };
}
