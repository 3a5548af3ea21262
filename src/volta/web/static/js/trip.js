// Trip page (#/trip/VIN): plan a trip for a vehicle with its charging stops; #/trip: for a
// vehicle model picked from GET /v1/models, no car (origin and start SoC required, no progress).
// Click the road map to set the destination (or the origin; by default the car's last position),
// or type a place's name (the car's saved places, chargers, the map's streets and places:
// suggested as you type from GET /v1/vehicles/{vin}/places/search; a name not picked is resolved
// by the server), set the SoC limits, the outside temperature and the payload, and
// POST /v1/vehicles/{vin}/trips draws each leg's road, the stops and the SoC over the distance,
// and lists the stops and totals. The API's refusals (422/400/503) are shown as it words them.
// While a plan is shown, the car's reported position and SoC are followed: how far along the
// route it is and its SoC against the plan's. "Use" on a close alternative of a car's trip makes
// the server follow it (POST /v1/vehicles/{vin}/trips/{id}/follow: the live check then compares
// the car with it); a model's plan is only shown, so there "Use" swaps it in on the page.
// Opened for a car (a reload, another browser, the driver's phone), the page shows the trip the
// car is on (the newest of GET /v1/vehicles/{vin}/trips, when the server marks it active) as
// if just planned: "Planned 14:02 — the car is on this trip", with its progress and "Use".
// For a model the same page plans with POST /v1/trips/plan and suggests from GET /v1/trips/places
// (fleet places, chargers, the map).

import { get, post } from "./api.js";
import { yAxis } from "./chart.js";
import { esc, num, when } from "./format.js";
import { roads } from "./fleet.js";
import { mapChrome, MapView } from "./map.js";

const LAT = "Vehicle.CurrentLocation.Latitude", LON = "Vehicle.CurrentLocation.Longitude";
const SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current";
const LEG_COLORS = ["#1f6feb", "#8250df"]; // legs alternate so a stop shows where one ends
const ALT_COLOR = "#6e7781"; // alternatives: dashed grey under the chosen plan
const FOLLOW_MS = 5000;
const OFF_ROUTE_M = 150; // farther than this from the route's line, the car is "off the route"
const M_PER_DEG = 111_320;

// The route as [lon, lat, km from the origin] points, km scaled to the plan's own distance.
export function routePoints(trip) {
  const pts = [];
  let km = 0;
  for (const leg of trip.legs) {
    for (const [lon, lat] of leg.geometry) {
      if (pts.length) {
        const [lon0, lat0] = pts[pts.length - 1];
        const kx = Math.cos(((lat + lat0) / 2) * Math.PI / 180);
        km += Math.hypot((lon - lon0) * kx, lat - lat0) * M_PER_DEG / 1000;
      }
      pts.push([lon, lat, km]);
    }
  }
  const scale = km > 0 ? trip.distance_km / km : 1;
  return pts.map(([lon, lat, k]) => [lon, lat, k * scale]);
}

// Where (lon, lat) is along the route: { km, offM } of its nearest point on the line.
export function along(pts, lon, lat) {
  const kx = Math.cos((lat * Math.PI) / 180) * M_PER_DEG, ky = M_PER_DEG;
  let best = { km: 0, offM: Infinity };
  for (let i = 1; i < pts.length; i++) {
    const [ax, ay] = [(pts[i - 1][0] - lon) * kx, (pts[i - 1][1] - lat) * ky];
    const [bx, by] = [(pts[i][0] - lon) * kx, (pts[i][1] - lat) * ky];
    const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.min(1, Math.max(0, -(ax * dx + ay * dy) / len2)) : 0;
    const d = Math.hypot(ax + t * dx, ay + t * dy);
    if (d < best.offM) best = { km: pts[i - 1][2] + t * (pts[i][2] - pts[i - 1][2]), offM: d };
  }
  return best;
}

// The plan's SoC at km (after charging, where a stop is exactly there).
export function plannedSoc(profile, km) {
  if (!profile.length) return null;
  let i = 0;
  while (i + 1 < profile.length && profile[i + 1][0] <= km) i++;
  if (i + 1 >= profile.length) return profile[profile.length - 1][1];
  const [k0, s0] = profile[i], [k1, s1] = profile[i + 1];
  return k1 > k0 ? s0 + ((km - k0) / (k1 - k0)) * (s1 - s0) : s1;
}

// "60.1699, 24.9384" → { lat, lon }; null when empty; throws a readable error when malformed.
export function parsePoint(text, what) {
  const t = text.trim();
  if (!t) return null;
  const m = t.match(/^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/);
  if (!m) throw new Error(`${what}: write it as "latitude, longitude" (e.g. 60.1699, 24.9384)`);
  const lat = Number(m[1]), lon = Number(m[2]);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error(`${what}: latitude is −90…90 and longitude −180…180`);
  return { lat, lon };
}

// What an origin/destination box holds: null (empty), { lat, lon } or a place's name (a string).
// Text of digits and separators only is meant as coordinates, so a malformed one is explained.
export function parsePlace(text, what) {
  const t = text.trim();
  if (!t) return null;
  if (/^[-+\d\s.,;°]+$/.test(t)) return parsePoint(t, what);
  return t;
}

const showPoint = (p) => `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`;
const SUGGEST_MS = 200; // typing pause before asking for suggestions

// Minutes as "1 h 05 min" or "42 min".
export function duration(min) {
  const m = Math.round(min);
  return m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min` : `${m} min`;
}

export function mount(main, vin) {
  const forCar = Boolean(vin); // otherwise for a vehicle model: no car to start from or follow
  const head = forCar
    ? `<a class="back" href="#/vehicle/${encodeURIComponent(vin)}">← ${esc(vin)}</a>
      <div class="toolbar"><h1 style="margin:0">Plan a trip</h1><span class="sub mono" style="margin:0">${esc(vin)}</span>
      <span id="trip-model" class="sub" style="margin:0"></span><span class="spacer"></span><a href="#/trip" id="for-a-model">Plan for a model instead</a></div>`
    : `<div class="toolbar"><h1 style="margin:0">Plan a trip</h1>
      <label>for a <select id="model-pick"><option value="">Loading the models…</option></select></label></div>`;
  main.innerHTML = `
    ${head}
    <section class="panel">
      <form id="trip-form" class="trip-form" novalidate>
        <label>A click on the map sets
          <select id="click-sets"><option value="destination">the destination</option><option value="origin">the origin</option></select></label>
        <label class="place-box">Origin (place or lat, lon) <input id="origin" placeholder="${forCar ? "the car's position" : "click the map or type a name"}" autocomplete="off">
          <ul class="suggestions" id="origin-suggestions" hidden></ul></label>
        <label class="place-box">Destination (place or lat, lon) <input id="destination" placeholder="click the map or type a name" autocomplete="off">
          <ul class="suggestions" id="destination-suggestions" hidden></ul></label>
        <label>Start SoC % <input id="start-soc" type="number" min="0" max="100" step="1" placeholder="${forCar ? "the car's now" : "required"}"></label>
        <label>Min. arrival SoC % <input id="min-arrival" type="number" min="0" max="100" step="1" value="10"></label>
        <label>Charge stops up to % <input id="max-charge" type="number" min="1" max="100" step="1" value="100"></label>
        <label>Chargers of at least kW <input id="min-power" type="number" min="0" max="1000" step="1" placeholder="any"></label>
        <label>Outside °C <input id="ambient" type="number" min="-40" max="50" step="1" placeholder="20"></label>
        <label>Payload kg <input id="payload" type="number" min="0" max="1500" step="10" placeholder="0"></label>
        <label><input id="fewer-stops" type="checkbox"> Prefer fewer stops</label>
        <label>Alternatives up to % slower <input id="alt-within" type="number" min="0" max="50" step="1" value="5"></label>
        <button type="submit" id="plan-button">Plan trip</button>
      </form>
      <div id="trip-error"></div>
    </section>
    <div class="grid cols-2" style="margin-top:16px">
      <section class="panel"><h2>Route</h2><div class="map" id="trip-map"><div class="map-hint" id="map-hint">Click the map to set the ${forCar ? "destination" : "origin"}</div></div></section>
      <section class="panel" id="trip-result"><h2>Plan</h2><p class="empty" id="trip-empty">Pick a destination and press “Plan trip”.</p>
        <div class="trip-totals" id="trip-totals"></div><p class="trip-live" id="trip-planned" hidden></p><p class="trip-live" id="trip-following" hidden></p><p class="trip-live" id="trip-live" hidden></p><p class="trip-live" id="trip-check" hidden></p><div id="trip-stops"></div><div id="trip-alternatives"></div>
        <div id="soc-box" hidden><h3 style="margin:12px 0 4px">State of charge over the distance</h3><canvas id="soc-plot" style="width:100%;height:180px"></canvas></div></section>
    </div>`;
  const $ = (sel) => main.querySelector(sel);
  const mapEl = $("#trip-map");
  const map = new MapView(mapEl);
  mapChrome(mapEl, map);
  let stopped = false, car = null, trip = null, busy = null, route = [], followTimer = null;
  if (!forCar) $("#click-sets").value = "origin"; // a model's trip has no car's position
  const pins = document.createElement("div");
  pins.className = "pin-layer";
  mapEl.append(pins);

  // a box's point: its coordinates, or those of the suggestion picked (while its name is kept)
  const point = (id) => {
    const el = $(id), picked = el.dataset.pickedName;
    if (picked && picked === el.value) return { lat: Number(el.dataset.lat), lon: Number(el.dataset.lon) };
    try { const p = parsePlace(el.value, id.slice(1)); return typeof p === "string" ? null : p; } catch { return null; }
  };

  // The route under the pins: each leg's road, in alternating colours.
  map.overlays.push((ctx) => {
    // alternatives first, dashed and grey: the chosen plan is drawn over them
    (trip?.alternatives ?? []).forEach((alt) => {
      ctx.beginPath();
      alt.legs.forEach((leg) => leg.geometry.forEach(([lon, lat], j) => {
        const [x, y] = map.toScreen(lon, lat);
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }));
      ctx.setLineDash([6, 5]); ctx.strokeStyle = ALT_COLOR; ctx.lineWidth = 3; ctx.stroke(); ctx.setLineDash([]);
    });
    if (trip) {
      trip.legs.forEach((leg, i) => {
        ctx.beginPath();
        leg.geometry.forEach(([lon, lat], j) => {
          const [x, y] = map.toScreen(lon, lat);
          if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        });
        ctx.strokeStyle = "rgba(255,255,255,.9)"; ctx.lineWidth = 7; ctx.lineJoin = ctx.lineCap = "round"; ctx.stroke();
        ctx.strokeStyle = LEG_COLORS[i % 2]; ctx.lineWidth = 4; ctx.stroke();
      });
    }
    placePins();
  });

  function placePins() {
    const items = [];
    const origin = point("#origin") ?? trip?.origin ?? car;
    if (origin) items.push(["origin", "A", origin, "origin"]);
    (trip?.stops ?? []).forEach((s, i) => items.push(["stop", String(i + 1), s, s.name]));
    const dest = point("#destination") ?? trip?.destination;
    if (dest) items.push(["destination", "B", dest, trip?.destination_place?.name ?? "destination"]);
    if (trip && car) items.push(["car", "●", car, "the car now"]);
    pins.innerHTML = items.map(([cls, label, p, title]) => {
      const [x, y] = map.toScreen(p.lon, p.lat);
      return `<span class="trip-pin ${cls}" title="${esc(title)}" style="left:${x}px;top:${y}px">${esc(label)}</span>`;
    }).join("");
  }

  map.onClick = (lon, lat) => {
    if (!map.roads) return; // before the road map is drawn a click means nothing
    const which = $("#click-sets").value;
    $(`#${which}`).value = showPoint({ lat, lon });
    hideSuggestions(`#${which}`);
    if (which === "origin") $("#click-sets").value = "destination";
    $("#map-hint").textContent = `${which === "origin" ? "Origin" : "Destination"} set: press “Plan trip”`;
    map.draw();
  };
  ["#origin", "#destination"].forEach((id) => $(id).addEventListener("change", () => map.draw()));

  // Suggestions under a box as its name is typed: a click puts the place's name in the box and
  // keeps its coordinates (sent instead of the name, so namesakes never make it ambiguous).
  const suggestTimers = {};
  let suggestAbort = null;
  function hideSuggestions(id) {
    const list = $(`${id}-suggestions`);
    list.hidden = true;
    list.innerHTML = "";
  }
  ["#origin", "#destination"].forEach((id) => {
    const box = $(id), list = $(`${id}-suggestions`);
    box.addEventListener("input", () => {
      clearTimeout(suggestTimers[id]);
      const q = box.value.trim();
      let kind;
      try { kind = typeof parsePlace(q, id.slice(1)); } catch { kind = "object"; }
      if (q.length < 2 || kind !== "string") { hideSuggestions(id); return; }
      suggestTimers[id] = setTimeout(async () => {
        suggestAbort?.abort();
        suggestAbort = new AbortController();
        let found;
        try {
          const search = forCar ? `/v1/vehicles/${encodeURIComponent(vin)}/places/search` : "/v1/trips/places";
          const path = `${search}?q=${encodeURIComponent(q)}&limit=8`;
          found = (await get(path, { signal: suggestAbort.signal })).candidates;
        } catch {
          return; // no suggestions: the name typed is still sent
        }
        if (stopped || box.value.trim() !== q || document.activeElement !== box) return; // typed on, or left
        list.innerHTML = found.length
          ? found.map((c, i) => `<li><button type="button" data-suggestion="${i}">${esc(c.name)} <span class="sub">${esc(c.kind.replaceAll("_", " "))}</span></button></li>`).join("")
          : `<li class="sub none">No place of that name</li>`;
        list.hidden = false;
        list.querySelectorAll("[data-suggestion]").forEach((b) => b.addEventListener("click", () => {
          const c = found[Number(b.dataset.suggestion)];
          Object.assign(box.dataset, { pickedName: c.name, lat: String(c.lat), lon: String(c.lon) });
          box.value = c.name;
          hideSuggestions(id);
          map.draw();
        }));
      }, SUGGEST_MS);
    });
    box.addEventListener("keydown", (e) => { if (e.key === "Escape") hideSuggestions(id); });
    // a click elsewhere closes the list; one on it keeps the box focused until it is handled
    list.addEventListener("mousedown", (e) => e.preventDefault());
    box.addEventListener("blur", () => hideSuggestions(id));
  });

  // The body's origin/destination: coordinates, a picked suggestion's, or the name typed.
  function placeOf(id, what) {
    const p = point(id);
    return p ?? parsePlace($(id).value, what);
  }

  const showError = (message) => {
    $("#trip-error").innerHTML = message ? `<p class="error" id="trip-error-text">${esc(message)}</p>` : "";
  };

  // A box's number, undefined when empty; `why` thrown when it is not one from lo to hi.
  function inRange(id, lo, hi, why) {
    const t = $(id).value.trim();
    if (!t) return undefined;
    const v = Number(t);
    if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(why);
    return v;
  }
  const optionalNumber = (id, what) => inRange(id, 0, 100, `${what} is a percentage from 0 to 100`);

  $("#trip-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    let body;
    try {
      const destination = placeOf("#destination", "Destination");
      if (!destination) throw new Error("Pick a destination first: click the map where the trip ends, or type a place.");
      body = { destination };
      const origin = placeOf("#origin", "Origin");
      if (origin) body.origin = origin;
      const start = optionalNumber("#start-soc", "Start SoC");
      if (start !== undefined) body.start_soc = start;
      if (!forCar) {
        body.model = $("#model-pick").value;
        if (!body.model) throw new Error("Pick the vehicle model the trip is for.");
        if (!origin) throw new Error("Pick an origin: click the map where the trip starts, or type a place.");
        if (start === undefined) throw new Error("Give the start SoC: a model has no charge of its own.");
      }
      const arrival = optionalNumber("#min-arrival", "Minimum arrival SoC");
      if (arrival !== undefined) body.min_arrival_soc = arrival;
      const most = optionalNumber("#max-charge", "The charge stops' limit");
      if (most !== undefined) body.max_charge_soc = most;
      const kw = inRange("#min-power", 0, 1000, "The chargers' power is a number of kW from 0 to 1000");
      if (kw !== undefined) body.min_power_kw = kw;
      const ambient = inRange("#ambient", -40, 50, "The outside temperature is −40 to 50 °C");
      if (ambient !== undefined) body.ambient_c = ambient;
      const payload = inRange("#payload", 0, 1500, "The payload is 0 to 1,500 kg");
      if (payload !== undefined) body.payload_kg = payload;
      if ($("#fewer-stops").checked) body.prefer_fewer_stops = true;
      const within = inRange("#alt-within", 0, 50, "Alternatives are up to 0 to 50 % slower");
      if (within !== undefined) body.alternatives_within_pct = within;
    } catch (err) {
      showError(err.message);
      return;
    }
    showError("");
    busy?.abort();
    busy = new AbortController();
    $("#plan-button").disabled = true;
    $("#trip-result").dataset.state = "planning";
    try {
      const path = forCar ? `/v1/vehicles/${encodeURIComponent(vin)}/trips` : "/v1/trips/plan";
      const answer = await post(path, body, { signal: busy.signal });
      if (stopped) return;
      trip = answer;
      $("#trip-following").hidden = true;
      $("#trip-planned").hidden = true;
      showTrip();
    } catch (err) {
      if (stopped || err.name === "AbortError" || err.status === 401) return;
      trip = null;
      clearTrip();
      showError(refusal(err));
      $("#trip-result").dataset.state = "error";
    } finally {
      if (!stopped) $("#plan-button").disabled = false;
    }
    map.draw();
  });

  function refusal(err) {
    if (err.status === 503) return `Trip planning is not available on this server: ${err.message}`;
    if (err.status === 422 || err.status === 400) return `No trip: ${err.message}`;
    if (err.status === 403 || err.status === 404) return `You cannot plan trips${forCar ? " for this vehicle" : ""}: ${err.message}`;
    return `The planner failed: ${err.message}`;
  }

  function clearTrip() {
    clearTimeout(followTimer);
    $("#trip-live").hidden = true;
    $("#trip-check").hidden = true;
    $("#trip-following").hidden = true;
    $("#trip-planned").hidden = true;
    $("#trip-totals").innerHTML = "";
    $("#trip-stops").innerHTML = "";
    $("#trip-alternatives").innerHTML = "";
    $("#soc-box").hidden = true;
    $("#trip-empty").hidden = false;
  }

  function showTrip() {
    const t = trip;
    $("#trip-empty").hidden = true;
    $("#trip-result").dataset.state = "planned";
    $("#trip-result").dataset.stops = String(t.stops.length);
    if (forCar) $("#trip-model").textContent = t.model;
    const total = (label, value, key) => `<div data-total="${key}"><b>${value}</b><span class="sub">${label}</span></div>`;
    $("#trip-totals").innerHTML =
      total("total", duration(t.total_min), "total") + total("driving", duration(t.drive_min), "drive") +
      total("charging", duration(t.charge_min), "charge") + total("distance", `${num(t.distance_km, 1)} km`, "distance") +
      total("energy", `${num(t.energy_kwh, 1)} kWh`, "energy") +
      total(`start → arrival SoC`, `${num(t.start_soc, 0)} → ${num(t.arrival_soc, 0)} %`, "soc");
    $("#trip-stops").innerHTML = t.stops.length
      ? `<table id="stops-table"><thead><tr><th>#</th><th>Charging stop</th><th class="num">km</th><th class="num">Power</th>
          <th class="num">Arrive</th><th class="num">Leave</th><th class="num">Charging</th></tr></thead><tbody>${t.stops.map((s, i) => `
          <tr data-stop="${i + 1}"><td>${i + 1}</td><td>${esc(s.name)}</td><td class="num">${num(s.km, 1)}</td><td class="num">${num(s.power_kw, 0)} kW</td>
          <td class="num">${num(s.arrival_soc, 0)} %</td><td class="num">${num(s.departure_soc, 0)} %</td><td class="num">${num(s.charge_min, 0)} min</td></tr>`).join("")}</tbody></table>`
      : `<p class="sub" id="no-stops">No charging stop needed.</p>`;
    showAlternatives(t);
    $("#soc-box").hidden = false;
    socPlot($("#soc-plot"), t.profile, t.stops);
    route = routePoints(t);
    clearTimeout(followTimer);
    follow();
    fitTrip();
  }

  // The map's view on the trip's roads (again once the road map is drawn: it fits the map).
  function fitTrip() {
    const pts = trip.legs.flatMap((l) => l.geometry);
    if (pts.length) {
      const lons = pts.map((p) => p[0]), lats = pts.map((p) => p[1]);
      const pad = 0.15 * Math.max(Math.max(...lons) - Math.min(...lons), Math.max(...lats) - Math.min(...lats), 0.005);
      map.fit([Math.min(...lons) - pad, Math.min(...lats) - pad, Math.max(...lons) + pad, Math.max(...lats) + pad]);
    }
  }

  // Other charger sequences nearly as fast: listed with how much slower; "Use" makes the server
  // follow one (a car's stored trip: its answer is shown) or swaps it in (a model's plan).
  function showAlternatives(t) {
    const alts = t.alternatives ?? [];
    const via = (p) => p.stops.length ? p.stops.map((s) => esc(s.name)).join(" → ") : "no stop";
    $("#trip-alternatives").innerHTML = alts.length
      ? `<h3 style="margin:12px 0 4px">Alternatives</h3><table id="alternatives-table"><tbody>${alts.map((a, i) => `
          <tr data-alternative="${i + 1}"><td>via ${via(a)}</td><td class="num">${duration(a.total_min)}</td>
          <td class="num sub">+${num(a.total_min - t.total_min, 1)} min</td><td><button type="button" data-use="${i}">Use</button></td></tr>`).join("")}</tbody></table>`
      : "";
    main.querySelectorAll("[data-use]").forEach((b) => b.addEventListener("click", async () => {
      const i = Number(b.dataset.use);
      if (forCar && t.id) {
        await followAlternative(t, i, via);
        return;
      }
      const { alternatives: _, ...chosen } = trip;
      const others = alts.filter((_, j) => j !== i);
      trip = { ...chosen, ...alts[i], alternatives: [...others, chosen].sort((a, b) => a.total_min - b.total_min) };
      showTrip();
      map.draw();
    }));
  }

  // The server follows alternative i of the car's stored trip; its answer is the plan shown.
  async function followAlternative(t, i, via) {
    main.querySelectorAll("[data-use]").forEach((b) => { b.disabled = true; });
    const el = $("#trip-following");
    try {
      const path = `/v1/vehicles/${encodeURIComponent(vin)}/trips/${encodeURIComponent(t.id)}/follow`;
      const state = await post(path, { alternative: i });
      if (stopped || trip !== t) return; // left, or planned anew meanwhile
      trip = state.plan;
      showError("");
      el.innerHTML = `Following: via ${via(trip)} (the car's live check compares with this plan).`;
      el.hidden = false;
      showTrip();
      map.draw();
    } catch (err) {
      if (stopped || err.status === 401) return;
      main.querySelectorAll("[data-use]").forEach((b) => { b.disabled = false; });
      showError(`The server could not follow this alternative: ${err.message}`);
    }
  }

  // Where the car is now: the origin pin and the SoC the plan starts from unless one is given;
  // once a trip is planned, every few seconds, how far along it the car is.
  async function follow() {
    if (!forCar) return;
    let soc = null;
    try {
      const s = (await get(`/v1/vehicles/${encodeURIComponent(vin)}/state`)).signals ?? {};
      if (stopped) return;
      if (typeof s[LAT]?.value === "number" && typeof s[LON]?.value === "number") car = { lat: s[LAT].value, lon: s[LON].value };
      if (typeof s[SOC]?.value === "number") {
        soc = s[SOC].value;
        $("#start-soc").placeholder = `now ${num(soc, 0)}`;
      }
    } catch (err) {
      if (stopped || err.status === 401) return;
      if (!trip) { showError(refusal(err)); return; }
    }
    if (trip && car && route.length > 1) showProgress(soc);
    if (trip) await showCheck();
    map.draw();
    clearTimeout(followTimer); // one round at a time: another may have started meanwhile
    if (trip && !stopped) followTimer = setTimeout(follow, FOLLOW_MS);
  }

  // The trip the car is on, stored by the server (the newest, when it says so): shown as when
  // it was planned, unless a plan was asked for meanwhile. Then the car is followed.
  async function showActive() {
    let latest = null;
    try {
      [latest] = await get(`/v1/vehicles/${encodeURIComponent(vin)}/trips?limit=1`);
    } catch {
      // no trip to show: follow() says why the car's state cannot be read, if it cannot
    }
    if (stopped) return;
    if (trip || busy || !latest?.active) { if (!trip) follow(); return; }
    trip = latest.plan;
    const el = $("#trip-planned");
    el.textContent = `Planned ${when(latest.planned_ms)} — the car is on this trip.`;
    el.hidden = false;
    showTrip(); // follows the car
    map.draw();
  }
  if (forCar) showActive();

  // The server's live check of the trip the car is on (its newest plan; checked every 10 s
  // from the car's reports): the SoC it will reach its next stop with, and a replan when short.
  async function showCheck() {
    const el = $("#trip-check");
    let latest;
    try {
      [latest] = await get(`/v1/vehicles/${encodeURIComponent(vin)}/trips?limit=1`);
    } catch {
      return; // the plan and the progress above still stand
    }
    const c = latest?.active ? latest.check : null;
    el.hidden = !c;
    if (!c) return;
    el.dataset.asPlanned = String(c.as_planned);
    const r = c.replanned;
    const offer = !r ? "" : r.error ? ` No new plan from here: ${r.error}.`
      : ` Replanned: via ${r.stops.length ? r.stops.join(" → ") : "no stop"}, arriving with ${num(r.arrival_soc, 0)} %.`;
    el.textContent = c.as_planned
      ? `On plan: reaching ${c.target_name} with ${num(c.predicted_soc, 0)} % (planned ${num(c.planned_soc, 0)} %).`
      : `⚠ The car ${c.message}.${offer}`;
  }

  function showProgress(soc) {
    const el = $("#trip-live"), where = along(route, car.lon, car.lat);
    el.hidden = false;
    if (where.offM > OFF_ROUTE_M) {
      el.dataset.km = "";
      el.textContent = `The car is ${num(where.offM / 1000, 1)} km off the planned route.`;
      return;
    }
    el.dataset.km = where.km.toFixed(3);
    const planned = plannedSoc(trip.profile, where.km);
    el.textContent = `The car now: ${num(where.km, 1)} of ${num(trip.distance_km, 1)} km along the route` +
      (soc === null ? "" : ` · SoC ${num(soc, 0)} % (planned here: ${num(planned, 0)} %)`);
  }
  // The models to pick from (the first one picked).
  if (!forCar) {
    (async () => {
      try {
        const models = await get("/v1/models");
        if (stopped) return;
        $("#model-pick").innerHTML = models.map((m) =>
          `<option value="${esc(m.name)}">${esc(m.display_name)} · ${num(m.usable_kwh, 0)} kWh</option>`).join("");
      } catch (err) {
        if (!stopped && err.status !== 401) showError(`The vehicle models could not be read: ${err.message}`);
      }
    })();
  }
  (async () => {
    try {
      const r = await roads();
      if (stopped) return;
      map.setRoads(r);
      if (trip) fitTrip(); // shown before the road map came
      mapEl.dataset.roads = "ready";
    } catch (err) {
      if (!stopped) mapEl.append(Object.assign(document.createElement("p"), { className: "error", textContent: `Road layer unavailable: ${err.message}` }));
    }
  })();
  return () => { stopped = true; busy?.abort(); clearTimeout(followTimer); };
}

// SoC (%) over km, with the charging stops as vertical jumps and the 0–100 % axis.
function socPlot(canvas, profile, stops) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400, hgt = canvas.clientHeight || 180;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  const L = 40, R = 10, T = 8, B = 22;
  const maxKm = Math.max(1e-3, ...profile.map((p) => p[0]));
  const x = (km) => L + (km / maxKm) * (w - L - R), y = (s) => T + (1 - s / 100) * (hgt - T - B);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5d6b78"; ctx.strokeStyle = "#e3e8ee"; ctx.lineWidth = 1;
  for (const s of [0, 25, 50, 75, 100]) {
    ctx.beginPath(); ctx.moveTo(L, y(s)); ctx.lineTo(w - R, y(s)); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(`${s} %`, L - 4, y(s) + 4);
  }
  ctx.textAlign = "center";
  for (const km of yAxis([0, maxKm], { min: 0, minSpan: 1 }).ticks.filter((k) => k <= maxKm + 1e-9)) {
    ctx.fillText(`${km} km`, Math.min(Math.max(x(km), L + 14), w - R - 14), hgt - 6);
  }
  ctx.strokeStyle = "#1a7f37"; ctx.lineWidth = 2; ctx.beginPath();
  profile.forEach(([km, s], i) => (i ? ctx.lineTo(x(km), y(s)) : ctx.moveTo(x(km), y(s))));
  ctx.stroke();
  ctx.fillStyle = "#1f6feb";
  stops.forEach((s) => { ctx.beginPath(); ctx.arc(x(s.km), y(s.departure_soc), 3, 0, 2 * Math.PI); ctx.fill(); });
}
