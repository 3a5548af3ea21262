// A time-series line chart on canvas: nice y ticks with the unit, clock times on x, an
// empty state when there is nothing to draw.

function niceStep(span, count) {
  const raw = span / Math.max(count, 1), p = 10 ** Math.floor(Math.log10(raw)), f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

export class Chart {
  // `xUnit` set: x is a number in that unit (e.g. SoC %), else a time in ms.
  constructor(container, { label, unit, color = "#1f6feb", digits = 0, min = null, max = null, xUnit = null, empty = "No data in this period" }) {
    this.opts = { label, unit, color, digits, min, max, xUnit, empty };
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
    const [t0, t1] = this.range ?? (pts.length ? [pts[0][0], pts[pts.length - 1][0]] : [Date.now() - 3.6e6, Date.now()]);
    if (!pts.length) {
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillStyle = "#5d6b78";
      ctx.textAlign = "center";
      ctx.fillText(this.opts.empty, L + pw / 2, T + ph / 2);
      return;
    }
    let lo = this.opts.min ?? Math.min(...pts.map((p) => p[1]));
    let hi = this.opts.max ?? Math.max(...pts.map((p) => p[1]));
    if (this.opts.min === null && this.opts.max === null && lo === hi) { lo -= 1; hi += 1; }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
    if (hi === lo) hi = lo + step;
    const X = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * pw, Y = (v) => T + ph - ((v - lo) / (hi - lo)) * ph;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#5d6b78";
    ctx.strokeStyle = "#e6ebf0";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = lo; v <= hi + step / 2; v += step) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
      ctx.fillText(v.toFixed(Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9)))), L - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    if (this.opts.xUnit) {
      const xstep = niceStep(t1 - t0, 6);
      for (let x = Math.ceil(t0 / xstep) * xstep; x <= t1 + 1e-9; x += xstep) ctx.fillText(`${+x.toFixed(3)} ${this.opts.xUnit}`, X(x), T + ph + 6);
    } else {
      const tstep = niceStep((t1 - t0) / 60000, 5) * 60000;
      for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1; t += tstep) {
        const d = new Date(t);
        const label = t1 - t0 > 2 * 86_400_000 ? d.toISOString().slice(5, 10) : `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
        ctx.fillText(label, X(t), T + ph + 6);
      }
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
