// Fleet page: every vehicle on the road map, counts by state, a searchable sortable list with
// the names, plates, models and groups operators gave them (filter by group).
// Polls /v1/fleet/positions once a second (one columnar response for the whole fleet) and
// /v1/alerts every few seconds for the alerts panel, where alerts are acknowledged.

import { ackCell, bindAcks } from "./alerts.js";
import { ApiError, get, reportUnauthorized, token } from "./api.js";
import { age, dateTime, esc, h, num, socColor, STATE_COLORS, STATES } from "./format.js";
import { hazardLayer } from "./hazards-layer.js";
import { loadRoads, mapChrome, MapView } from "./map.js";
import { label } from "./names.js";
import { VirtualList } from "./vlist.js";

let roadsCache = null;
const SOC_PALETTE = ["#cf222e", "#d4a72c", "#1a9f4a", "#7d8b99"];
const socBucket = (s) => (Number.isNaN(s) ? 3 : s < 20 ? 0 : s < 50 ? 1 : 2);
const orNull = (v) => (Number.isNaN(v) ? null : v);
const SEVERITIES = ["critical", "warning"];
const ALERTS_EVERY_MS = 3000;
const MAX_ALERTS = 100; // newest first; the count says how many more

// Measured by bench/dashboard.py: data arrival → painted, for the first and every update.
const perf = (window.voltaPerf = { firstRenderMs: null, updateMs: [], updates: 0, parseMs: [], listMs: [], paintMs: [] });

export function mount(main) {
  main.innerHTML = `
    <h1>Fleet</h1>
    <p class="sub" id="fleet-sub">Loading the fleet…</p>
    <div class="counts" id="counts"></div>
    <div class="grid cols-2">
      <section class="panel">
        <div class="toolbar"><h2 style="margin:0">Map</h2><a href="#/trip" id="plan-model-trip">Plan a trip for a model</a><span class="spacer"></span>
          <label>Colour by <select id="colour"><option value="state">state</option><option value="soc">state of charge</option></select></label>
        </div>
        <div class="map" id="fleet-map"><div class="legend" id="legend"></div></div>
      </section>
      <section class="panel">
        <div class="toolbar"><h2 style="margin:0">Vehicles</h2>
          <input type="search" id="search" placeholder="Search name, plate, VIN or state" aria-label="Search vehicles">
          <select id="group" aria-label="Group"><option value="">All groups</option></select></div>
        <div class="head fleet-cols" id="list-head">
          <span data-key="vin">Vehicle</span><span data-key="model">Model</span><span data-key="group">Group</span><span data-key="state">State</span>
          <span class="num" data-key="speed">km/h</span><span class="num" data-key="soc">SoC %</span>
          <span class="num" data-key="last_seen">Last seen</span></div>
        <div id="list"></div>
        <p class="empty" id="list-empty" hidden>No vehicles match.</p>
      </section>
    </div>
    <section class="panel alerts" id="alerts">
      <div class="toolbar"><h2 style="margin:0">Alerts</h2><a href="#/alerts" id="alert-history">History</a><span class="spacer"></span>
        <span class="alert-counts" id="alert-counts"></span></div>
      <div id="alert-list"><p class="empty">Loading alerts…</p></div>
    </section>`;
  const mapEl = main.querySelector("#fleet-map");
  const map = new MapView(mapEl);
  mapChrome(mapEl, map);
  const stopHazards = hazardLayer(mapEl, map); // confirmed road hazards (issue 20)
  let data = null, vins = [], sortKey = "vin", asc = true, query = "", colourBy = "state", group = "";
  // name, plate, model, group by VIN (GET /v1/vehicles), and per row of the columns.
  let names = new Map(), meta = [];
  let stopped = false, timer = null, arrivedAt = 0, drawnSeq = 0, seq = 0;

  const list = new VirtualList(main.querySelector("#list"), {
    renderRow: (j, i) => { const st = data.states[data.state[j]], m = meta[j]; return `<div class="row fleet-cols" data-i="${i}" data-vin="${vins[j]}" title="${vins[j]}">
      ${m.name || m.plate ? `<span><b>${esc(m.name ?? "")}</b> <span class="muted">${esc(m.plate ?? "")}</span></span>` : `<span class="mono">${vins[j]}</span>`}
      <span>${esc(m.short)}</span><span>${esc(m.group ?? "")}</span>
      <span><i class="dot" style="background:${STATE_COLORS[st]}"></i>${st}</span>
      <span class="num">${num(orNull(data.speed[j]), 0)}</span><span class="num">${num(orNull(data.soc[j]), 0)}</span>
      <span class="num">${age(data.now - data.last_seen[j])}</span></div>`; },
    onClick: (j) => { location.hash = `#/vehicle/${vins[j]}`; },
  });
  map.onPick = (i) => { location.hash = `#/vehicle/${vins[i]}`; };
  map.afterDraw = () => {
    mapEl.dataset.visible = String(map.visible);
    if (seq === drawnSeq || !arrivedAt) return;
    drawnSeq = seq;
    const ms = performance.now() - arrivedAt;
    if (perf.firstRenderMs === null) perf.firstRenderMs = ms; else perf.updateMs.push(ms);
    perf.paintMs.push(map.paintMs);
    perf.updates++;
    mapEl.dataset.rendered = String(perf.updates);
  };

  main.querySelector("#colour").addEventListener("change", (e) => { colourBy = e.target.value; paintMarkers(); legend(); });
  main.querySelector("#search").addEventListener("input", (e) => { query = e.target.value.trim().toUpperCase(); refreshList(); });
  main.querySelector("#group").addEventListener("change", (e) => { group = e.target.value; refreshList(); });

  // Names change rarely: read at mount, and again when the fleet's VINs change.
  function indexNames() {
    meta = vins.map((vin) => {
      const v = names.get(vin) ?? {};
      const short = (v.model ?? "").replace(/_\d{4}$/, "").replace(/_/g, " ");
      return { name: v.name, plate: v.plate, group: v.group, short, model: short,
        text: `${vin} ${v.name ?? ""} ${v.plate ?? ""} ${v.group ?? ""}`.toUpperCase() };
    });
    const groups = [...new Set(meta.map((m) => m.group).filter(Boolean))].sort();
    const sel = main.querySelector("#group");
    sel.innerHTML = `<option value="">All groups</option>` + groups.map((g) => `<option${g === group ? " selected" : ""}>${esc(g)}</option>`).join("");
    sel.hidden = groups.length === 0;
  }
  function setNames(rows) {
    names = new Map(rows.map(([vin, name, plate, grp, model]) => [vin, { name, plate, group: grp, model }]));
    indexNames();
    refreshList();
  }
  main.querySelector("#list-head").addEventListener("click", (e) => {
    const key = e.target.dataset.key;
    if (!key) return;
    asc = key === sortKey ? !asc : ["vin", "state", "model", "group"].includes(key);
    sortKey = key;
    refreshList();
  });

  function legend() {
    const el = main.querySelector("#legend");
    el.innerHTML = colourBy === "state"
      ? STATES.map((s) => `<span><i class="dot" style="background:${STATE_COLORS[s]}"></i>${s}</span>`).join(" &nbsp;")
      : [["< 20 %", 0], ["20–50 %", 1], ["≥ 50 %", 2]].map(([t, i]) => `<span><i class="dot" style="background:${SOC_PALETTE[i]}"></i>${t}</span>`).join(" &nbsp;") + " &nbsp;▲ driving, heading";
  }

  function paintMarkers() {
    if (!data) return;
    const n = vins.length, colorIndex = new Uint8Array(n), arrow = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      colorIndex[i] = colourBy === "state" ? data.state[i] : socBucket(data.soc[i]);
      arrow[i] = data.state[i] === 0 ? 1 : 0;
    }
    const palette = colourBy === "state" ? STATES.map((s) => STATE_COLORS[s]) : SOC_PALETTE;
    map.setMarkers({ n, lon: data.lon, lat: data.lat, heading: data.heading, colorIndex, arrow, palette });
    let withPos = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(data.lat[i] + data.lon[i])) withPos++;
    mapEl.dataset.markers = String(withPos);
  }

  // The list holds row numbers into the columns, sorted and filtered here: no per-vehicle
  // objects. Rows come sorted by VIN from the server, so that order needs no sort at all.
  function refreshList() {
    if (!data) return;
    const n = vins.length, dir = asc ? 1 : -1;
    let rows = new Uint32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    if (group) rows = rows.filter((j) => meta[j].group === group);
    if (query) rows = rows.filter((j) => meta[j].text.includes(query) || data.states[data.state[j]].toUpperCase().startsWith(query));
    if (sortKey === "vin") { if (!asc) rows.reverse(); }
    else if (sortKey === "model" || sortKey === "group") {
      const key = (j) => meta[j][sortKey] ?? "\uffff"; // none: last
      rows.sort((a, b) => (key(a) === key(b) ? a - b : (key(a) < key(b) ? -1 : 1) * (asc ? 1 : -1)));
    }
    else {
      const col = data[sortKey];
      rows.sort((a, b) => {
        const x = col[a], y = col[b];
        if (Number.isNaN(x)) return Number.isNaN(y) ? a - b : 1; // no value: always last
        if (Number.isNaN(y)) return -1;
        return x === y ? a - b : (x - y) * dir;
      });
    }
    main.querySelectorAll("#list-head span").forEach((s) => {
      s.classList.toggle("sorted", s.dataset.key === sortKey);
      s.classList.toggle("asc", s.dataset.key === sortKey && asc);
    });
    main.querySelector("#list-empty").hidden = rows.length > 0;
    list.setItems(rows);
  }

  function counts() {
    const c = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const s of data.state) c[data.states[s]]++;
    main.querySelector("#counts").innerHTML = `<div class="count" data-state="all"><b>${vins.length.toLocaleString("en-GB")}</b><span>vehicles</span></div>` +
      STATES.map((s) => `<div class="count" data-state="${s}"><b>${c[s].toLocaleString("en-GB")}</b><span><i class="dot" style="background:${STATE_COLORS[s]}"></i>${s}</span></div>`).join("");
  }

  const worker = new Worker(new URL("./positions-worker.js", import.meta.url));
  worker.onmessage = (e) => {
    if (stopped) return;
    const msg = e.data;
    if (msg.names) { setNames(msg.names); return; } // not a poll's answer: no next poll from here
    if (msg.error) {
      const err = new ApiError(msg.error.status, msg.error.code ?? "error", msg.error.message);
      if (err.status === 401) { reportUnauthorized(err); return; }
      main.querySelector("#fleet-sub").innerHTML = `<span class="error">Could not load the fleet: ${esc(err.message)} — retrying.</span>`;
    } else {
      arrivedAt = msg.arrived - performance.timeOrigin;
      perf.parseMs.push(msg.parseMs);
      const t0 = performance.now();
      if (msg.vin) { vins = msg.vin; indexNames(); } // the worker sends their names next
      data = msg;
      seq++;
      paintMarkers();
      counts();
      refreshList();
      perf.listMs.push(performance.now() - t0);
      main.querySelector("#fleet-sub").textContent = vins.length
        ? `${vins.length.toLocaleString("en-GB")} vehicles, updated ${new Date(data.now).toLocaleTimeString("en-GB", { hour12: false })}`
        : "No vehicle is registered yet: register one with `volta vehicles add`.";
    }
    timer = setTimeout(poll, Math.max(0, 1000 - (performance.now() - requested)));
  };
  let requested = 0;
  function poll() {
    if (stopped) return;
    requested = performance.now();
    worker.postMessage({ token: token.get() });
  }

  // Alerts: counts by severity and the newest first, each linking to its vehicle.
  let alertTimer = null;
  async function pollAlerts() {
    const counts = main.querySelector("#alert-counts"), listEl = main.querySelector("#alert-list");
    try {
      const body = await get(`/v1/alerts?limit=${MAX_ALERTS}`);
      if (stopped) return;
      if (listEl.querySelector(".ack-form")) { alertTimer = setTimeout(pollAlerts, ALERTS_EVERY_MS); return; } // someone is typing a note
      counts.innerHTML = SEVERITIES.map((s) => `<span class="pill sev-${s}" data-severity="${s}">${body.counts[s] ?? 0} ${s}</span>`).join(" ");
      const shown = body.alerts.slice(0, MAX_ALERTS);
      listEl.innerHTML = shown.length
        ? `<table><thead><tr><th>Severity</th><th>Vehicle</th><th>Alert</th><th class="num">Since</th><th>Acknowledged</th></tr></thead><tbody>${shown.map((a) => `
            <tr class="clickable" data-vin="${esc(a.vin)}" data-kind="${esc(a.kind)}" data-id="${a.id}" data-state="${esc(a.state)}"><td><span class="pill sev-${esc(a.severity)}">${esc(a.severity)}</span></td>
            <td><a href="#/vehicle/${encodeURIComponent(a.vin)}">${esc(label(names.get(a.vin), a.vin))}</a></td><td>${esc(a.message)}</td>
            <td class="num" title="${esc(dateTime(a.raised_ms))}">${age(body.now - a.raised_ms)}</td><td class="ack">${ackCell(a)}</td></tr>`).join("")}</tbody></table>` +
          (body.total > shown.length ? `<p class="sub">Showing the newest ${shown.length} of ${body.total.toLocaleString("en-GB")}.</p>` : "")
        : `<p class="empty">No active alerts</p>`;
    } catch (e) {
      if (stopped || e.status === 401) return;
      listEl.innerHTML = `<p class="error">Could not load alerts: ${esc(e.message)} — retrying.</p>`;
    }
    if (!stopped) alertTimer = setTimeout(pollAlerts, ALERTS_EVERY_MS);
  }
  main.querySelector("#alert-list").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-vin]");
    if (row && !e.target.closest("a, button, form, .acked")) location.hash = `#/vehicle/${encodeURIComponent(row.dataset.vin)}`;
  });

  bindAcks(main.querySelector("#alert-list"), () => { clearTimeout(alertTimer); pollAlerts(); });
  legend();
  pollAlerts();
  (async () => {
    try {
      roadsCache ??= await loadRoads();
      if (!stopped) map.setRoads(roadsCache);
    } catch (e) {
      mapEl.append(h(`<p class="error" style="position:absolute;top:10px;left:10px">Road layer unavailable: ${esc(e.message)}</p>`));
    }
  })();
  poll();
  return () => { stopped = true; clearTimeout(timer); clearTimeout(alertTimer); worker.terminate(); stopHazards(); };
}

export async function roads() { roadsCache ??= await loadRoads(); return roadsCache; }
