// The operator's recall page (#/recalls, #/recalls/ID): campaigns with their completion; a new
// one defined by a filter (previewed before it is created: a filter matching nothing is shown
// with the server's warning); a campaign's affected vehicles with their completion, its
// progress over time as a plot, and the buttons that open its cases and remind the drivers.

import { get, post } from "./api.js";
import { localTime } from "./cases.js";
import { Chart } from "./chart.js";
import { dateTime, esc, num } from "./format.js";

const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
const pct = (done, total) => (total ? (100 * done) / total : 0);
const bar = (done, total) => `<span class="progress" title="${num(pct(done, total), 0)} %"><i style="width:${pct(done, total).toFixed(1)}%"></i></span>`;

function filterText(f) {
  const parts = [];
  if (f.models.length) parts.push(`model ${f.models.join(", ")}`);
  if (f.build_from || f.build_to) parts.push(`built ${f.build_from ?? "…"} to ${f.build_to ?? "…"}`);
  if (f.vin_from || f.vin_to) parts.push(`VIN ${f.vin_from ?? "…"} to ${f.vin_to ?? "…"}`);
  if (f.software_versions.length) parts.push(`${f.ecu ?? ""} software ${f.software_versions.join(", ")}`);
  if (f.hardware_variants.length) parts.push(`${f.ecu ?? ""} hardware ${f.hardware_variants.join(", ")}`);
  for (const [k, v] of Object.entries(f.attributes)) parts.push(`${k} = ${v}`);
  return parts.join("; ");
}

export function mount(main, recallId) {
  main.innerHTML = `
    <h1>Recalls</h1>
    <p class="sub">Field campaigns: the vehicles a filter covers, and each one done once a case of the campaign is resolved with its remedy.</p>
    <div class="grid cols-2">
      <section class="panel"><h2>Campaigns</h2><div id="rc-list"><p class="empty">Loading…</p></div></section>
      <section class="panel"><h2>New recall</h2>
        <form id="rc-form" class="form" novalidate>
          <label>Title <input type="text" name="title" maxlength="200" placeholder="Cell monitoring firmware"></label>
          <div class="form-row">
            <label>Remedy code <input type="text" name="remedy" maxlength="100" placeholder="BMS-FW-2.4" class="mono"></label>
            <label>Models (comma-separated) <input type="text" name="models"></label>
          </div>
          <div class="form-row">
            <label>Built from <input type="date" name="build_from"></label>
            <label>Built to <input type="date" name="build_to"></label>
          </div>
          <div class="form-row">
            <label>VIN from <input type="text" name="vin_from" maxlength="17" class="mono"></label>
            <label>VIN to <input type="text" name="vin_to" maxlength="17" class="mono"></label>
          </div>
          <div class="form-row">
            <label>ECU <input type="text" name="ecu" placeholder="BMS"></label>
            <label>Software versions <input type="text" name="software_versions"></label>
            <label>Hardware variants <input type="text" name="hardware_variants"></label>
          </div>
          <label>Description <textarea name="description" rows="2" maxlength="4000"></textarea></label>
          <div id="rc-preview"></div>
          <div class="toolbar"><button type="button" class="small" id="rc-preview-button">Preview</button><button type="submit" id="rc-create">Create recall</button></div>
        </form></section>
    </div>
    <section class="panel" id="rc-detail" style="margin-top:16px" ${recallId ? "" : "hidden"}><p class="empty">Loading…</p></section>`;
  const $ = (s) => main.querySelector(s);
  const form = $("#rc-form"), f = form.elements;
  let stopped = false;

  function filter() {
    const out = { models: list(f.models.value), software_versions: list(f.software_versions.value), hardware_variants: list(f.hardware_variants.value) };
    for (const k of ["build_from", "build_to", "vin_from", "vin_to", "ecu"]) {
      const value = f[k].value.trim();
      if (value) out[k] = k.startsWith("vin") ? value.toUpperCase() : value;
    }
    return out;
  }

  async function loadList() {
    try {
      const { recalls } = await get("/v1/recalls");
      if (stopped) return;
      $("#rc-list").innerHTML = recalls.length
        ? `<table id="rc-table"><thead><tr><th>Recall</th><th>Remedy</th><th class="num">Vehicles</th><th class="num">Done</th><th>Progress</th></tr></thead><tbody>${recalls.map((r) => `
            <tr class="clickable${r.id === recallId ? " selected" : ""}" data-recall="${esc(r.id)}"><td>${esc(r.title)}<div class="sub">${esc(dateTime(r.created_ms))}</div></td><td class="mono">${esc(r.remedy)}</td>
            <td class="num">${r.vehicles}</td><td class="num">${r.completed}</td><td>${bar(r.completed, r.vehicles)}</td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">No recalls yet: define one with the form.</p>`;
    } catch (e) {
      if (!stopped) $("#rc-list").innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  async function loadDetail() {
    if (!recallId) return;
    const box = $("#rc-detail"), id = encodeURIComponent(recallId);
    try {
      const [r, { vehicles }, { points }] = await Promise.all([get(`/v1/recalls/${id}`), get(`/v1/recalls/${id}/vehicles?limit=5000`), get(`/v1/recalls/${id}/progress`)]);
      if (stopped) return;
      box.dataset.recall = r.id;
      box.dataset.completed = String(r.completed);
      box.innerHTML = `
        <div class="toolbar"><h2 style="margin:0" id="rc-title">${esc(r.title)}</h2><span class="spacer"></span>
          <button class="small" id="rc-open-cases">Open cases</button><button class="small" id="rc-remind">Remind drivers</button></div>
        <p class="sub">${esc(filterText(r.filter))} · remedy <b class="mono">${esc(r.remedy)}</b>${r.fix ? ` · or ${esc(r.fix.ecu)} software <b class="mono">${esc(r.fix.version)}</b> or newer installed` : ""}${r.last_reminder_ms ? ` · last reminder ${esc(localTime(r.last_reminder_ms))}` : ""}</p>
        ${r.description ? `<p>${esc(r.description)}</p>` : ""}
        <p id="rc-summary"><b>${r.completed}</b> of <b>${r.vehicles}</b> vehicles done (${num(pct(r.completed, r.vehicles), 0)} %) ${bar(r.completed, r.vehicles)}</p>
        <div id="rc-done"></div>
        <div class="grid cols-2">
          <div id="rc-progress" style="height:220px"></div>
          <div id="rc-vehicles">${vehicles.length
            ? `<table id="rc-vehicle-table"><thead><tr><th>Vehicle</th><th>Done</th><th>Case</th><th class="num">Reminders</th></tr></thead><tbody>${vehicles.map((x) => `
                <tr data-vin="${esc(x.vin)}" data-done="${x.completed_ms !== null}"><td><a class="mono" href="#/diagnosis/${encodeURIComponent(x.vin)}">${esc(x.vin)}</a></td>
                <td>${x.completed_ms !== null ? `✓ ${esc(dateTime(x.completed_ms))}${x.completed_via === "software" ? ` <span class="sub">software installed</span>` : ""}` : `<span class="sub">not yet</span>`}</td>
                <td>${x.case_id ? `<a href="#/workbench/${encodeURIComponent(x.case_id)}">case</a>` : "—"}</td><td class="num">${x.reminders}</td></tr>`).join("")}</tbody></table>`
            : `<p class="empty">No vehicle matched the filter when the recall was created.</p>`}</div>
        </div>`;
      const chart = new Chart(box.querySelector("#rc-progress"), { label: "Vehicles done", unit: "%", color: "#1a9f4a", min: 0, max: 100, empty: "No days yet" });
      const day = 86_400_000;
      // a day's point at its end, so one day is a line from the campaign's start
      chart.setRange(r.created_ms, Math.max(Date.now(), r.created_ms + 3_600_000));
      chart.setData([r.created_ms, ...points.map((p) => Math.min(p.day_ms + day, Date.now()))], [0, ...points.map((p) => p.percent)]);
    } catch (e) {
      if (!stopped) box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  async function preview() {
    const el = $("#rc-preview");
    try {
      const p = await post("/v1/recalls/preview", filter());
      el.innerHTML = `<p class="preview" data-vehicles="${p.vehicles}"><b>${p.vehicles}</b> vehicle${p.vehicles === 1 ? "" : "s"} covered${p.vins.length ? `: <span class="mono">${esc(p.vins.slice(0, 8).join(", "))}${p.vins.length > 8 ? ", …" : ""}</span>` : ""}</p>${p.warnings.map((w) => `<p class="error warning">${esc(w)}</p>`).join("")}`;
    } catch (e) {
      el.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await post("/v1/recalls", { title: f.title.value.trim(), remedy: f.remedy.value.trim(), description: f.description.value.trim(), filter: filter() });
      form.reset();
      $("#rc-preview").innerHTML = "";
      location.hash = `#/recalls/${encodeURIComponent(r.id)}`;
    } catch (err) {
      $("#rc-preview").innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  $("#rc-preview-button").addEventListener("click", preview);
  $("#rc-list").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-recall]");
    if (row) location.hash = `#/recalls/${encodeURIComponent(row.dataset.recall)}`;
  });
  $("#rc-detail").addEventListener("click", async (e) => {
    const b = e.target.closest("#rc-open-cases, #rc-remind");
    if (!b) return;
    const id = encodeURIComponent(recallId);
    try {
      b.disabled = true;
      const { count } = await post(`/v1/recalls/${id}/${b.id === "rc-remind" ? "reminders" : "cases"}`);
      await loadDetail();
      $("#rc-done").innerHTML = `<p class="sub" id="rc-done-text">${b.id === "rc-remind" ? `${count} vehicle${count === 1 ? "" : "s"} reminded.` : `${count} case${count === 1 ? "" : "s"} opened.`}</p>`;
    } catch (err) {
      b.disabled = false;
      $("#rc-done").innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  loadList();
  loadDetail();
  return () => { stopped = true; };
}
