// Alerts: the log of every alert from raised to cleared, filtered by state and time, paged;
// operators acknowledge an alert with an optional note (the fleet page's panel uses the same
// rows and buttons).

import { get, post } from "./api.js";
import { dateTime, esc } from "./format.js";
import { label, vehicleNames } from "./names.js";

const SEVERITIES = ["critical", "warning"];
const PAGE = 50;

// The acknowledgement cell: who, when and the note, or a button.
export function ackCell(a) {
  if (a.acknowledged) {
    const k = a.acknowledged;
    return `<span class="acked" title="${esc(dateTime(k.ms))}">✓ ${esc(k.by)}, ${esc(dateTime(k.ms))}${k.note ? ` — <i>${esc(k.note)}</i>` : ""}</span>`;
  }
  return `<button class="small" data-ack="${a.id}">Acknowledge</button>`;
}

// Clicks on "Acknowledge" in `el`: a note field and a confirm button in place, then
// POST /v1/alerts/{id}/ack and `done()` (to re-render); a refusal is shown in place.
export function bindAcks(el, done) {
  el.addEventListener("click", async (e) => {
    const start = e.target.closest("button[data-ack]");
    if (start) {
      e.stopPropagation();
      const cell = start.parentElement;
      cell.innerHTML = `<form class="ack-form" data-id="${start.dataset.ack}">
        <input type="text" name="note" maxlength="500" placeholder="Note (optional)" aria-label="Note">
        <button class="small" type="submit">Confirm</button> <button class="small" type="button" data-cancel>Cancel</button></form>`;
      cell.querySelector("input").focus();
      return;
    }
    if (e.target.closest("[data-cancel]")) { e.stopPropagation(); done(); return; }
    if (e.target.closest(".ack-form")) e.stopPropagation();
  });
  el.addEventListener("submit", async (e) => {
    const form = e.target.closest(".ack-form");
    if (!form) return;
    e.preventDefault();
    const note = form.note.value.trim();
    try {
      await post(`/v1/alerts/${form.dataset.id}/ack`, note ? { note } : {});
      done();
    } catch (err) {
      form.insertAdjacentHTML("beforeend", `<p class="error">${esc(err.message)}</p>`);
    }
  });
}

const STATE_CHOICES = {
  open: ["active", "acknowledged"],
  active: ["active"],
  acknowledged: ["acknowledged"],
  cleared: ["cleared"],
  all: ["active", "acknowledged", "cleared"],
};

// A date input (local day) as ISO-8601: the start of that day, or of the next for "to".
const dayStart = (value, plus = 0) => {
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + plus);
  return d.toISOString();
};

export function mount(main) {
  main.innerHTML = `
    <h1>Alerts</h1>
    <p class="sub" id="alerts-sub">Every alert from when it was raised until it cleared, and who acknowledged it.</p>
    <section class="panel">
      <form class="toolbar" id="a-filters">
        <label>State <select id="a-state">
          <option value="open">open</option><option value="active">active</option>
          <option value="acknowledged">acknowledged</option><option value="cleared">cleared</option>
          <option value="all">all</option></select></label>
        <label>Severity <select id="a-severity"><option value="">any</option>
          ${SEVERITIES.map((s) => `<option>${s}</option>`).join("")}</select></label>
        <label>From <input type="date" id="a-from"></label>
        <label>To <input type="date" id="a-to"></label>
        <button class="small" type="submit">Show</button>
        <span class="spacer"></span><span class="alert-counts" id="a-counts"></span>
      </form>
      <div id="a-list"><p class="empty">Loading alerts…</p></div>
      <div class="toolbar" style="margin-top:8px"><button class="small" id="a-newest" disabled>Newest</button>
        <button class="small" id="a-older" disabled>Older</button><span class="sub" id="a-page"></span></div>
    </section>`;
  let stopped = false, cursor = null, next = null, shown = 0;
  const $ = (s) => main.querySelector(s);

  async function load() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const s of STATE_CHOICES[$("#a-state").value]) q.append("state", s);
    if ($("#a-severity").value) q.set("severity", $("#a-severity").value);
    if ($("#a-from").value) q.set("from", dayStart($("#a-from").value));
    if ($("#a-to").value) q.set("to", dayStart($("#a-to").value, 1));
    if (cursor) q.set("before", cursor);
    const listEl = $("#a-list");
    try {
      const [body, names] = await Promise.all([get(`/v1/alerts?${q}`), vehicleNames()]);
      if (stopped) return;
      next = body.next_before;
      $("#a-older").disabled = !next;
      $("#a-newest").disabled = !cursor;
      $("#a-counts").innerHTML = SEVERITIES.map((s) => `<span class="pill sev-${s}" data-severity="${s}">${body.counts[s] ?? 0} ${s}</span>`).join(" ");
      $("#a-page").textContent = body.total ? `${shown + 1}–${shown + body.alerts.length} of ${body.total.toLocaleString("en-GB")}` : "";
      listEl.innerHTML = body.alerts.length
        ? `<table><thead><tr><th>Severity</th><th>Vehicle</th><th>Alert</th><th>Raised</th><th>Cleared</th><th>Acknowledged</th></tr></thead><tbody>${body.alerts.map((a) => `
            <tr data-id="${a.id}" data-state="${esc(a.state)}" data-vin="${esc(a.vin)}" data-kind="${esc(a.kind)}"><td><span class="pill sev-${esc(a.severity)}">${esc(a.severity)}</span></td>
            <td><a href="#/vehicle/${encodeURIComponent(a.vin)}">${esc(label(names.get(a.vin), a.vin))}</a></td>
            <td>${esc(a.message)}</td><td class="nowrap">${esc(dateTime(a.raised_ms))}</td>
            <td class="nowrap">${a.cleared_ms === null ? `<span class="live-pill on">open</span>` : esc(dateTime(a.cleared_ms))}</td>
            <td class="ack">${ackCell(a)}</td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">No alerts match.</p>`;
    } catch (e) {
      if (!stopped) listEl.innerHTML = `<p class="error">Could not load alerts: ${esc(e.message)}</p>`;
    }
  }
  $("#a-filters").addEventListener("submit", (e) => { e.preventDefault(); cursor = null; shown = 0; load(); });
  $("#a-state").addEventListener("change", () => { cursor = null; shown = 0; load(); });
  $("#a-older").addEventListener("click", () => { shown += PAGE; cursor = next; load(); });
  $("#a-newest").addEventListener("click", () => { cursor = null; shown = 0; load(); });
  bindAcks($("#a-list"), load);
  load();
  return () => { stopped = true; };
}
