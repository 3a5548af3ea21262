// The live hazard layer of a map: the road hazards the fleet confirmed (GET /v1/hazards, GeoJSON
// points), one marker per hazard by kind, a legend with a toggle, refreshed every 30 s. Markers
// are elements over the canvas (hazards are few): each has a tooltip and opens a popup with its
// kind, confidence and how many cars saw it. A server without road sensing (503) hides the layer
// and says so.

import { ApiError, get } from "./api.js";
import { dateTime, esc, num } from "./format.js";

export const REFRESH_MS = 30_000;
const MAX_SHOWN = 1000; // a city has tens; beyond this the popups would not be readable anyway
const WORLD = [-180, -90, 180, 90];

// kind → label, symbol and colour (also the legend's order)
export const KINDS = {
  pothole: { label: "Pothole", symbol: "●", color: "#b42318" },
  rough_road: { label: "Rough road", symbol: "≋", color: "#b54708" },
  slippery: { label: "Slippery", symbol: "❄", color: "#175cd3" },
  slowdown: { label: "Slow-down", symbol: "▼", color: "#6941c6" },
};
const kindOf = (k) => KINDS[k] ?? { label: k, symbol: "?", color: "#475467" };

// The text of a hazard's popup and tooltip: kind, confidence, cars, first/last seen.
export function describe(props) {
  const k = kindOf(props.kind);
  return [
    k.label,
    `confidence ${num(100 * props.confidence, 0)} %`,
    `seen by ${props.cars} car${props.cars === 1 ? "" : "s"}`,
    `first seen ${dateTime(props.first_seen_ms)}`,
    `last seen ${dateTime(props.last_seen_ms)}`,
    // a slow-down stands on one carriageway: say which way the traffic it holds up drives
    ...(props.direction_deg == null ? [] : [`traffic heading ${COMPASS[Math.round(props.direction_deg / 45) % 8]}`]),
  ];
}

const COMPASS = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"];

// Mounts the layer on `mapEl` (the map's container) over `map` (a MapView). Returns stop().
export function hazardLayer(mapEl, map, { everyMs = REFRESH_MS } = {}) {
  let features = [], stopped = false, timer = null, shown = true;
  const box = document.createElement("div");
  box.className = "hazard-box";
  box.id = "hazard-box";
  box.innerHTML = `<label><input type="checkbox" id="hazard-toggle" checked> Road hazards</label>
    <span id="hazard-count" class="sub"></span>
    <div class="hazard-legend">${Object.values(KINDS).map((k) =>
      `<span><i style="color:${k.color}">${k.symbol}</i>${k.label}</span>`).join("")}</div>
    <p class="note" id="hazard-note" hidden></p>`;
  const layer = document.createElement("div");
  layer.className = "hazard-layer";
  layer.id = "hazard-layer";
  const popup = document.createElement("div");
  popup.className = "hazard-popup";
  popup.id = "hazard-popup";
  popup.hidden = true;
  mapEl.append(layer, popup, box);

  box.querySelector("#hazard-toggle").addEventListener("change", (e) => {
    shown = e.target.checked;
    layer.hidden = !shown;
    if (!shown) popup.hidden = true;
  });
  layer.addEventListener("click", (e) => {
    const el = e.target.closest(".hazard");
    if (!el) return;
    e.stopPropagation();
    const f = features[Number(el.dataset.i)];
    popup.innerHTML = `<button class="close" aria-label="Close">×</button>` +
      describe(f.properties).map((line, i) => (i ? `<div>${esc(line)}</div>` : `<b>${esc(line)}</b>`)).join("");
    popup.dataset.kind = f.properties.kind;
    popup.dataset.i = el.dataset.i;
    popup.hidden = false;
    place();
  });
  popup.addEventListener("click", (e) => { if (e.target.closest(".close")) popup.hidden = true; });

  // Markers follow the map: placed again on every draw (pan, zoom, resize).
  function place() {
    const w = map.canvas.clientWidth, hgt = map.canvas.clientHeight;
    layer.querySelectorAll(".hazard").forEach((el) => {
      const [lon, lat] = features[Number(el.dataset.i)].geometry.coordinates;
      const [x, y] = map.toScreen(lon, lat);
      el.hidden = x < -10 || y < -10 || x > w + 10 || y > hgt + 10;
      el.style.left = `${x}px`;
      el.style.top = `${y}px`;
      if (!popup.hidden && el.dataset.i === popup.dataset.i) { // the popup moves with its marker
        popup.style.left = el.style.left;
        popup.style.top = el.style.top;
      }
    });
  }
  map.overlays.push(place);

  function render() {
    layer.innerHTML = features.slice(0, MAX_SHOWN).map((f, i) => {
      const k = kindOf(f.properties.kind);
      return `<button class="hazard" data-i="${i}" data-id="${esc(f.id ?? "")}" data-kind="${esc(f.properties.kind)}" style="color:${k.color}"
        title="${esc(describe(f.properties).slice(0, 3).join(" · "))}" aria-label="${esc(k.label)}">${k.symbol}</button>`;
    }).join("");
    popup.hidden = true;
    box.querySelector("#hazard-count").textContent = `${features.length.toLocaleString("en-GB")} confirmed`;
    mapEl.dataset.hazards = String(features.length);
    place();
  }

  async function refresh() {
    // Hazards lie on the road graph, so the road layer's box holds them all.
    const bbox = (map.roads?.bbox ?? WORLD).map((v) => v.toFixed(5)).join(",");
    try {
      const body = await get(`/v1/hazards?bbox=${bbox}`);
      if (stopped) return;
      features = body.features ?? [];
      box.querySelector("#hazard-note").hidden = true;
      render();
    } catch (e) {
      if (stopped || e.status === 401) return;
      const note = box.querySelector("#hazard-note");
      if (e instanceof ApiError && (e.status === 503 || e.status === 404)) {
        // no road sensing on this server: no layer, and no point asking again
        features = [];
        render();
        box.querySelector("#hazard-toggle").closest("label").hidden = true;
        box.querySelector(".hazard-legend").hidden = true;
        box.querySelector("#hazard-count").textContent = "";
        note.textContent = "No hazard layer: road sensing is off on this server.";
        note.title = e.message;
        note.hidden = false;
        mapEl.dataset.hazards = "off";
        return;
      }
      note.textContent = `Could not load hazards: ${e.message} — retrying.`;
      note.hidden = false;
    }
    if (!stopped) timer = setTimeout(refresh, everyMs);
  }
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    map.overlays = map.overlays.filter((o) => o !== place);
  };
}
