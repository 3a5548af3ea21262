// Service cases as the workbench, the diagnosis page and the driver's service page show them:
// states in words, SLA deadlines with overdue marked, appointments and slots as local times.

import { esc } from "./format.js";

export const STATE_WORDS = {
  open: "open", triaged: "triaged", appointment_booked: "appointment booked", in_service: "in service",
  resolved: "resolved", no_fault_found: "no fault found", cancelled: "cancelled",
};
// Buttons for the moves a person makes (booking is done with a slot, not a button).
export const MOVE_WORDS = {
  triaged: "Triage", in_service: "Start service", resolved: "Resolve", no_fault_found: "No fault found",
  cancelled: "Cancel case",
};

export const statePill = (s) => `<span class="pill case-${esc(s)}" data-state="${esc(s)}">${esc(STATE_WORDS[s] ?? s)}</span>`;
export const sevPill = (s) => `<span class="pill sev-${esc(s)}">${esc(s)}</span>`;

// "in 3 h", "2 d ago": how far a deadline is from now.
export function relative(ms, now = Date.now()) {
  const d = ms - now, a = Math.abs(d);
  const text = a < 3_600_000 ? `${Math.max(1, Math.round(a / 60_000))} min` : a < 172_800_000 ? `${Math.round(a / 3_600_000)} h` : `${Math.round(a / 86_400_000)} d`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

// The next SLA deadline, red and marked when it has passed.
export function dueCell(c, now = Date.now()) {
  if (c.sla.due_ms === null) return "—";
  const over = c.sla.overdue.length > 0;
  const what = c.state === "open" ? "triage" : "repair";
  return `<span class="due${over ? " overdue" : ""}" title="${esc(what)} due ${esc(localTime(c.sla.due_ms))}">${over ? `<b class="overdue-mark">overdue</b> ${esc(c.sla.overdue.join(", "))} · ` : ""}${esc(what)} ${esc(relative(c.sla.due_ms, now))}</span>`;
}

export function localTime(ms) {
  return new Date(ms).toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false });
}
