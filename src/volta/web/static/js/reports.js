// Reports: distance, energy, charging and its cost per vehicle and per month (or week, day)
// for the fleet or one group, from GET /v1/stats/vehicles; the same table as a CSV file.

import { get, request } from "./api.js";
import { esc, num } from "./format.js";

const monthsAgo = (n) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 1)).toISOString().slice(0, 10);
};
const today = () => new Date().toISOString().slice(0, 10);
// The "to" date is the last day included: the query's end is the next day (UTC, as periods are).
const endOf = (day) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
const cost = (c) => Object.entries(c).map(([cur, v]) => `${num(v, 2)} ${esc(cur)}`).join(", ") || "—";

export function mount(main) {
  main.innerHTML = `
    <h1>Reports</h1>
    <p class="sub">Distance, energy and the cost of charging per vehicle and period (UTC), from the drives and charges that start in the range.</p>
    <section class="panel">
      <form class="toolbar" id="r-form">
        <label>By <select id="r-period"><option value="month">month</option><option value="week">week</option><option value="day">day</option></select></label>
        <label>From <input type="date" id="r-from" required></label>
        <label>To <input type="date" id="r-to" required></label>
        <label>Group <select id="r-group"><option value="">whole fleet</option></select></label>
        <button class="small" type="submit">Show</button>
        <span class="spacer"></span>
        <button class="small" type="button" id="r-csv">Download CSV</button>
      </form>
      <div id="r-error"></div>
      <h2 id="r-totals-title">Whole fleet</h2><div id="r-totals"></div>
      <h2 style="margin-top:16px">Per vehicle</h2><div id="r-rows"><p class="empty">Loading…</p></div>
    </section>`;
  const $ = (s) => main.querySelector(s);
  $("#r-from").value = monthsAgo(11);
  $("#r-to").value = today();
  let stopped = false;

  function params(format) {
    const q = new URLSearchParams({ period: $("#r-period").value, start: `${$("#r-from").value}T00:00:00Z`, end: endOf($("#r-to").value) });
    if ($("#r-group").value) q.set("group", $("#r-group").value);
    if (format) q.set("format", format);
    return q;
  }

  async function load() {
    $("#r-error").innerHTML = "";
    try {
      const body = await get(`/v1/stats/vehicles?${params()}`);
      if (stopped) return;
      const sel = $("#r-group"), chosen = sel.value;
      sel.innerHTML = `<option value="">whole fleet</option>` + body.groups.map((g) => `<option${g === chosen ? " selected" : ""}>${esc(g)}</option>`).join("");
      const fleetRows = body.totals;
      $("#r-totals-title").textContent = chosen ? `Group ${chosen}` : "Whole fleet";
      $("#r-totals").innerHTML = fleetRows.length
        ? `<table id="r-totals-table"><thead><tr><th>Period</th><th class="num">Drives</th><th class="num">Distance km</th><th class="num">Energy kWh</th><th class="num">Wh/km</th><th class="num">Charges</th><th class="num">Charged kWh</th><th class="num">Charging cost</th></tr></thead><tbody>${fleetRows.map((t) => `
            <tr><td>${new Date(t.start_ms).toISOString().slice(0, 10)}</td><td class="num">${t.drives}</td><td class="num">${num(t.distance_m / 1000, 1)}</td>
            <td class="num">${num(t.drive_energy_wh / 1000, 1)}</td><td class="num">${num(t.efficiency_wh_per_km, 0)}</td><td class="num">${t.charges}</td>
            <td class="num">${num(t.charge_energy_wh / 1000, 1)}</td><td class="num">${cost(t.charge_cost)}</td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">No drives or charges in this range.</p>`;
      $("#r-rows").innerHTML = body.rows.length
        ? `<table id="r-table"><thead><tr><th>Period</th><th>Vehicle</th><th>Group</th><th class="num">Drives</th><th class="num">Distance km</th><th class="num">Energy kWh</th><th class="num">Wh/km</th><th class="num">Charges</th><th class="num">Charged kWh</th><th class="num">Charging cost</th></tr></thead><tbody>${body.rows.map((r) => `
            <tr data-vin="${esc(r.vin)}"><td>${esc(r.period_start)}</td>
            <td><a href="#/vehicle/${encodeURIComponent(r.vin)}">${esc([r.names.name, r.names.plate].filter(Boolean).join(" · ") || r.vin)}</a></td><td>${esc(r.names.group ?? "")}</td>
            <td class="num">${r.stats.drives}</td><td class="num">${num(r.stats.distance_m / 1000, 1)}</td><td class="num">${num(r.stats.drive_energy_wh / 1000, 1)}</td>
            <td class="num">${num(r.stats.efficiency_wh_per_km, 0)}</td><td class="num">${r.stats.charges}</td><td class="num">${num(r.stats.charge_energy_wh / 1000, 1)}</td>
            <td class="num">${cost(r.stats.charge_cost)}</td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">No drives or charges in this range.</p>`;
    } catch (e) {
      if (!stopped) $("#r-error").innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  // The file comes with the credential in a header, so it is fetched and saved from a blob
  // under the name the server gives it.
  async function download() {
    try {
      const res = await request(`/v1/stats/vehicles?${params("csv")}`, { raw: true });
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "volta-report.csv";
      const url = URL.createObjectURL(await res.blob());
      const a = Object.assign(document.createElement("a"), { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      $("#r-error").innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }
  $("#r-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("#r-csv").addEventListener("click", download);
  load();
  return () => { stopped = true; };
}
