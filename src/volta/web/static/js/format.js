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

// A VSS gear as drivers read it. SelectedGear: 126 = Park, 127 = Drive; both: 0 = Neutral,
// 1, 2, … forward, -1, -2, … reverse (VSS 6.0). An EV's single forward gear reads "D".
export function gear(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "—" : String(v);
  if (v === 126) return "P";
  if (v === 127 || v === 1) return "D";
  if (v === 0) return "N";
  if (v === -1) return "R";
  return v < 0 ? `R${-v}` : `D${v}`;
}

// Booleans as the words that fit the signal: "locked", "connected", "on", else "yes"/"no".
const BOOL_WORDS = [
  [/\.IsLocked$/, "locked", "unlocked"],
  [/\.IsOpen$/, "open", "closed"],
  [/(Connected)$/, "connected", "not connected"],
  [/\.(IsSignaling|IsOn|IsActive|IsEngaged|IsRunning)$/, "on", "off"],
];
export function yesNo(path, v) {
  const [, on, off] = BOOL_WORDS.find(([re]) => re.test(path)) ?? [null, "yes", "no"];
  return v ? on : off;
}

// A number without float noise: whole numbers as they are, else 1–3 decimals by size.
export function plain(v) {
  if (Number.isInteger(v)) return v.toLocaleString("en-GB");
  const a = Math.abs(v), d = a >= 100 ? 1 : a >= 1 ? 2 : 3;
  return v.toLocaleString("en-GB", { maximumFractionDigits: d });
}

// One signal's value as text, for tables and tiles: gears as P/R/N/D, booleans as words,
// lists joined, numbers without float noise.
export function reading(path, value) {
  if (value === null || value === undefined) return "—";
  if (/\.Transmission\.(SelectedGear|CurrentGear)$/.test(path)) return gear(value);
  if (typeof value === "boolean") return yesNo(path, value);
  if (typeof value === "number") return plain(value);
  if (Array.isArray(value)) return value.length ? value.join(", ") : "none";
  return String(value);
}
