// The driver's service page (#/service/VIN): the car's health (active trouble codes and
// predictions), its open cases, and a workshop appointment booked, moved or cancelled per case.
// A slot someone else took meanwhile answers 409 with the next free ones: they are offered in
// place, one click books one.

import { ApiError, get, post, request } from "./api.js";
import { localTime, statePill } from "./cases.js";
import { esc } from "./format.js";

const BOOKABLE = new Set(["open", "triaged", "in_service"]);

function slotButtons(slots, attr) {
  return slots.length
    ? `<div class="slots">${slots.map((s) => `<button class="small" ${attr}="${s.start_ms}">${esc(localTime(s.start_ms))}</button>`).join("")}</div>`
    : `<p class="empty">No free slot in the coming days.</p>`;
}

export function mount(main, vin) {
  const v = encodeURIComponent(vin);
  main.innerHTML = `
    <a class="back" href="#/vehicle/${v}">← Vehicle</a>
    <div class="toolbar"><h1 class="mono" style="font-size:22px">${esc(vin)}</h1><span class="sub" style="margin:0">service</span></div>
    <div id="svc-error"></div>
    <div class="grid cols-2">
      <section class="panel"><h2>Health</h2><div id="svc-health"><p class="empty">Loading…</p></div></section>
      <section class="panel"><h2>Open cases</h2><div id="svc-cases"><p class="empty">Loading…</p></div></section>
    </div>`;
  const $ = (s) => main.querySelector(s);
  let stopped = false, workshops = [];

  async function health() {
    try {
      const d = await get(`/v1/vehicles/${v}/diagnostics`);
      if (stopped) return;
      const codes = d.codes.filter((c) => c.active), preds = d.predictions.filter((p) => p.active);
      const items = [
        ...codes.map((c) => `<li data-code="${esc(c.code)}"><span class="pill sev-critical">code</span> <b class="mono">${esc(c.code)}</b> ${esc(c.description ?? "a trouble code the car reported")}</li>`),
        ...preds.map((p) => `<li data-prediction="${esc(p.kind)}"><span class="pill sev-warning">soon</span> ${esc(p.message)}${p.eta_ms ? ` <span class="sub">(about ${esc(localTime(p.eta_ms))})</span>` : ""}</li>`),
      ];
      $("#svc-health").innerHTML = items.length
        ? `<ul class="health-list" id="svc-issues">${items.join("")}</ul>`
        : `<p class="ok-note" id="svc-ok">✓ No problems found: no trouble codes, nothing predicted.</p>`;
    } catch (e) {
      if (!stopped) $("#svc-health").innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  function caseBox(c) {
    const appt = c.appointments.find((a) => a.state === "booked");
    const ws = (id) => workshops.find((w) => w.id === id)?.name ?? id;
    let body;
    if (appt) {
      body = `<p class="booked" data-appointment="${esc(appt.id)}" data-start="${appt.start_ms}">Booked: <b>${esc(localTime(appt.start_ms))}</b> at ${esc(ws(appt.workshop_id))}</p>
        <div class="toolbar"><button class="small" data-move="${esc(appt.id)}">Move</button><button class="small" data-cancel="${esc(appt.id)}">Cancel appointment</button></div>`;
    } else if (BOOKABLE.has(c.state) && workshops.length) {
      body = `<div class="toolbar"><label>Workshop <select data-workshop>${workshops.map((w) => `<option value="${esc(w.id)}">${esc(w.name)}</option>`).join("")}</select></label></div>`;
    } else {
      body = workshops.length ? "" : `<p class="sub">No workshop takes bookings for this car yet.</p>`;
    }
    return `<div class="svc-case" data-case="${esc(c.id)}" data-state="${esc(c.state)}">
      <div class="toolbar"><b>${esc(c.title)}</b><span class="spacer"></span>${statePill(c.state)}</div>
      ${body}<div class="slots-box"></div><div class="case-error"></div></div>`;
  }

  async function cases() {
    try {
      const [{ cases: open }, ws] = await Promise.all([get(`/v1/vehicles/${v}/cases`), get("/v1/workshops")]);
      workshops = ws.workshops;
      const detail = await Promise.all(open.map((c) => get(`/v1/cases/${encodeURIComponent(c.id)}`)));
      if (stopped) return;
      $("#svc-cases").innerHTML = detail.length ? detail.map(caseBox).join("") : `<p class="empty">No open cases: nothing to book.</p>`;
      $("#svc-cases").querySelectorAll("select[data-workshop]").forEach((sel) => showSlots(sel.closest(".svc-case"), sel.value, "data-book"));
    } catch (e) {
      if (stopped) return;
      const why = e instanceof ApiError && e.status === 403 ? `You may not see the service of vehicle ${vin}.` : e.message;
      $("#svc-error").innerHTML = `<p class="error">${esc(why)}</p>`;
      $("#svc-cases").innerHTML = "";
    }
  }

  async function showSlots(box, workshopId, attr) {
    box.dataset.workshop = workshopId;
    const el = box.querySelector(".slots-box");
    try {
      const { slots } = await get(`/v1/workshops/${encodeURIComponent(workshopId)}/slots?limit=8`);
      el.innerHTML = `<p class="sub">Free slots:</p>${slotButtons(slots, attr)}`;
    } catch (e) {
      el.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  // A taken slot: the reason, and the next free ones the server named, to book with a click.
  function refused(box, err, attr) {
    const free = err instanceof ApiError && err.status === 409 ? err.body?.next_free ?? [] : [];
    box.querySelector(".case-error").innerHTML = `<p class="error">${esc(err.message)}</p>${free.length ? `<div class="alternatives"><p class="sub">Free instead:</p>${slotButtons(free, attr)}</div>` : ""}`;
    box.querySelector(".slots-box").innerHTML = "";
  }

  $("#svc-cases").addEventListener("change", (e) => {
    const sel = e.target.closest("select[data-workshop]");
    if (sel) showSlots(sel.closest(".svc-case"), sel.value, "data-book");
  });
  $("#svc-cases").addEventListener("click", async (e) => {
    const b = e.target.closest("button");
    const box = b?.closest(".svc-case");
    if (!b || !box) return;
    const caseId = box.dataset.case;
    try {
      if (b.dataset.book) {
        b.disabled = true;
        try {
          await post("/v1/appointments", { case_id: caseId, workshop_id: box.dataset.workshop, start_ms: Number(b.dataset.book) });
        } catch (err) { refused(box, err, "data-book"); return; }
      } else if (b.dataset.move) {
        const appt = box.querySelector("[data-appointment]");
        box.dataset.appointment = b.dataset.move;
        const c = await get(`/v1/cases/${encodeURIComponent(caseId)}`);
        const a = c.appointments.find((x) => x.id === b.dataset.move);
        await showSlots(box, a.workshop_id, "data-to");
        appt?.classList.add("moving");
        return;
      } else if (b.dataset.to) {
        b.disabled = true;
        try {
          await post(`/v1/appointments/${encodeURIComponent(box.dataset.appointment)}/move`, { start_ms: Number(b.dataset.to) });
        } catch (err) { refused(box, err, "data-to"); return; }
      } else if (b.dataset.cancel) {
        if (!b.dataset.sure) { b.dataset.sure = "1"; b.textContent = "Cancel for good"; return; }
        await request(`/v1/appointments/${encodeURIComponent(b.dataset.cancel)}`, { method: "DELETE" });
      } else {
        return;
      }
      await cases();
    } catch (err) {
      box.querySelector(".case-error").innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  health();
  cases();
  return () => { stopped = true; };
}
