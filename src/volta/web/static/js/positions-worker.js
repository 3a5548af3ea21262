// Fetches and parses /v1/fleet/positions off the main thread (700 KB of JSON for 10,000
// vehicles) and hands the columns over as transferred typed arrays (NaN = no value).

let lastVins = "";

self.onmessage = async (e) => {
  const { token } = e.data;
  let res;
  try {
    res = await fetch("/v1/fleet/positions", { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    self.postMessage({ error: { status: 0, message: "Volta is not reachable: check that the server is running." } });
    return;
  }
  if (!res.ok) {
    let body = {};
    try { body = await res.json(); } catch { /* not JSON */ }
    self.postMessage({ error: { status: res.status, code: body.error, message: body.message ?? res.statusText } });
    return;
  }
  const arrived = performance.timeOrigin + performance.now();
  const d = await res.json();
  const f64 = (a) => Float64Array.from(a, (v) => (v === null ? NaN : v));
  const cols = {
    lat: f64(d.lat), lon: f64(d.lon), heading: f64(d.heading), speed: f64(d.speed), soc: f64(d.soc),
    last_seen: f64(d.last_seen), state: Uint8Array.from(d.state),
  };
  const key = d.vin.join(",");
  const vin = key === lastVins ? null : d.vin; // unchanged (the usual case): not sent again
  lastVins = key;
  const parseMs = performance.timeOrigin + performance.now() - arrived;
  self.postMessage({ now: d.now, states: d.states, vin, arrived, parseMs, ...cols },
    Object.values(cols).map((a) => a.buffer));
  if (vin) names(token); // the fleet changed: what its vehicles are called, after the positions
};

// Names, plates, groups and models (GET /v1/vehicles, 1.5 MB for 10,000 vehicles) are parsed
// here too, and handed over as [vin, name, plate, group, model] rows.
async function names(token) {
  try {
    const rows = [];
    let after = null;
    do {
      const q = new URLSearchParams({ limit: "10000" });
      if (after) q.set("after", after);
      const res = await fetch(`/v1/vehicles?${q}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!res.ok) return;
      const page = await res.json();
      for (const v of page.vehicles) rows.push([v.vin, v.name, v.plate, v.group, v.model]);
      after = page.next_after;
    } while (after);
    self.postMessage({ names: rows });
  } catch { /* the list shows VINs */ }
}
