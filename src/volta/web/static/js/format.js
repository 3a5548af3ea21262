// Numbers, units and times as people read them.

export function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return Number(v).toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function int(v) { return num(v, 0); }

export function age(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "never";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}

export function dateTime(ms) {
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 10)} ${d.toLocaleTimeString("en-GB", { hour12: false })}`;
}

// A start time in a table: the clock today, else the date too.
export function when(ms) {
  const d = new Date(ms), hm = d.toLocaleTimeString("en-GB", { hour12: false, hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? hm : `${d.toLocaleDateString("en-GB", { day: "numeric", month: "short" })} ${hm}`;
}

// VSS units as shown next to a value.
const UNITS = { percent: "%", degrees: "°", Celsius: "°C", "m/s^2": "m/s²" };
export const unit = (u) => (u ? UNITS[u] ?? u : "");

export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export const STATES = ["driving", "charging", "parked", "asleep", "offline", "never seen"];
export const STATE_COLORS = { driving: "#1f6feb", charging: "#1a9f4a", parked: "#7d8b99", asleep: "#6e5bc4", offline: "#cf222e", "never seen": "#d0d7de", "no data": "#eaeef2" };
// A vehicle is awake while it spoke in the last 5 minutes (as the server's fleet states).
export const AWAKE_MS = 5 * 60_000;

export function socColor(soc) {
  if (soc === null || soc === undefined) return "#7d8b99";
  if (soc < 20) return "#cf222e";
  if (soc < 50) return "#d4a72c";
  return "#1a9f4a";
}

export function h(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}
