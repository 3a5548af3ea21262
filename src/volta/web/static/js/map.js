// A canvas map: the project's own OpenStreetMap roads as base layer, vehicles as arrows
// (heading) or dots, an optional track. One path per colour, so 10,000 markers stay cheap.

import { request } from "./api.js";

export async function loadRoads() {
  const res = await request("/v1/map/roads", { raw: true });
  const buf = await res.arrayBuffer();
  const dv = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "VRD1") throw new Error("unexpected road layer format");
  const n = dv.getUint32(4, true), m = dv.getUint32(8, true);
  const coords = new Float32Array(buf, 12, n * 2);
  const pairs = new Uint32Array(buf, 12 + n * 8, m * 2);
  let minLon = Infinity, maxLon = -Infinity, minLat = Infinity, maxLat = -Infinity;
  for (let i = 0; i < n; i++) {
    const lo = coords[2 * i], la = coords[2 * i + 1];
    if (lo < minLon) minLon = lo; if (lo > maxLon) maxLon = lo;
    if (la < minLat) minLat = la; if (la > maxLat) maxLat = la;
  }
  return { coords, pairs, bbox: [minLon, minLat, maxLon, maxLat] };
}

// Water, parks, buildings and street names (GET /v1/map/features), fetched once per page load
// and shared by every map; a server without it still draws roads.
let featuresPromise = null;
export function loadFeatures() {
  featuresPromise ??= request("/v1/map/features").catch(() => null);
  return featuresPromise;
}

const AREA_STYLE = [["water", "#aad3df"], ["park", "#c8e6b0"], ["building", "#d6d3ce"]];
const LABEL_FONT = "11px system-ui, sans-serif";

const FAST_MARKERS = 500;
const DIRS = 24; // heading steps of 15°; sprite DIRS is the dot

const markerSize = (n) => (n > 2000 ? 4 : n > 200 ? 5.5 : 7.5);

// One marker, into a path: an arrow along the heading (0 = north = up), else a dot.
function shape(p, x, y, hd, size) {
  if (hd === null || hd === undefined || Number.isNaN(hd)) {
    p.moveTo(x + size * 0.8, y);
    p.arc(x, y, size * 0.8, 0, 2 * Math.PI);
    return;
  }
  const a = (hd * Math.PI) / 180, s = Math.sin(a), c = Math.cos(a);
  p.moveTo(x + s * size * 1.3, y - c * size * 1.3);
  p.lineTo(x - s * size * 0.8 + c * size * 0.85, y + c * size * 0.8 + s * size * 0.85);
  p.lineTo(x - s * size * 0.35, y + c * size * 0.35);
  p.lineTo(x - s * size * 0.8 - c * size * 0.85, y + c * size * 0.8 - s * size * 0.85);
  p.closePath();
}

// Sprites of one colour: DIRS arrows and a dot, as the opaque pixels' offsets and values.
const sprites = new Map();
function spriteSet(color, size, dpr) {
  const key = `${color}:${size}:${dpr}`;
  if (sprites.has(key)) return sprites.get(key);
  const half = Math.ceil(size * 1.6 * dpr) + 1, side = 2 * half + 1;
  const c = document.createElement("canvas");
  c.width = c.height = side;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  const set = [];
  for (let d = 0; d <= DIRS; d++) {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, side, side);
    ctx.setTransform(dpr, 0, 0, dpr, half, half);
    const p = new Path2D();
    shape(p, 0, 0, d === DIRS ? null : d * (360 / DIRS), size);
    ctx.fillStyle = color;
    ctx.fill(p);
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.stroke(p);
    const px = new Uint32Array(ctx.getImageData(0, 0, side, side).data.buffer);
    const dx = [], dy = [], col = [];
    for (let i = 0; i < px.length; i++) {
      if (px[i] >>> 24 < 128) continue;
      dx.push((i % side) - half); dy.push(Math.floor(i / side) - half);
      col.push((px[i] | 0xff000000) >>> 0);
    }
    set.push({ dx: Int16Array.from(dx), dy: Int16Array.from(dy), col: Uint32Array.from(col) });
  }
  sprites.set(key, set);
  return set;
}

export class MapView {
  constructor(container) {
    this.el = container;
    this.canvas = document.createElement("canvas");
    container.prepend(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.roads = null;
    this.roadPath = null;
    this.markers = null; // { lon, lat, heading, colorIndex, palette, n }
    this.track = null;   // [[lon, lat], ...]
    this.kx = Math.cos((60 * Math.PI) / 180);
    this.view = { x: 0, y: 0, k: 1 }; // world centre, px per world unit
    this.fitted = false;
    this.pending = false;
    this.onPick = null;
    this.onClick = null;  // (lon, lat) of a click that picked no marker
    this.overlays = [];   // (ctx, map) => void, drawn over roads and markers in CSS pixels
    this.afterDraw = null;
    this.visible = 0;
    this.areaPaths = null; // [[colour, Path2D]] in world units
    this.labels = null;    // [{ name, x, y, angle, length_m }] in world units, longest first
    this.labelsDrawn = 0;
    window.__voltaMap = this; // the page's newest map, for tests and the console
    new ResizeObserver(() => this.resize()).observe(container);
    this.bindPointer();
    this.resize();
  }

  world(lon, lat) { return [lon * this.kx, -lat]; }

  setRoads(roads) {
    this.roads = roads;
    const [minLon, minLat, maxLon, maxLat] = roads.bbox;
    this.kx = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
    const p = new Path2D(), c = roads.coords, e = roads.pairs;
    for (let i = 0; i < e.length; i += 2) {
      const a = e[i] * 2, b = e[i + 1] * 2;
      p.moveTo(c[a] * this.kx, -c[a + 1]);
      p.lineTo(c[b] * this.kx, -c[b + 1]);
    }
    this.roadPath = p;
    this.fit([minLon, minLat, maxLon, maxLat]);
    loadFeatures().then((f) => { if (f) this.setFeatures(f); });
  }

  setFeatures(f) {
    this.features = f;
    this.areaPaths = AREA_STYLE.map(([cls, colour]) => {
      const p = new Path2D();
      for (const ring of f[cls] || []) {
        ring.forEach(([lon, lat], i) => {
          if (i === 0) p.moveTo(lon * this.kx, -lat); else p.lineTo(lon * this.kx, -lat);
        });
        p.closePath();
      }
      return [colour, p];
    });
    this.labels = (f.labels || []).map((l) => ({ ...l, x: l.lon * this.kx, y: -l.lat }));
    this.draw();
  }

  // Street names along their street, where the name fits on its longest straight piece and
  // overlaps no name drawn before it (longest streets first).
  paintLabels(ctx, w, hgt) {
    let drawn = 0;
    const boxes = [];
    if (this.labels) {
      const v = this.view, pxPerM = v.k / 111320;
      ctx.font = LABEL_FONT;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,.9)";
      ctx.fillStyle = "#4a5561";
      for (const l of this.labels) {
        const x = (l.x - v.x) * v.k + w / 2, y = (l.y - v.y) * v.k + hgt / 2;
        if (x < 0 || y < 0 || x > w || y > hgt) continue;
        const tw = ctx.measureText(l.name).width;
        if (tw > l.length_m * pxPerM) continue;
        const a = (-l.angle * Math.PI) / 180, c = Math.abs(Math.cos(a)), s = Math.abs(Math.sin(a));
        const hw = (tw * c + 12 * s) / 2 + 2, hh = (tw * s + 12 * c) / 2 + 2;
        const box = [x - hw, y - hh, x + hw, y + hh];
        if (boxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        boxes.push(box);
        ctx.save();
        ctx.translate(x, y);
        ctx.rotate(a);
        ctx.strokeText(l.name, 0, 0);
        ctx.fillText(l.name, 0, 0);
        ctx.restore();
        drawn++;
      }
    }
    this.labelsDrawn = drawn;
    this.labelBoxes = boxes;
    this.el.dataset.labels = String(drawn);
  }

  fit([minLon, minLat, maxLon, maxLat]) {
    const [x0, y0] = this.world(minLon, maxLat), [x1, y1] = this.world(maxLon, minLat);
    const w = this.canvas.clientWidth || 600, hgt = this.canvas.clientHeight || 400;
    this.view = { x: (x0 + x1) / 2, y: (y0 + y1) / 2,
      k: 0.92 * Math.min(w / Math.max(x1 - x0, 1e-6), hgt / Math.max(y1 - y0, 1e-6)) };
    this.fitted = true;
    this.draw();
  }

  setMarkers(markers) { this.markers = markers; this.draw(); }
  setTrack(track) { this.track = track; this.draw(); }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.el.clientWidth, hgt = this.el.clientHeight;
    if (!w || !hgt) return;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hgt * dpr);
    this.dpr = dpr;
    if (this.roads && !this.fitted) this.setRoads(this.roads);
    this.draw();
  }

  toScreen(lon, lat) {
    const v = this.view, w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    return [(lon * this.kx - v.x) * v.k + w / 2, (-lat - v.y) * v.k + hgt / 2];
  }

  toLonLat(sx, sy) {
    const v = this.view, w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    return [(v.x + (sx - w / 2) / v.k) / this.kx, -(v.y + (sy - hgt / 2) / v.k)];
  }

  // Draw on the next animation frame (several updates in one frame draw once).
  draw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.paint(); });
  }

  paint() {
    const t0 = performance.now();
    this.paintInner();
    if (this.overlays.length) {
      const dpr = this.dpr || 1;
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      for (const overlay of this.overlays) overlay(this.ctx, this);
    }
    this.paintMs = performance.now() - t0;
    if (this.afterDraw) this.afterDraw();
  }

  paintInner() {
    if (this.markers && this.markers.n > FAST_MARKERS) { this.paintFast(); return; }
    const ctx = this.ctx, dpr = this.dpr || 1;
    const w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    this.paintRoads(ctx);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (this.track && this.track.length > 1) this.paintTrack(ctx);
    if (this.markers) this.paintMarkers(ctx, w, hgt);
  }

  paintRoads(ctx) {
    const dpr = this.dpr || 1, v = this.view;
    const w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#eef2f5";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(dpr * v.k, 0, 0, dpr * v.k, dpr * (w / 2 - v.x * v.k), dpr * (hgt / 2 - v.y * v.k));
    if (this.areaPaths) {
      for (const [colour, p] of this.areaPaths) { ctx.fillStyle = colour; ctx.fill(p); }
    }
    if (this.roadPath) {
      ctx.strokeStyle = "#c3ccd5";
      ctx.lineWidth = 3 / v.k;
      ctx.lineCap = "round";
      ctx.stroke(this.roadPath);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1.6 / v.k;
      ctx.stroke(this.roadPath);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.paintLabels(ctx, w, hgt);
  }

  // Many markers: the road layer is rendered once per view into pixels, then each update
  // copies it and stamps pre-rendered marker sprites into the pixel buffer: a few ms for
  // 10,000 vehicles, where 10,000 vector paths take a software rasteriser ~150 ms.
  paintFast() {
    const W = this.canvas.width, H = this.canvas.height, v = this.view, dpr = this.dpr || 1;
    const key = `${W}x${H}:${v.x}:${v.y}:${v.k}:${this.roadPath ? 1 : 0}:${this.areaPaths ? 1 : 0}`;
    if (this.baseKey !== key) {
      this.off ??= document.createElement("canvas");
      this.off.width = W; this.off.height = H;
      const octx = this.off.getContext("2d", { willReadFrequently: true });
      this.paintRoads(octx);
      this.base = new Uint32Array(octx.getImageData(0, 0, W, H).data.buffer);
      this.frame = this.ctx.createImageData(W, H);
      this.baseKey = key;
    }
    const out = new Uint32Array(this.frame.data.buffer);
    out.set(this.base);
    const m = this.markers, size = markerSize(m.n), kx = this.kx;
    const sprites = m.palette.map((c) => spriteSet(c, size, dpr));
    const w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    const cx = (w / 2 - v.x * v.k) * dpr, cy = (hgt / 2 - v.y * v.k) * dpr, k = v.k * dpr;
    let visible = 0;
    for (let i = 0; i < m.n; i++) {
      const lon = m.lon[i], lat = m.lat[i];
      if (lon === null || lat === null || lon !== lon || lat !== lat) continue; // null or NaN
      const x = Math.round(lon * kx * k + cx), y = Math.round(-lat * k + cy);
      if (x < -20 || y < -20 || x > W + 20 || y > H + 20) continue;
      visible++;
      const hd = m.arrow[i] ? m.heading[i] : NaN;
      const sp = sprites[m.colorIndex[i]][hd === null || hd !== hd ? DIRS : Math.round(hd / (360 / DIRS)) % DIRS];
      const { dx, dy, col } = sp;
      for (let j = 0; j < col.length; j++) {
        const px = x + dx[j], py = y + dy[j];
        if (px >= 0 && py >= 0 && px < W && py < H) out[py * W + px] = col[j];
      }
    }
    this.ctx.putImageData(this.frame, 0, 0);
    this.visible = visible;
  }

  paintTrack(ctx) {
    ctx.beginPath();
    this.track.forEach(([lon, lat], i) => {
      const [x, y] = this.toScreen(lon, lat);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = "rgba(31,111,235,.85)";
    ctx.lineWidth = 3;
    ctx.lineJoin = "round";
    ctx.stroke();
  }

  paintMarkers(ctx, w, hgt) {
    const m = this.markers, v = this.view, kx = this.kx;
    const size = markerSize(m.n);
    const paths = m.palette.map(() => new Path2D());
    const cx = w / 2 - v.x * v.k, cy = hgt / 2 - v.y * v.k;
    let visible = 0;
    for (let i = 0; i < m.n; i++) {
      const lon = m.lon[i], lat = m.lat[i];
      if (lon === null || lat === null || lon !== lon || lat !== lat) continue;
      const x = lon * kx * v.k + cx, y = -lat * v.k + cy;
      if (x < -10 || y < -10 || x > w + 10 || y > hgt + 10) continue;
      visible++;
      shape(paths[m.colorIndex[i]], x, y, m.arrow[i] ? m.heading[i] : null, size);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(255,255,255,.9)";
    paths.forEach((p, j) => { ctx.fillStyle = m.palette[j]; ctx.fill(p); ctx.stroke(p); });
    this.visible = visible;
  }

  zoomAt(factor, sx, sy) {
    const v = this.view, w = this.canvas.clientWidth, hgt = this.canvas.clientHeight;
    const wx = v.x + (sx - w / 2) / v.k, wy = v.y + (sy - hgt / 2) / v.k;
    v.k = Math.min(Math.max(v.k * factor, 10), 5e7);
    v.x = wx - (sx - w / 2) / v.k;
    v.y = wy - (sy - hgt / 2) / v.k;
    this.draw();
  }

  // The marker nearest a screen point, within 12 px (or -1).
  pick(sx, sy) {
    const m = this.markers;
    if (!m) return -1;
    let best = -1, bestD = 144;
    for (let i = 0; i < m.n; i++) {
      if (m.lon[i] === null || m.lat[i] === null || Number.isNaN(m.lon[i] + m.lat[i])) continue;
      const [x, y] = this.toScreen(m.lon[i], m.lat[i]);
      const d = (x - sx) ** 2 + (y - sy) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  bindPointer() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
      this.view.x = drag.vx - dx / this.view.k;
      this.view.y = drag.vy - dy / this.view.k;
      this.draw();
    });
    c.addEventListener("pointerup", (e) => {
      if (drag && !drag.moved && (this.onPick || this.onClick)) {
        const r = c.getBoundingClientRect(), sx = e.clientX - r.left, sy = e.clientY - r.top;
        const i = this.onPick ? this.pick(sx, sy) : -1;
        if (i >= 0) this.onPick(i);
        else if (this.onClick) this.onClick(...this.toLonLat(sx, sy));
      }
      drag = null;
    });
  }
}

// Zoom buttons and the OSM attribution, shared by every map.
export function mapChrome(container, map) {
  const tools = document.createElement("div");
  tools.className = "tools";
  tools.innerHTML = `<button class="small" data-z="in" title="Zoom in">+</button>
    <button class="small" data-z="out" title="Zoom out">−</button>
    <button class="small" data-z="fit" title="Show everything">Fit</button>`;
  tools.addEventListener("click", (e) => {
    const z = e.target.dataset.z;
    const w = map.canvas.clientWidth / 2, hgt = map.canvas.clientHeight / 2;
    if (z === "in") map.zoomAt(1.5, w, hgt);
    if (z === "out") map.zoomAt(1 / 1.5, w, hgt);
    if (z === "fit" && map.roads) map.fit(map.roads.bbox);
  });
  const attr = document.createElement("div");
  attr.className = "attr";
  attr.textContent = "Map data © OpenStreetMap contributors (ODbL)";
  container.append(tools, attr);
}
