// Places: the named circles (home, depot, a charger) that drives and charges are tagged with,
// and the tariffs that price the energy charged there. Operators create, edit and delete them
// here (the /v1/places API); the server's reasons for refusing one are shown by the form.

import { get, request } from "./api.js";
import { esc, num } from "./format.js";

const WINDOW = /^(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})\s+(\d+(?:\.\d+)?)$/;

function tariffText(t) {
  if (!t) return "—";
  const windows = t.windows.map((w) => `${w.start}–${w.end} ${num(w.price_per_kwh, 2)}`).join(", ");
  return `${num(t.price_per_kwh, 2)} ${esc(t.currency)}/kWh${windows ? ` (${esc(windows)})` : ""}${t.timezone !== "UTC" ? `, ${esc(t.timezone)}` : ""}`;
}

export function mount(main) {
  main.innerHTML = `
    <h1>Places and tariffs</h1>
    <p class="sub">Drives and charges inside a place are tagged with its name; a tariff prices the energy charged there. A place of one vehicle wins over a fleet-wide one.</p>
    <div class="grid cols-2">
      <section class="panel"><h2>Places</h2><div id="p-list"><p class="empty">Loading…</p></div></section>
      <section class="panel"><h2 id="p-title">New place</h2>
        <form id="p-form" class="form" novalidate>
          <label>Name <input type="text" name="name" maxlength="100" placeholder="Depot"></label>
          <div class="form-row">
            <label>Latitude <input type="text" name="lat" inputmode="decimal" placeholder="60.1699"></label>
            <label>Longitude <input type="text" name="lon" inputmode="decimal" placeholder="24.9384"></label>
            <label>Radius m <input type="text" name="radius_m" inputmode="decimal" value="100"></label>
          </div>
          <label>Vehicle (VIN; empty: the whole fleet) <input type="text" name="vin" maxlength="17" class="mono"></label>
          <fieldset><legend><label><input type="checkbox" name="priced"> Tariff</label></legend>
            <div class="form-row">
              <label>Price per kWh <input type="text" name="price" inputmode="decimal" placeholder="0.25"></label>
              <label>Currency <input type="text" name="currency" maxlength="3" value="EUR"></label>
              <label>Time zone <input type="text" name="timezone" value="Europe/Helsinki"></label>
            </div>
            <label>Time-of-use windows, one a line: <span class="mono">22:00-07:00 0.08</span>
              <textarea name="windows" rows="3" class="mono"></textarea></label>
          </fieldset>
          <div id="p-error"></div>
          <div class="toolbar"><button type="submit" id="p-save">Create place</button>
            <button type="button" class="small" id="p-cancel" hidden>Cancel edit</button><span class="sub" id="p-done"></span></div>
        </form></section>
    </div>`;
  const $ = (s) => main.querySelector(s);
  const form = $("#p-form");
  const f = form.elements; // by input name (form.name would be the form's own name)
  let places = [], editing = null, stopped = false;

  async function load() {
    try {
      places = (await get("/v1/places")).places;
      if (stopped) return;
      $("#p-list").innerHTML = places.length
        ? `<table id="p-table"><thead><tr><th>Name</th><th>Where</th><th>For</th><th>Tariff</th><th></th></tr></thead><tbody>${places.map((p) => `
            <tr data-id="${esc(p.id)}"><td>${esc(p.name)}</td><td class="nowrap">${num(p.lat, 5)}, ${num(p.lon, 5)} · ${num(p.radius_m, 0)} m</td>
            <td>${p.vin ? `<a class="mono" href="#/vehicle/${encodeURIComponent(p.vin)}">${esc(p.vin)}</a>` : "fleet"}</td><td>${tariffText(p.tariff)}</td>
            <td class="nowrap"><button class="small" data-edit="${esc(p.id)}">Edit</button> <button class="small" data-delete="${esc(p.id)}">Delete</button></td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">No places yet: create one with the form.</p>`;
    } catch (e) {
      if (!stopped) $("#p-list").innerHTML = `<p class="error">Could not load places: ${esc(e.message)}</p>`;
    }
  }

  function fill(p) {
    editing = p;
    $("#p-title").textContent = p ? `Edit ${p.name}` : "New place";
    $("#p-save").textContent = p ? "Save changes" : "Create place";
    $("#p-cancel").hidden = !p;
    $("#p-error").innerHTML = "";
    form.reset();
    if (!p) return;
    f.name.value = p.name;
    f.lat.value = p.lat;
    f.lon.value = p.lon;
    f.radius_m.value = p.radius_m;
    f.vin.value = p.vin ?? "";
    f.priced.checked = Boolean(p.tariff);
    if (p.tariff) {
      f.price.value = p.tariff.price_per_kwh;
      f.currency.value = p.tariff.currency;
      f.timezone.value = p.tariff.timezone;
      f.windows.value = p.tariff.windows.map((w) => `${w.start}-${w.end} ${w.price_per_kwh}`).join("\n");
    }
  }

  // The form as the API's body; a line of windows that does not parse is refused here.
  function body() {
    const number = (v) => (v.trim() === "" ? null : Number(v.trim().replace(",", ".")));
    const b = {
      name: f.name.value.trim(), lat: number(f.lat.value), lon: number(f.lon.value),
      radius_m: number(f.radius_m.value), vin: f.vin.value.trim().toUpperCase() || null, tariff: null,
    };
    if (f.priced.checked) {
      const windows = [];
      for (const [i, line] of f.windows.value.split("\n").map((l) => l.trim()).entries()) {
        if (!line) continue;
        const m = WINDOW.exec(line);
        if (!m) throw new Error(`window line ${i + 1}: write it as 22:00-07:00 0.08 (start-end price), got “${line}”`);
        windows.push({ start: m[1], end: m[2], price_per_kwh: Number(m[3]) });
      }
      b.tariff = { price_per_kwh: number(f.price.value), currency: f.currency.value.trim().toUpperCase(), timezone: f.timezone.value.trim() || "UTC", windows };
    }
    return b;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#p-error").innerHTML = "";
    try {
      const b = body();
      const saved = editing
        ? await request(`/v1/places/${encodeURIComponent(editing.id)}`, { method: "PUT", body: b })
        : await request("/v1/places", { method: "POST", body: b });
      $("#p-done").textContent = `Saved ${saved.name}; ${saved.retagged} drives and charges re-tagged.`;
      fill(null);
      await load();
    } catch (err) {
      $("#p-error").innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  $("#p-cancel").addEventListener("click", () => fill(null));
  $("#p-list").addEventListener("click", async (e) => {
    const edit = e.target.closest("[data-edit]"), del = e.target.closest("[data-delete]");
    if (edit) fill(places.find((p) => p.id === edit.dataset.edit) ?? null);
    if (!del) return;
    if (!del.dataset.sure) { del.dataset.sure = "1"; del.textContent = "Delete for good"; return; }
    try {
      await request(`/v1/places/${encodeURIComponent(del.dataset.delete)}`, { method: "DELETE" });
      if (editing?.id === del.dataset.delete) fill(null);
      await load();
    } catch (err) {
      $("#p-error").innerHTML = `<p class="error">${esc(err.message)}</p>`;
    }
  });
  load();
  return () => { stopped = true; };
}
