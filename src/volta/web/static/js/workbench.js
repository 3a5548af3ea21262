// The technician's workbench: the case queue of their organisation (operators: every case),
// the next SLA deadline first with overdue cases marked; a case opened beside it with its
// history, notes, parts and labour lines, appointments and the moves allowed now as buttons.

import { get, post } from "./api.js";
import { dueCell, localTime, MOVE_WORDS, sevPill, STATE_WORDS, statePill } from "./cases.js";
import { dateTime, esc, num } from "./format.js";

const EVENT_WORDS = { opened: "opened", alert: "alert again", transition: "moved", note: "note", line: "line", appointment: "appointment" };

// What happened, in words: a move names the states ("moved open → triaged").
function eventWords(e) {
  const d = e.detail ?? {};
  if (e.kind === "transition" && d.to) return `moved ${STATE_WORDS[d.from] ?? d.from} → ${STATE_WORDS[d.to] ?? d.to}${d.remedy ? ` (remedy ${d.remedy})` : ""}`;
  return EVENT_WORDS[e.kind] ?? e.kind;
}

export function mount(main, caseId) {
  main.innerHTML = `
    <h1>Workbench</h1>
    <p class="sub" id="wb-sub">Open cases, the next SLA deadline first.</p>
    <div class="grid wb-grid">
      <section class="panel"><div class="toolbar"><h2 style="margin:0">Queue</h2><span class="spacer"></span>
          <label><input type="checkbox" id="wb-overdue"> overdue only</label><button class="small" id="wb-refresh">Refresh</button></div>
        <div id="wb-queue"><p class="empty">Loading cases…</p></div></section>
      <section class="panel" id="wb-case"><p class="empty">Open a case from the queue.</p></section>
    </div>`;
  const $ = (s) => main.querySelector(s);
  let stopped = false, timer = null;

  async function loadQueue() {
    const q = new URLSearchParams({ limit: "200" });
    if ($("#wb-overdue").checked) q.set("overdue", "true");
    try {
      const { cases } = await get(`/v1/cases?${q}`);
      if (stopped) return;
      const now = Date.now();
      const over = cases.filter((c) => c.sla.overdue.length).length;
      $("#wb-sub").textContent = `${cases.length} open case${cases.length === 1 ? "" : "s"}${over ? `, ${over} overdue` : ""}; the next SLA deadline first.`;
      $("#wb-queue").innerHTML = cases.length
        ? `<table id="wb-table"><thead><tr><th>Due</th><th>Severity</th><th>Vehicle</th><th>Problem</th><th>State</th><th class="num">Alerts</th></tr></thead><tbody>${cases.map((c) => `
            <tr class="clickable${c.id === caseId ? " selected" : ""}${c.sla.overdue.length ? " is-overdue" : ""}" data-case="${esc(c.id)}" data-vin="${esc(c.vin)}" data-key="${esc(c.problem_key)}">
            <td class="nowrap">${dueCell(c, now)}</td><td>${sevPill(c.severity)}</td>
            <td><a class="mono" href="#/diagnosis/${encodeURIComponent(c.vin)}">${esc(c.vin)}</a></td>
            <td>${esc(c.title)}<div class="sub mono">${esc(c.problem_key)}</div></td><td>${statePill(c.state)}</td>
            <td class="num">${c.alert_count}</td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">${$("#wb-overdue").checked ? "No overdue cases." : "No open cases: nothing waits for you."}</p>`;
    } catch (e) {
      if (!stopped) $("#wb-queue").innerHTML = `<p class="error">Could not load the queue: ${esc(e.message)}</p>`;
    }
  }

  async function loadCase() {
    const box = $("#wb-case");
    if (!caseId) return;
    try {
      const c = await get(`/v1/cases/${encodeURIComponent(caseId)}`);
      if (stopped) return;
      box.dataset.case = c.id;
      box.dataset.state = c.state;
      const booked = c.appointments.filter((a) => a.state === "booked");
      box.innerHTML = `
        <div class="toolbar"><h2 style="margin:0" id="wb-title">${esc(c.title)}</h2><span class="spacer"></span>${sevPill(c.severity)} ${statePill(c.state)}</div>
        <p class="sub"><a class="mono" href="#/diagnosis/${encodeURIComponent(c.vin)}">${esc(c.vin)}</a> · <span class="mono">${esc(c.problem_key)}</span> · opened ${esc(dateTime(c.opened_ms))} by ${esc(c.opened_by)} (${esc(c.source)})${c.alert_count ? ` · ${c.alert_count} alert${c.alert_count === 1 ? "" : "s"}` : ""}</p>
        <p class="sla">SLA: triage by ${esc(localTime(c.sla.triage_due_ms))}, repair by ${esc(localTime(c.sla.repair_due_ms))} · ${dueCell(c)}</p>
        <div id="wb-moves" class="toolbar">${c.allowed_transitions.length
          ? `${c.allowed_transitions.map((s) => `<button class="small" data-to="${esc(s)}">${esc(MOVE_WORDS[s] ?? s)}</button>`).join(" ")}
             <input type="text" id="wb-move-note" maxlength="4000" placeholder="Note with the move (optional)" aria-label="Note with the move">
             <input type="text" id="wb-remedy" maxlength="100" placeholder="Remedy code (when resolving)" aria-label="Remedy code">`
          : `<span class="sub">Closed${c.remedy ? ` with remedy <b>${esc(c.remedy)}</b>` : ""}: no moves left.</span>`}</div>
        <div id="wb-error"></div>
        ${booked.length ? `<h3>Appointment</h3><ul id="wb-appointments">${booked.map((a) => `<li>${esc(localTime(a.start_ms))} – ${esc(new Date(a.end_ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }))}, bay ${a.bay} (booked by ${esc(a.booked_by)})</li>`).join("")}</ul>` : ""}
        <h3>Parts and labour</h3>
        <div id="wb-lines">${c.lines.length
          ? `<table><thead><tr><th>Kind</th><th>Description</th><th>Part number</th><th class="num">Quantity</th><th>By</th></tr></thead><tbody>${c.lines.map((l) => `
              <tr><td>${esc(l.kind)}</td><td>${esc(l.description)}</td><td class="mono">${esc(l.part_number ?? "")}</td><td class="num">${num(l.quantity, l.kind === "labour" ? 1 : 0)}${l.kind === "labour" ? " h" : ""}</td><td>${esc(l.actor)}</td></tr>`).join("")}</tbody></table>`
          : `<p class="empty">No parts or labour yet.</p>`}</div>
        <form id="wb-line-form" class="toolbar">
          <select name="kind" aria-label="Kind"><option value="part">part</option><option value="labour">labour (h)</option></select>
          <input type="text" name="description" maxlength="500" placeholder="Description" aria-label="Description" required>
          <input type="text" name="part_number" maxlength="100" placeholder="Part number" aria-label="Part number" class="mono" style="width:9em">
          <input type="text" name="quantity" inputmode="decimal" value="1" aria-label="Quantity" style="width:4em">
          <button class="small" type="submit">Add line</button></form>
        <h3>History</h3>
        <ol class="history" id="wb-history">${c.events.map((e) => `
          <li data-kind="${esc(e.kind)}"><span class="nowrap sub">${esc(dateTime(e.ts_ms))}</span> <b>${esc(e.actor)}</b> <span class="sub">(${esc(e.role)})</span> ${esc(eventWords(e))}${e.text ? `: ${esc(e.text)}` : ""}</li>`).join("")}</ol>
        <form id="wb-note-form" class="toolbar">
          <input type="text" name="text" maxlength="4000" placeholder="Add a note" aria-label="Note" required style="flex:1">
          <button class="small" type="submit">Add note</button></form>`;
    } catch (e) {
      if (!stopped) box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  const fail = (e) => { const el = $("#wb-error"); if (el) el.innerHTML = `<p class="error">${esc(e.message)}</p>`; };
  const refresh = () => Promise.all([loadQueue(), loadCase()]);

  $("#wb-case").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-to]");
    if (!b) return;
    const body = { to: b.dataset.to };
    const note = $("#wb-move-note").value.trim(), remedy = $("#wb-remedy").value.trim();
    if (note) body.note = note;
    if (remedy && b.dataset.to === "resolved") body.remedy = remedy;
    b.disabled = true;
    try { await post(`/v1/cases/${encodeURIComponent(caseId)}/transitions`, body); await refresh(); } catch (err) { b.disabled = false; fail(err); }
  });
  $("#wb-case").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      if (f.id === "wb-note-form") {
        await post(`/v1/cases/${encodeURIComponent(caseId)}/notes`, { text: f.text.value.trim() });
      } else if (f.id === "wb-line-form") {
        const quantity = Number(f.quantity.value.trim().replace(",", "."));
        const body = { kind: f.kind.value, description: f.description.value.trim(), quantity };
        if (f.part_number.value.trim()) body.part_number = f.part_number.value.trim();
        await post(`/v1/cases/${encodeURIComponent(caseId)}/lines`, body);
      }
      await refresh();
    } catch (err) { fail(err); }
  });
  $("#wb-queue").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-case]");
    if (row && !e.target.closest("a")) location.hash = `#/workbench/${encodeURIComponent(row.dataset.case)}`;
  });
  $("#wb-overdue").addEventListener("change", loadQueue);
  $("#wb-refresh").addEventListener("click", loadQueue);
  refresh();
  timer = setInterval(loadQueue, 30_000); // new cases open from alerts while the page is open
  return () => { stopped = true; clearInterval(timer); };
}
