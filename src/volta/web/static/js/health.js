// Ingest health: throughput, rejects by reason, the quarantine browser, last seen per vehicle.

import { get } from "./api.js";
import { Chart } from "./chart.js";
import { age, clock, dateTime, esc, int, num } from "./format.js";
import { VirtualList } from "./vlist.js";

const WINDOW_MS = 10 * 60_000;

function byLabel(counters, name, label) {
  const out = {};
  for (const [key, value] of Object.entries(counters)) {
    const m = key.match(new RegExp(`^${name}\\{${label}=([^,}]*)\\}$`));
    if (m) out[m[1]] = value;
  }
  return out;
}

export function mount(main) {
  main.innerHTML = `
    <h1>Ingest health</h1>
    <p class="sub" id="health-sub">Loading…</p>
    <div class="tiles" id="tiles"></div>
    <div class="grid cols-2">
      <section class="panel"><h2>Throughput</h2><div id="c-rate" style="height:200px"></div></section>
      <section class="panel"><h2>Rejected by reason</h2><div id="rejects"></div></section>
    </div>
    <div class="grid cols-2" style="margin-top:16px">
      <section class="panel"><div class="toolbar"><h2 style="margin:0">Quarantine</h2><span class="spacer"></span>
          <input type="search" id="q-vin" placeholder="Filter by VIN" aria-label="Filter quarantine by VIN">
          <button class="small" id="q-refresh">Refresh</button></div>
        <div id="quarantine"></div>
        <div class="toolbar" style="margin-top:8px"><button class="small" id="q-newer" disabled>Newest</button><button class="small" id="q-older" disabled>Older</button></div></section>
      <section class="panel"><h2>Last seen per vehicle</h2>
        <div class="head" style="grid-template-columns:2fr 1fr 1.4fr"><span>VIN</span><span class="num">Last batch</span><span class="num">At (local time)</span></div>
        <div id="seen"></div><p class="empty" id="seen-empty" hidden>No vehicle has sent a batch since the server started.</p></section>
    </div>`;
  let stopped = false, timer = null, before = null, pages = [];
  const rate = new Chart(main.querySelector("#c-rate"), { label: "Stored samples", unit: "samples/s", color: "#1f6feb", min: 0 });
  const rateTs = [], rateV = [];
  let now = Date.now();
  const seen = new VirtualList(main.querySelector("#seen"), {
    renderRow: (r, i) => `<div class="row" data-i="${i}" style="grid-template-columns:2fr 1fr 1.4fr"><span class="mono">${r.vin}</span><span class="num">${age(now - r.ms)}</span><span class="num">${clock(r.ms)}</span></div>`,
    onClick: (r) => { location.hash = `#/vehicle/${r.vin}`; },
  });

  async function poll() {
    if (stopped) return;
    try {
      const hl = await get("/v1/ingest/health");
      now = Date.now();
      const c = hl.counters;
      const batches = byLabel(c, "volta_ingest_batches_total", "result");
      main.querySelector("#health-sub").textContent = `Updated ${new Date(now).toLocaleTimeString("en-GB", { hour12: false })}, every 2 s`;
      const tiles = [
        ["Samples stored", num(hl.samples_per_s, 0), "samples/s"],
        ["Batches stored", num(hl.batches_per_s, 1), "batches/s"],
        ["Stored samples", int(hl.stored_samples), "total"],
        ["Stored batches", int(hl.stored_batches), "total"],
        ["Duplicate batches", int(batches.duplicate ?? 0), "answered, not stored again"],
        ["Quarantined", int(hl.quarantined), "records"],
        ["Vehicles", int(hl.vehicles), "with stored data"],
        ["MQTT", hl.mqtt ? (hl.mqtt.connected ? "connected" : "down") : "off", hl.mqtt ? `${int(hl.mqtt.acked)} acked` : "HTTPS / in-process ingest"],
      ];
      main.querySelector("#tiles").innerHTML = tiles.map(([l, v, u]) => `<div class="count"><span>${l}</span><b>${v}</b><span>${u}</span></div>`).join("");
      rateTs.push(now); rateV.push(hl.samples_per_s);
      while (rateTs.length && rateTs[0] < now - WINDOW_MS) { rateTs.shift(); rateV.shift(); }
      rate.setData(rateTs.slice(), rateV.slice());
      rate.setRange(now - WINDOW_MS, now);
      // A sample refused alone counts under samples; a whole batch refused (bad VIN, clock
      // ahead, undecodable, ...) under records: both are reasons an operator must see.
      const samples = byLabel(c, "volta_ingest_samples_rejected_total", "reason");
      const records = byLabel(c, "volta_ingest_quarantined_total", "reason");
      const rejects = [...new Set([...Object.keys(samples), ...Object.keys(records)])]
        .map((r) => [r, samples[r] ?? 0, records[r] ?? 0]).filter(([, sv, rv]) => sv + rv > 0).sort((a, b) => b[2] - a[2] || b[1] - a[1]);
      const total = rejects.reduce((s, [, , rv]) => s + rv, 0);
      main.querySelector("#rejects").innerHTML = rejects.length
        ? `<table><thead><tr><th>Reason</th><th class="num">Samples</th><th class="num">Quarantined records</th><th style="width:30%">Share of records</th></tr></thead><tbody>${rejects.map(([r, sv, rv]) =>
            `<tr data-reason="${esc(r)}"><td class="mono">${esc(r)}</td><td class="num">${int(sv)}</td><td class="num">${int(rv)}</td><td><div class="bar"><i style="width:${(100 * rv / Math.max(total, 1)).toFixed(1)}%"></i></div></td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">Nothing has been rejected since the server started.</p>`;
      const rows = Object.entries(hl.last_seen_ms).map(([vin, ms]) => ({ vin, ms })).sort((a, b) => a.ms - b.ms);
      main.querySelector("#seen-empty").hidden = rows.length > 0;
      seen.setItems(rows);
    } catch (e) {
      if (!stopped) main.querySelector("#health-sub").innerHTML = `<span class="error">Could not load ingest health: ${esc(e.message)}</span>`;
    }
    if (!stopped) timer = setTimeout(poll, 2000);
  }

  async function quarantine(cursor) {
    const el = main.querySelector("#quarantine");
    const vin = main.querySelector("#q-vin").value.trim().toUpperCase();
    const q = new URLSearchParams({ limit: "25" });
    if (vin) q.set("vin", vin);
    if (cursor) q.set("before", String(cursor));
    try {
      const page = await get(`/v1/quarantine?${q}`);
      before = page.next_before;
      main.querySelector("#q-older").disabled = before === null;
      main.querySelector("#q-newer").disabled = !cursor;
      el.innerHTML = page.records.length
        ? `<table><thead><tr><th>Received</th><th>VIN</th><th>Code</th><th>Reason</th></tr></thead><tbody>${page.records.map((r) =>
            `<tr class="clickable" data-id="${r.id}"><td>${dateTime(r.received_ms)}</td><td class="mono">${esc(r.vin ?? "—")}</td><td class="mono">${esc(r.code)}</td><td>${esc(r.reason)}</td></tr>
             <tr hidden data-raw="${r.id}"><td colspan="4"><div class="sub" style="margin:0">seq ${r.seq ?? "—"}, sample ${r.sample_index ?? "—"}, signal ${esc(r.signal ?? "—")} — raw (${esc(r.raw_encoding)}):</div><pre class="raw">${esc(r.raw)}</pre></td></tr>`).join("")}</tbody></table>`
        : `<p class="empty">${vin ? `Nothing quarantined for ${esc(vin)}.` : "Nothing quarantined: every sample so far was valid."}</p>`;
    } catch (e) {
      el.innerHTML = `<p class="error">Could not load the quarantine: ${esc(e.message)}</p>`;
    }
  }
  main.querySelector("#quarantine").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-id]");
    if (row) { const raw = main.querySelector(`tr[data-raw="${row.dataset.id}"]`); raw.hidden = !raw.hidden; }
  });
  main.querySelector("#q-refresh").addEventListener("click", () => { pages = []; quarantine(null); });
  main.querySelector("#q-vin").addEventListener("change", () => { pages = []; quarantine(null); });
  main.querySelector("#q-older").addEventListener("click", () => { pages.push(before); quarantine(before); });
  main.querySelector("#q-newer").addEventListener("click", () => { pages = []; quarantine(null); });

  poll();
  quarantine(null);
  return () => { stopped = true; clearTimeout(timer); };
}
