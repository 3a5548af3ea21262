// Vehicle page: live values over the WebSocket (with reconnect), remote commands, charts and
// the track of a chosen period from /history, and the driver services where the server has them.

import { ApiError, get, me, token } from "./api.js";
import { Chart } from "./chart.js";
import { maySend, mountCommands } from "./commands.js";
import { downloadButton } from "./download.js";
import { roads } from "./fleet.js";
import { age, AWAKE_MS, dateTime, esc, num, reading, unit as showUnit } from "./format.js";
import { mapChrome, MapView } from "./map.js";
import { Period } from "./period.js";
import { mountServices } from "./services.js";

const TB = "Vehicle.Powertrain.TractionBattery.";
const SPEED = "Vehicle.Speed", POWER = TB + "CurrentPower", SOC = TB + "StateOfCharge.Current";
const LAT = "Vehicle.CurrentLocation.Latitude", LON = "Vehicle.CurrentLocation.Longitude";
const HOUR = 3600_000;
const OFFLINE_MS = 24 * HOUR;

const HVAC = "Vehicle.Cabin.HVAC.Station.Row1.Driver.";
// [path, label, digits (null: as `reading` shows it), scale, unit shown (null: the catalog's)]
const KEY_SIGNALS = [
  [SPEED, "Speed", 0, 1, null],
  ["Vehicle.Powertrain.Transmission.SelectedGear", "Gear", null, 1, null],
  [POWER, "Battery power (+ in)", 1, 1e-3, "kW"],
  [SOC, "State of charge", 1, 1, null],
  [TB + "StateOfCharge.CurrentEnergy", "Energy in battery", 1, 1, null],
  [TB + "Charging.IsCharging", "Charging", null, 1, null],
  ["Vehicle.TraveledDistance", "Odometer", 1, 1e-3, "km"],
  ["Vehicle.CurrentLocation.Heading", "Heading", 0, 1, null],
  ["Vehicle.Exterior.AirTemperature", "Outside air", 1, 1, null],
  ["Vehicle.Cabin.HVAC.AmbientAirTemperature", "Cabin", 1, 1, null],
  [TB + "StateOfHealth", "Battery health", 1, 1, null],
  ["Vehicle.LowVoltageBattery.CurrentVoltage", "12 V battery", 2, 1, null],
  ["Vehicle.Cabin.Door.Row1.DriverSide.IsLocked", "Doors", null, 1, null],
  [TB + "Charging.ChargeLimit", "Charge limit", 0, 1, null],
  [HVAC + "Temperature", "Climate set to", 1, 1, null],
  [HVAC + "FanSpeed", "Climate fan", 0, 1, null],
];

function show(path, value, digits, scale) {
  if (typeof value === "number" && digits !== null && !/Gear$/.test(path)) return num(value * scale, digits);
  return reading(path, value);
}

// After-sales: staff open the vehicle's diagnosis, drivers its service page.
function serviceLink(vin) {
  const m = me.get(), v = encodeURIComponent(vin);
  if (m?.all_vehicles || m?.role === "technician") return `<a class="button" id="diagnosis-link" href="#/diagnosis/${v}">Diagnosis</a>`;
  if (m?.role === "driver") return `<a class="button" id="service-link" href="#/service/${v}">Service</a>`;
  return "";
}

export function mount(main, vin) {
  main.innerHTML = `
    <a class="back" href="#/fleet">← Fleet</a>
    <div class="toolbar"><h1 class="mono" style="font-size:22px">${esc(vin)}</h1>
      <span id="model" class="sub" style="margin:0"></span><span class="spacer"></span>
      <a class="button" id="plan-trip" href="#/trip/${encodeURIComponent(vin)}">Plan a trip</a>
      ${serviceLink(vin)}
      <span class="live-pill" id="live">connecting…</span></div>
    <div id="vehicle-error"></div>
    <div class="stack">
      <section class="panel"><h2>Live values</h2><div class="values" id="values" data-updates="0"></div></section>
      <section class="panel" id="commands" hidden></section>
      <section class="panel" id="period-bar"></section>
      <div class="grid cols-2">
        <section class="panel"><div class="toolbar"><h2 style="margin:0">History</h2><span class="spacer"></span><span id="history-export"></span></div>
          <div id="history-error"></div><div id="c-speed"></div><div id="c-power"></div><div id="c-soc"></div></section>
        <section class="panel"><h2>Track</h2><div class="map" id="vehicle-map" style="height:510px"></div></section>
      </div>
      <div class="grid" id="services" style="grid-template-columns:repeat(auto-fill,minmax(min(420px,100%),1fr))"></div>
      <section class="panel"><h2>All signals</h2><div id="all-signals"><p class="empty">Waiting for the first values…</p></div></section>
    </div>`;
  const state = {}; // path -> {value, unit, ts}
  let stopped = false, ws = null, retry = 0, retryTimer = null, tick = null, connected = false;
  const valuesEl = main.querySelector("#values");
  const live = main.querySelector("#live");
  const charts = {
    [SPEED]: new Chart(main.querySelector("#c-speed"), { label: "Speed", unit: "km/h", color: "#1f6feb", min: 0 }),
    [POWER]: new Chart(main.querySelector("#c-power"), { label: "Battery power", unit: "kW", color: "#8250df", digits: 1, zero: true }),
    [SOC]: new Chart(main.querySelector("#c-soc"), { label: "State of charge", unit: "%", color: "#1a9f4a", digits: 1, min: 0, max: 100 }),
  };
  const scale = { [POWER]: 1e-3 };
  const mapEl = main.querySelector("#vehicle-map");
  const map = new MapView(mapEl);
  mapChrome(mapEl, map);
  let track = [];

  valuesEl.innerHTML = KEY_SIGNALS.map(([path, label]) => `<div class="value" data-signal="${path}">
      <div class="label">${label}</div><div><span class="v">—</span><span class="u"></span></div>
      <div class="age">no value yet</div></div>`).join("");

  function fail(message) {
    main.querySelector("#vehicle-error").innerHTML = `<p class="error">${esc(message)}</p>`;
  }

  function apply(signals, flash) {
    for (const [path, sv] of Object.entries(signals)) {
      state[path] = sv;
      const chart = charts[path];
      // a period in the past is history: live values do not belong on it
      if (chart && period.live && typeof sv.value === "number") chart.append(sv.ts, sv.value * (scale[path] ?? 1));
    }
    if (signals[LAT] && signals[LON] && period.live) {
      track.push([signals[LON].value, signals[LAT].value]);
      placeVehicle();
    }
    renderValues(flash ? new Set(Object.keys(signals)) : new Set());
    renderAll();
  }

  function placeVehicle() {
    const lat = state[LAT]?.value, lon = state[LON]?.value;
    map.setTrack(track);
    if (lat === undefined || lon === undefined) return;
    const driving = (state[SPEED]?.value ?? 0) > 0.5;
    map.setMarkers({ n: 1, lon: [lon], lat: [lat], heading: [state["Vehicle.CurrentLocation.Heading"]?.value ?? null],
      colorIndex: [0], arrow: [driving ? 1 : 0], palette: ["#0f1b2a"] });
  }

  function renderValues(changed) {
    const now = Date.now();
    for (const [path, , digits, sc, u] of KEY_SIGNALS) {
      const el = valuesEl.querySelector(`[data-signal="${path}"]`), sv = state[path];
      if (!sv) continue;
      el.querySelector(".v").textContent = show(path, sv.value, digits, sc);
      el.querySelector(".u").textContent = typeof sv.value === "number" && !/Gear$/.test(path) ? u ?? showUnit(sv.unit) : "";
      const a = el.querySelector(".age");
      a.textContent = `${age(now - sv.ts)}`;
      a.title = dateTime(sv.ts);
      a.classList.toggle("stale", now - sv.ts > 120_000);
      el.dataset.value = String(sv.value);
      if (changed.has(path)) { el.classList.add("flash"); requestAnimationFrame(() => requestAnimationFrame(() => el.classList.remove("flash"))); }
    }
  }

  // "live" only while the car itself speaks: an open WebSocket to a car silent for a day is
  // not live, it says how long the car has been quiet.
  function renderLive() {
    if (!connected) return;
    const newest = Math.max(-Infinity, ...Object.values(state).map((sv) => sv.ts)), quiet = Date.now() - newest;
    const [text, cls] = newest === -Infinity ? ["no data yet", "idle"]
      : quiet > OFFLINE_MS ? [`offline · last seen ${age(quiet)}`, "idle"]
      : quiet > AWAKE_MS ? [`asleep · last seen ${age(quiet)}`, "idle"] : ["live", "on"];
    live.textContent = text;
    live.className = `live-pill ${cls}`;
  }

  function renderAll() {
    const paths = Object.keys(state).sort(), now = Date.now();
    if (!paths.length) return;
    // the unit next to its value: "42.5 km/h", "locked", "P"
    main.querySelector("#all-signals").innerHTML = `<table><thead><tr><th>Signal</th><th class="num">Value</th><th class="num">Age</th></tr></thead><tbody>${
      paths.map((p) => `<tr data-signal="${esc(p)}"><td class="mono">${esc(p)}</td><td class="num">${esc(reading(p, state[p].value))}${
        typeof state[p].value === "number" && !/Gear$/.test(p) && state[p].unit ? ` <span class="u">${esc(showUnit(state[p].unit))}</span>` : ""}</td><td class="num">${age(now - state[p].ts)}</td></tr>`).join("")}</tbody></table>`;
  }

  function connect() {
    if (stopped) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let opened = false;
    ws = new WebSocket(`${proto}://${location.host}/v1/vehicles/${encodeURIComponent(vin)}/live?token=${encodeURIComponent(token.get() ?? "")}`);
    ws.onopen = () => { opened = true; connected = true; retry = 0; };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      apply(msg.signals, msg.type === "update");
      renderLive();
      if (msg.type === "update") valuesEl.dataset.updates = String(Number(valuesEl.dataset.updates) + 1);
    };
    ws.onclose = async () => {
      connected = false;
      if (stopped) return;
      live.className = "live-pill off";
      if (!opened) {
        // A refused handshake says nothing to the browser: ask the REST API why.
        try { await get(`/v1/vehicles/${encodeURIComponent(vin)}/state`); } catch (e) {
          if (e instanceof ApiError && [401, 403, 404].includes(e.status)) { live.textContent = "no access"; fail(e.message); return; }
        }
      }
      const wait = Math.min(10_000, 1000 * 2 ** retry++);
      live.textContent = `reconnecting in ${Math.round(wait / 1000)} s`;
      retryTimer = setTimeout(connect, wait);
    };
  }

  // The charts and the track of the period; a newer request wins over one still running.
  let loading = 0;
  // Until a period is picked, the charts start where the car's data does (a car heard from
  // for an hour is not drawn as a sliver at the end of 24 hours); a picked period is shown whole.
  let dataFrom = -Infinity;
  const chartRange = () => { const [start, end] = period.bounds(); return [Math.max(start, dataFrom), end]; };
  async function loadHistory() {
    const mine = ++loading;
    const [start, end] = period.bounds();
    dataFrom = -Infinity;
    for (const c of Object.values(charts)) c.setRange(start, end);
    const q = new URLSearchParams({ signals: [SPEED, POWER, SOC, LAT, LON].join(","), start: String(start), end: String(end + (period.live ? 60_000 : 0)), max_points: "1440" });
    try {
      const hist = await get(`/v1/vehicles/${encodeURIComponent(vin)}/history?${q}`);
      if (mine !== loading || stopped) return;
      const by = Object.fromEntries(hist.series.map((s) => [s.signal, s]));
      const first = Math.min(...hist.series.map((s) => s.ts[0] ?? Infinity));
      if (!period.explicit && Number.isFinite(first)) dataFrom = first - 5 * 60_000;
      for (const c of Object.values(charts)) c.setRange(...chartRange());
      for (const path of [SPEED, POWER, SOC]) {
        const s = by[path], sc = scale[path] ?? 1;
        charts[path].setData(s ? s.ts.slice() : [], s ? s.value.map((v) => (v === null ? null : v * sc)) : []);
      }
      const histTrack = [];
      if (by[LAT] && by[LON]) {
        const lonAt = new Map(by[LON].ts.map((t, i) => [t, by[LON].value[i]]));
        by[LAT].ts.forEach((t, i) => { const lon = lonAt.get(t); if (lon !== undefined && lon !== null && by[LAT].value[i] !== null) histTrack.push([lon, by[LAT].value[i]]); });
      }
      track = histTrack;
      placeVehicle();
      main.querySelector("#history-error").innerHTML = "";
    } catch (e) {
      if (!stopped && mine === loading) main.querySelector("#history-error").innerHTML = `<p class="error">History unavailable: ${esc(e.message)}</p>`;
    }
  }

  const services = { setPeriod() {} };
  const period = new Period(main.querySelector("#period-bar"), () => { loadHistory(); services.setPeriod(period); });
  main.querySelector("#history-export").append(downloadButton("CSV", () => {
    const [start, end] = period.bounds();
    return `/v1/vehicles/${encodeURIComponent(vin)}/export?format=csv&start=${start}&end=${end}`;
  }, "every signal of the period as CSV: time, signal, value, unit"));
  let unmountCommands = () => {};

  (async () => {
    try {
      const v = await get(`/v1/vehicles/${encodeURIComponent(vin)}`);
      main.querySelector("#model").textContent = v.model ?? "";
    } catch (e) {
      fail(e.message);
      live.textContent = "unavailable";
      return;
    }
    if (maySend() && !stopped) {
      const el = main.querySelector("#commands");
      el.hidden = false;
      unmountCommands = mountCommands(el, vin);
    }
    let base = null;
    try { base = await roads(); map.setRoads(base); } catch { /* the track still draws without roads */ }
    if (stopped) return; // left the page while the roads loaded: its elements are gone
    connect();
    loadHistory();
    Object.assign(services, await mountServices(main.querySelector("#services"), vin, base, period));
  })();
  tick = setInterval(() => {
    if (period.live) for (const c of Object.values(charts)) c.setRange(...chartRange());
    renderValues(new Set());
    renderLive();
  }, 1000);
  return () => { stopped = true; unmountCommands(); clearTimeout(retryTimer); clearInterval(tick); if (ws) ws.close(); };
}
