// The driver services on the vehicle page: drives (with detail), charging sessions (with
// their charging curve and cost), battery health, the state timeline, each shown only where
// the server has its route. Drives, charges and the timeline follow the page's period.

import { get, hasRoute } from "./api.js";
import { Chart } from "./chart.js";
import { downloadButton } from "./download.js";
import { dateTime, esc, num, STATE_COLORS, STATES, when } from "./format.js";
import { mapChrome, MapView } from "./map.js";

const PAGE = 10;

const minutes = (a, b) => num((b - a) / 60000, 0);
const kwh = (wh) => num(wh === null || wh === undefined ? null : wh / 1000, 1);
const soc = (a, b) => `${num(a, 0)} → ${num(b, 0)}`;

function table(head, rows) {
  return `<table><thead><tr>${head.map(([t, cls]) => `<th class="${cls ?? ""}">${t}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function section(box, name, title) {
  const el = document.createElement("section");
  el.className = "panel";
  el.dataset.service = name;
  el.innerHTML = `<div class="toolbar"><h2 style="margin:0">${title}</h2><span class="spacer"></span><span class="tools"></span></div><div class="body"><p class="empty">Loading…</p></div>`;
  box.append(el);
  return el.querySelector(".body");
}

// A list the API pages (newest first, `before` = the start of the last item shown): "newer" and
// "older" pages, the period as a filter once the user picked one, and a CSV of what it lists.
class PagedList {
  // `range()`: the [start, end) to list, or null for all of them.
  constructor(body, { path, key, what, render, range }) {
    Object.assign(this, { body, path, key, what, render, range });
    this.befores = [null]; // the `before` of each page up to the one shown
    this.filter = null;
    this.rows = [];
    this.seq = 0; // a newer load wins over one still running
    body.innerHTML = `<div class="list"><p class="empty">Loading…</p></div>
      <div class="pager toolbar"><button class="small newer">‹ Newer</button><span class="sub page"></span><button class="small older">Older ›</button></div><div class="detail"></div>`;
    body.querySelector(".newer").addEventListener("click", () => { if (this.befores.length > 1) { this.befores.pop(); this.load(); } });
    body.querySelector(".older").addEventListener("click", () => { if (this.next !== null) { this.befores.push(this.next); this.load(); } });
    body.parentElement.querySelector(".tools").append(downloadButton("CSV", () => this.url("csv"), `the ${what} listed, as CSV`));
  }

  url(format = "json") {
    this.filter = this.range();
    const q = new URLSearchParams({ limit: format === "csv" ? "1000" : String(PAGE), format });
    if (this.filter) { q.set("start", String(this.filter[0])); q.set("end", String(this.filter[1])); }
    const before = this.befores[this.befores.length - 1];
    if (before !== null && format === "json") q.set("before", String(before));
    return `${this.path}?${q}`;
  }

  reset() { this.befores = [null]; return this.load(); }

  async load() {
    const mine = ++this.seq;
    const answer = await get(this.url());
    if (mine !== this.seq) return;
    this.rows = answer[this.key];
    this.next = answer.next_before;
    const n = this.befores.length, list = this.body.querySelector(".list");
    list.innerHTML = this.rows.length ? this.render(this.rows)
      : `<p class="empty">${this.filter ? `No ${this.what} in this period.` : `No ${this.what} recorded yet.`}</p>`;
    this.body.querySelector(".newer").disabled = n === 1;
    this.body.querySelector(".older").disabled = this.next === null;
    this.body.querySelector(".page").textContent = `page ${n}${this.filter ? " · in the period" : " · newest first"}`;
    this.body.querySelector(".pager").hidden = n === 1 && this.next === null;
    this.body.dataset.page = String(n);
  }
}

async function available(body, route, what) {
  if (await hasRoute(route)) return true;
  body.innerHTML = `<p class="empty">${what} appear here once this server runs the service.</p>`;
  return false;
}

// Mounts the sections; answers { setPeriod } for the page to call when its period changes.
export function mountServices(box, vin, roads, period) {
  const v = encodeURIComponent(vin);
  const drives = section(box, "drives", "Drives");
  const charges = section(box, "charges", "Charging sessions");
  const battery = section(box, "battery", "Battery health");
  const timeline = section(box, "timeline", "State timeline");
  const stats = section(box, "stats", "By month");
  const failed = (body) => (e) => { body.innerHTML = `<p class="error">${esc(e.message)}</p>`; };
  // newest first until the user picks a period, then what overlaps it
  const range = () => (period.explicit ? period.bounds() : null);
  const lists = [];
  let timelines = 0;
  const loadTimeline = () => {
    const mine = ++timelines;
    return showTimeline(timeline, v, period.bounds(), () => mine === timelines).catch(failed(timeline));
  };
  const ready = Promise.all([
    loadTimeline(),
    showStats(stats, v).catch(failed(stats)),
    showDrives(drives, v, roads, range).then((l) => l && lists.push([l, drives])).catch(failed(drives)),
    showCharges(charges, v, range).then((l) => l && lists.push([l, charges])).catch(failed(charges)),
    showBattery(battery, v).catch(failed(battery)),
  ]);
  return {
    ready,
    setPeriod() {
      loadTimeline();
      for (const [list, body] of lists) list.reset().catch(failed(body));
    },
  };
}

async function showDrives(body, v, roads, range) {
  if (!(await available(body, "/v1/vehicles/{vin}/drives", "Drives"))) return null;
  const list = new PagedList(body, {
    path: `/v1/vehicles/${v}/drives`, key: "drives", what: "drives",
    render: (drives) => table(
      [["Start"], ["min", "num"], ["km", "num"], ["kWh", "num"], ["Wh/km", "num"], ["Ø km/h", "num"], ["SoC %", "num"]],
      drives.map((d) => `<tr class="clickable" data-id="${esc(d.id)}"><td>${when(d.start_ms)}${d.final ? "" : " (driving)"}</td><td class="num">${minutes(d.start_ms, d.end_ms)}</td>
        <td class="num">${num(d.distance_m / 1000, 1)}</td><td class="num">${kwh(d.energy_wh)}</td><td class="num">${num(d.efficiency_wh_per_km, 0)}</td>
        <td class="num">${num(d.avg_speed_kmh, 0)}</td><td class="num">${soc(d.soc_start, d.soc_end)}</td></tr>`),
    ),
    range,
  });
  await list.load();
  body.querySelector(".detail").classList.add("drive-detail");
  body.addEventListener("click", async (e) => {
    const row = e.target.closest("tr[data-id]");
    if (!row) return;
    const detail = body.querySelector(".drive-detail");
    detail.innerHTML = `<p class="empty">Loading the drive…</p>`;
    try {
      const d = await get(`/v1/vehicles/${v}/drives/${encodeURIComponent(row.dataset.id)}?max_points=600`);
      detail.innerHTML = `<h2 style="margin-top:14px">Drive of ${dateTime(d.start_ms)}: ${num(d.distance_m / 1000, 1)} km, ${num(d.efficiency_wh_per_km, 0)} Wh/km</h2>
        <div class="map" style="height:260px"></div><div class="c1"></div><div class="c2"></div><div class="c3"></div>`;
      const s = d.series ?? {};
      const map = new MapView(detail.querySelector(".map"));
      mapChrome(detail.querySelector(".map"), map);
      if (roads) map.setRoads(roads);
      if (s.lat && s.lon) map.setTrack(s.lat.ts.map((_, i) => [s.lon.value[i], s.lat.value[i]]).filter(([a, b]) => a !== null && b !== null));
      const plot = (sel, key, opts, scale = 1) => {
        const c = new Chart(detail.querySelector(sel), opts);
        if (s[key]) c.setData(s[key].ts, s[key].value.map((x) => (x === null ? null : x * scale)));
        c.setRange(d.start_ms, d.end_ms);
      };
      plot(".c1", "speed", { label: "Speed", unit: "km/h", min: 0 });
      plot(".c2", "power", { label: "Battery power", unit: "kW", color: "#8250df", digits: 1, zero: true }, 1e-3);
      plot(".c3", "soc", { label: "State of charge", unit: "%", color: "#1a9f4a", digits: 1, min: 0, max: 100 });
    } catch (err) {
      detail.innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  return list;
}

// The cost a place's tariff put on the energy charged, in its currency; "—" unpriced.
const cost = (c) => (c.cost === null || c.cost === undefined ? "—" : `${num(c.cost, 2)} ${esc(c.currency ?? "")}`.trim());

async function showCharges(body, v, range) {
  if (!(await available(body, "/v1/vehicles/{vin}/charges", "Charging sessions"))) return null;
  const list = new PagedList(body, {
    path: `/v1/vehicles/${v}/charges`, key: "charges", what: "charging sessions",
    render: (charges) => table(
      [["Start"], ["Type"], ["Place"], ["min", "num"], ["kWh added", "num"], ["peak kW", "num"], ["SoC %", "num"], ["Cost", "num"]],
      charges.map((c) => `<tr class="clickable" data-id="${esc(c.id)}"><td>${when(c.start_ms)}${c.final ? "" : " (charging)"}</td><td>${c.dc ? "DC" : "AC"}</td>
        <td>${esc(c.place ?? "—")}</td><td class="num">${minutes(c.start_ms, c.end_ms)}</td><td class="num">${kwh(c.energy_added_wh)}</td><td class="num">${num(c.peak_kw, 1)}</td>
        <td class="num">${soc(c.soc_from, c.soc_to)}</td><td class="num cost">${cost(c)}</td></tr>`),
    ),
    range,
  });
  await list.load();
  body.querySelector(".detail").classList.add("curve");
  // The list leaves the curves out (they are long): each is fetched when its session is shown.
  let shown = null;
  const curve = async (c) => {
    shown = c.id;
    const el = body.querySelector(".curve");
    el.innerHTML = `<h2 style="margin-top:14px">Charging curve of ${dateTime(c.start_ms)}</h2><div></div>`;
    const chart = new Chart(el.lastElementChild, { label: "Charging power", unit: "kW", color: "#1a9f4a", digits: 1, min: 0, xUnit: "%", empty: "Loading the curve…" });
    let detail;
    try {
      detail = await get(`/v1/vehicles/${v}/charges/${encodeURIComponent(c.id)}`);
    } catch (err) {
      if (shown === c.id) el.innerHTML = `<p class="error">${esc(err.message)}</p>`;
      return;
    }
    if (shown !== c.id) return; // another session was clicked meanwhile
    chart.opts.empty = detail.final ? "No curve recorded for this session" : "The curve appears as the session goes on";
    const pts = (detail.curve ?? []).slice().sort((a, b) => a[0] - b[0]);
    chart.setData(pts.map((p) => p[0]), pts.map((p) => p[1]));
    if (pts.length) chart.setRange(pts[0][0], pts[pts.length - 1][0]);
  };
  if (list.rows.length) curve(list.rows[0]);
  body.addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-id]");
    if (row) curve(list.rows.find((c) => c.id === row.dataset.id));
  });
  return list;
}

async function showBattery(body, v) {
  if (!(await available(body, "/v1/vehicles/{vin}/battery", "Battery health figures"))) return;
  const b = await get(`/v1/vehicles/${v}/battery`);
  const tiles = [
    ["Usable capacity", num(b.capacity_kwh, 1), "kWh", b.nominal_kwh ? `of ${num(b.nominal_kwh, 1)} kWh new` : ""],
    ["State of health", num(b.soh_pct, 1), "%", b.reported_soh_pct !== null ? `BMS says ${num(b.reported_soh_pct, 1)} %` : ""],
    ["Fade", num(b.fade_pct_per_year, 2), "%/year", ""],
    ["Projected range", num(b.projected_range_km, 0), "km", b.efficiency_wh_per_km ? `at ${num(b.efficiency_wh_per_km, 0)} Wh/km` : ""],
  ];
  body.innerHTML = `<div class="values">${tiles.map(([l, val, u, note]) => `<div class="value"><div class="label">${l}</div><div><span class="v">${val}</span><span class="u">${u}</span></div><div class="age">${note}</div></div>`).join("")}</div><div class="trend" style="margin-top:12px"></div>`;
  const chart = new Chart(body.querySelector(".trend"), { label: "State of health, by day", unit: "%", color: "#bf3989", digits: 1, minSpan: 2, empty: "Needs a charge or drive with a large SoC swing" });
  const trend = b.trend ?? [];
  chart.setData(trend.map((p) => p.day_ms), trend.map((p) => p.soh_pct ?? null));
  if (trend.length) chart.setRange(Math.min(trend[0].day_ms, Date.now() - 7 * 86_400_000), Date.now());
}

async function showTimeline(body, v, [start, end], current) {
  if (!(await available(body, "/v1/vehicles/{vin}/timeline", "The state timeline will"))) return;
  const t = await get(`/v1/vehicles/${v}/timeline?start=${Math.round(start)}&end=${Math.round(end)}`);
  if (!current()) return; // the period changed meanwhile
  const span = Math.max(t.end - t.start, 1);
  const hours = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const i of t.intervals) hours[i.state] = (hours[i.state] ?? 0) + (i.end_ms - i.start_ms) / 3.6e6;
  const bar = t.intervals.map((i) => `<i title="${esc(i.state)} ${when(i.start_ms)}–${when(i.end_ms)}" style="width:${(100 * (i.end_ms - i.start_ms)) / span}%;background:${STATE_COLORS[i.state] ?? "#ccc"}"></i>`).join("");
  const d = t.vampire;
  Object.assign(body.dataset, { start: String(t.start), end: String(t.end) });
  body.innerHTML = `<div class="timeline">${bar}</div>
    <div class="toolbar sub" style="margin:4px 0 10px"><span>${when(t.start)}</span><span class="spacer"></span><span>${when(t.end)}</span></div>
    <div>${[...STATES, "no data"].filter((s) => hours[s] > 0).map((s) => `<span style="margin-right:12px"><i class="dot" style="background:${STATE_COLORS[s]}"></i>${s} ${num(hours[s], 1)} h</span>`).join("") || `<span class="sub">No data in this period.</span>`}</div>
    ${d ? `<p class="sub" style="margin:10px 0 0">Vampire drain: ${num(d.awake_w, 0)} W awake, ${num(d.asleep_w, 0)} W asleep; ${kwh(d.lost_wh)} kWh lost while standing ${num(d.parked_hours + d.asleep_hours, 1)} h.</p>` : ""}`;
}

async function showStats(body, v) {
  if (!(await available(body, "/v1/vehicles/{vin}/stats", "Monthly statistics"))) return;
  const { rows } = await get(`/v1/vehicles/${v}/stats?period=month`);
  if (!rows.length) { body.innerHTML = `<p class="empty">No drive or charge recorded yet.</p>`; return; }
  const month = (ms) => new Date(ms).toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  body.innerHTML = table(
    [["Month"], ["drives", "num"], ["km", "num"], ["kWh driven", "num"], ["Wh/km", "num"], ["kWh charged", "num"], ["DC %", "num"]],
    rows.slice().reverse().map((r) => `<tr><td>${month(r.start_ms)}</td><td class="num">${r.drives}</td><td class="num">${num(r.distance_m / 1000, 1)}</td>
      <td class="num">${kwh(r.drive_energy_wh)}</td><td class="num">${num(r.efficiency_wh_per_km, 0)}</td><td class="num">${kwh(r.charge_energy_wh)}</td>
      <td class="num">${r.dc_share === null ? "—" : num(100 * r.dc_share, 0)}</td></tr>`),
  );
}
