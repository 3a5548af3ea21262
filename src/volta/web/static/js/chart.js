// A time-series line chart on canvas: nice y ticks with the unit, clock times on x, an
// empty state when there is nothing to draw. The axes are pure functions (yAxis, timeTicks)
// so that they can be checked without drawing.

function niceStep(span, count) {
  const raw = span / Math.max(count, 1), p = 10 ** Math.floor(Math.log10(raw)), f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

// The smallest span a y axis shows, per unit: a parked car's 0.1 kW of standby power is a flat
// line near zero, not a swing across the whole chart.
export const MIN_SPAN = { kW: 2, W: 2000, "km/h": 10, "%": 5, kWh: 1, "°C": 2, V: 1, kPa: 20, "Wh/km": 50 };

// The y axis for `values`: [lo, hi] holding the data, opts.min/opts.max when given, zero when
// `zero`, at least `minSpan` wide, rounded out to nice ticks (about 4).
export function yAxis(values, { min = null, max = null, zero = false, minSpan = 1 } = {}) {
  let dataLo = Infinity, dataHi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { dataLo = Math.min(dataLo, v); dataHi = Math.max(dataHi, v); }
  const none = dataLo > dataHi;
  if (none) dataLo = dataHi = 0;
  let lo = min ?? dataLo, hi = max ?? dataHi;
  if (zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
  const need = Math.max(minSpan, 1e-9);
  if (hi - lo < need) {
    // grow away from a fixed floor (no data: from zero up)
    if (min !== null || none || (zero && lo === 0)) hi = lo + need;
    else if (max !== null || (zero && hi === 0)) lo = hi - need;
    else { const mid = (lo + hi) / 2; lo = mid - need / 2; hi = mid + need / 2; }
  }
  const step = niceStep(hi - lo, 4);
  const decimals = Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9)));
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; lo + i * step <= hi + step / 2; i++) ticks.push(+(lo + i * step).toFixed(decimals));
  return { lo, hi, step, decimals, ticks };
}

const MIN = 60_000, HOUR = 3_600_000, DAY = 86_400_000;
const TIME_STEPS = [MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR,
  6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];
const two = (n) => String(n).padStart(2, "0");
const dayLabel = (d) => d.toLocaleDateString("en-GB", { day: "numeric", month: "short" });

// Ticks for a time axis over [t0, t1]: at most `count`, on whole local minutes, hours or days;
// labelled "14:30", and with the date ("6 Dec") at midnight or when the steps are days.
export function timeTicks(t0, t1, count = 6) {
  const step = TIME_STEPS.find((s) => (t1 - t0) / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  if (step < DAY) {
    // align on the local clock: the offset of t0's zone (a DST change shifts labels by an hour)
    const off = new Date(t0).getTimezoneOffset() * MIN;
    for (let t = Math.ceil((t0 - off) / step) * step + off; t <= t1; t += step) {
      const d = new Date(t);
      const midnight = d.getHours() === 0 && d.getMinutes() === 0;
      ticks.push([t, midnight ? dayLabel(d) : `${two(d.getHours())}:${two(d.getMinutes())}`]);
    }
  } else {
    const d = new Date(t0);
    d.setHours(0, 0, 0, 0);
    if (d.getTime() < t0) d.setDate(d.getDate() + 1);
    for (const days = step / DAY; d.getTime() <= t1; d.setDate(d.getDate() + days)) ticks.push([d.getTime(), dayLabel(d)]);
  }
  return ticks;
}

// The y axis: a grid line and a label per tick, the labels right-aligned left of the plot
// that starts at x = L and is pw wide.
export function yGrid(ctx, ticks, decimals, Y, L, pw) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#5d6b78";
  ctx.strokeStyle = "#e6ebf0";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of ticks) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
    ctx.fillText(v.toFixed(decimals), L - 6, y);
  }
}

export class Chart {
  // `xUnit` set: x is a number in that unit (e.g. SoC %), else a time in ms.
  // `zero`: the y axis always holds 0 (power); `minSpan`: the y axis is at least this wide
  // (default by unit, MIN_SPAN).
  constructor(container, { label, unit, color = "#1f6feb", digits = 0, min = null, max = null, zero = false, minSpan = null, xUnit = null, empty = "No data in this period" }) {
    this.opts = { label, unit, color, digits, min, max, zero, minSpan: minSpan ?? MIN_SPAN[unit] ?? 1, xUnit, empty };
    container.classList.add("chart");
    this.canvas = document.createElement("canvas");
    container.append(this.canvas);
    this.el = container;
    this.ts = [];
    this.values = [];
    this.range = null;
    this.pending = false;
    new ResizeObserver(() => this.draw()).observe(container);
  }

  setData(ts, values) { this.ts = ts; this.values = values; this.draw(); }

  append(t, v) {
    if (v === null || v === undefined) return;
    if (this.ts.length && t <= this.ts[this.ts.length - 1]) return;
    this.ts.push(t); this.values.push(v);
    this.draw();
  }

  setRange(t0, t1) { this.range = [t0, t1]; this.draw(); }

  draw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.paint(); });
  }

  paint() {
    const dpr = window.devicePixelRatio || 1, w = this.el.clientWidth, hgt = this.el.clientHeight;
    if (!w || !hgt) return;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hgt * dpr);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const { label, unit, color, digits } = this.opts;
    const L = 52, R = 22, T = 24, B = 22, pw = w - L - R, ph = hgt - T - B;
    ctx.font = "600 13px system-ui, sans-serif";
    ctx.fillStyle = "#17212b";
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.fillText(`${label} (${unit})`, 2, 14);
    const pts = [];
    for (let i = 0; i < this.ts.length; i++) if (this.values[i] !== null && this.values[i] !== undefined) pts.push([this.ts[i], Number(this.values[i])]);
    this.el.dataset.points = String(pts.length); // what is drawn, for tests and readers
    const [t0, t1] = this.range ?? (pts.length ? [pts[0][0], pts[pts.length - 1][0]] : this.opts.xUnit ? [0, 100] : [Date.now() - 3.6e6, Date.now()]);
    // Axes are drawn with or without data: an empty or all-zero chart still says what it shows.
    const { lo, hi, decimals, ticks } = yAxis(pts.map((p) => p[1]), this.opts);
    const X = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * pw, Y = (v) => T + ph - ((v - lo) / (hi - lo)) * ph;
    yGrid(ctx, ticks, decimals, Y, L, pw);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    let xLabels;
    if (this.opts.xUnit) {
      const xstep = niceStep(Math.max(t1 - t0, 1e-9), 6);
      xLabels = [];
      for (let x = Math.ceil(t0 / xstep) * xstep; x <= t1 + 1e-9; x += xstep) xLabels.push([x, `${+x.toFixed(3)} ${this.opts.xUnit}`]);
    } else {
      xLabels = timeTicks(t0, t1, Math.max(2, Math.floor(pw / 80)));
    }
    for (const [x, text] of xLabels) ctx.fillText(text, X(x), T + ph + 6);
    Object.assign(this.el.dataset, { x0: String(t0), x1: String(t1), yMin: String(lo), yMax: String(hi), yTicks: ticks.map((v) => v.toFixed(decimals)).join(" "), xTicks: xLabels.map((l) => l[1]).join("|") });
    if (!pts.length) {
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillStyle = "#5d6b78";
      ctx.textBaseline = "middle";
      ctx.fillText(this.opts.empty, L + pw / 2, T + ph / 2);
      return;
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(L, T - 2, pw, ph + 4); ctx.clip();
    ctx.beginPath();
    pts.forEach(([t, v], i) => (i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.lineJoin = "round";
    ctx.stroke();
    if (pts.length < 20) { // few points: show each one
      ctx.fillStyle = color;
      for (const [t, v] of pts) { ctx.beginPath(); ctx.arc(X(t), Y(v), 3, 0, 2 * Math.PI); ctx.fill(); }
    }
    ctx.restore();
    const last = pts[pts.length - 1][1];
    ctx.font = "600 13px system-ui, sans-serif";
    ctx.fillStyle = color;
    ctx.textAlign = "right";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(`${last.toFixed(digits)} ${unit}`, w - 4, 14);
  }
}
