// A prediction's evidence as a plot: the points the rule saw, the line it fitted and the
// threshold it predicts the crossing of (dashed). x is a time (ms) or km, as the evidence says.
// `fitLine` is pure, so the line's ends can be checked without drawing.

import { timeTicks, yAxis, yGrid } from "./chart.js";
import { num } from "./format.js";

const DAY = 86_400_000, MINUTE = 60_000;

// The fitted line's two ends in the points' own x (ms or km), or null without a fit. The rules
// fit x in days (or km) before the newest point, in minutes after the first one on DC charging
// (volta.diagnostics.rules), so the line is anchored there.
export function fitLine(evidence) {
  const { fit, points, x_unit: xUnit } = evidence;
  if (!fit || points.length < 2) return null;
  const x0 = points[0][0], x1 = points[points.length - 1][0];
  const scale = xUnit === "day" ? DAY : xUnit === "minute" ? MINUTE : 1;
  const anchor = xUnit === "minute" ? x0 : x1;
  const y = (x) => fit.intercept + fit.slope * ((x - anchor) / scale);
  return [[x0, y(x0)], [x1, y(x1)]];
}

const UNITS = { Celsius: "°C", percent: "%" };

export function trendPlot(container, evidence, { color = "#1f6feb" } = {}) {
  const canvas = document.createElement("canvas");
  container.classList.add("chart", "trend");
  container.append(canvas);
  const unit = UNITS[evidence.unit] ?? evidence.unit;
  const line = fitLine(evidence);
  Object.assign(container.dataset, {
    points: String(evidence.points.length),
    fit: line ? "1" : "0",
    threshold: String(evidence.threshold),
  });
  const paint = () => {
    const dpr = window.devicePixelRatio || 1, w = container.clientWidth, hgt = container.clientHeight;
    if (!w || !hgt) return;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const L = 52, R = 16, T = 22, B = 22, pw = w - L - R, ph = hgt - T - B;
    const pts = evidence.points;
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillStyle = "#17212b";
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(`${evidence.signal} (${unit})`, 2, 13);
    if (!pts.length) return;
    const xs = pts.map((p) => p[0]);
    const t0 = Math.min(...xs), t1 = Math.max(...xs);
    const { lo, hi, decimals, ticks } = yAxis([...pts.map((p) => p[1]), evidence.threshold], { minSpan: 1 });
    const X = (x) => L + ((x - t0) / Math.max(t1 - t0, 1e-9)) * pw, Y = (v) => T + ph - ((v - lo) / (hi - lo)) * ph;
    yGrid(ctx, ticks, decimals, Y, L, pw);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xLabels = evidence.x_unit === "km"
      ? [[t0, `${num(t0, 0)} km`], [t1, `${num(t1, 0)} km`]]
      : timeTicks(t0, t1, Math.max(2, Math.floor(pw / 80)));
    for (const [x, text] of xLabels) ctx.fillText(text, X(x), T + ph + 6);
    // the threshold, dashed
    ctx.save();
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "#cf222e";
    const ty = Y(evidence.threshold);
    ctx.beginPath(); ctx.moveTo(L, ty); ctx.lineTo(L + pw, ty); ctx.stroke();
    ctx.restore();
    ctx.fillStyle = "#cf222e";
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(`limit ${num(evidence.threshold, 1)}`, L + pw, ty - 2);
    ctx.fillStyle = color;
    for (const [x, v] of pts) { ctx.beginPath(); ctx.arc(X(x), Y(v), 2.5, 0, 2 * Math.PI); ctx.fill(); }
    if (line) {
      ctx.strokeStyle = "#8250df";
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(X(line[0][0]), Y(line[0][1])); ctx.lineTo(X(line[1][0]), Y(line[1][1])); ctx.stroke();
    }
  };
  new ResizeObserver(() => requestAnimationFrame(paint)).observe(container);
}
