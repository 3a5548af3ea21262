// The period a vehicle page shows: the last hour, 24 hours, 7 or 30 days (ending now and
// following the clock), or a chosen from–to; "older"/"newer" move it by its own length. The
// charts, the track and the timeline show it; drives and charges are listed newest first until
// a period is picked, then those in it.

import { esc } from "./format.js";

const HOUR = 3_600_000, DAY = 24 * HOUR;
export const PRESETS = [["1h", "1 h", HOUR], ["24h", "24 h", DAY], ["7d", "7 days", 7 * DAY], ["30d", "30 days", 30 * DAY]];

const two = (n) => String(n).padStart(2, "0");
// <input type="datetime-local"> speaks local time as "2026-12-06T08:41".
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}
const fromLocalInput = (text) => (text ? new Date(text).getTime() : NaN);

export class Period {
  // `el` receives the bar; `onChange(period)` is called on every change (not on the clock).
  constructor(el, onChange, { preset = "24h" } = {}) {
    this.el = el;
    this.onChange = onChange;
    this.span = PRESETS.find((p) => p[0] === preset)[2];
    this.end = null; // null: ends now and follows the clock
    this.preset = preset;
    this.explicit = false; // the user has picked a period
    el.innerHTML = `
      <div class="period toolbar" id="period">
        <b>Period</b>
        <span class="seg">${PRESETS.map(([id, label]) => `<button class="small" data-preset="${id}">${esc(label)}</button>`).join("")}</span>
        <label class="sub">from <input type="datetime-local" id="period-from"></label>
        <label class="sub">to <input type="datetime-local" id="period-to"></label>
        <button class="small" id="period-apply">Show</button>
        <span class="seg"><button class="small" id="period-older" title="the period before">‹ Older</button><button class="small" id="period-newer" title="the period after">Newer ›</button></span>
        <span class="sub" id="period-error"></span>
      </div>`;
    el.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.preset) this.choose(b.dataset.preset);
      else if (b.id === "period-older") this.shift(-1);
      else if (b.id === "period-newer") this.shift(1);
      else if (b.id === "period-apply") this.fromInputs();
    });
    el.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target.matches("input")) this.fromInputs(); });
    this.render();
  }

  get live() { return this.end === null; }

  // [start, end) in ms now.
  bounds() {
    const end = this.end ?? Date.now();
    return [end - this.span, end];
  }

  choose(preset) {
    this.preset = preset;
    this.span = PRESETS.find((p) => p[0] === preset)[2];
    this.end = null;
    this.changed();
  }

  shift(direction) {
    const [, end] = this.bounds();
    const next = end + direction * this.span;
    // moving past now comes back to the live period
    this.end = next >= Date.now() ? null : next;
    if (this.end !== null) this.preset = null;
    this.changed();
  }

  set(start, end) {
    if (!(start < end)) throw new Error("the period must end after it starts");
    this.span = end - start;
    this.end = end >= Date.now() ? null : end;
    this.preset = PRESETS.find((p) => p[2] === this.span && this.end === null)?.[0] ?? null;
    this.changed();
  }

  fromInputs() {
    const err = this.el.querySelector("#period-error");
    const start = fromLocalInput(this.el.querySelector("#period-from").value);
    const end = fromLocalInput(this.el.querySelector("#period-to").value);
    if (Number.isNaN(start) || Number.isNaN(end)) { err.textContent = "Give a start and an end."; return; }
    if (start >= end) { err.textContent = "The period must end after it starts."; return; }
    err.textContent = "";
    this.set(start, end);
  }

  changed() {
    this.explicit = true;
    this.render();
    this.onChange(this);
  }

  render() {
    const [start, end] = this.bounds();
    this.el.querySelectorAll("[data-preset]").forEach((b) => b.classList.toggle("active", this.live && b.dataset.preset === this.preset));
    this.el.querySelector("#period-from").value = toLocalInput(start);
    this.el.querySelector("#period-to").value = toLocalInput(end);
    this.el.querySelector("#period-newer").disabled = this.live;
    const box = this.el.querySelector("#period");
    box.dataset.start = String(start);
    box.dataset.end = String(end);
    box.dataset.live = String(this.live);
  }
}
