// What people call each vehicle (name, plate, group, model from GET /v1/vehicles), fetched
// once a minute at most and shared by the pages that show vehicles.

import { get } from "./api.js";

const FRESH_MS = 60_000;
let cached = null, at = 0;

export async function vehicleNames({ fresh = false } = {}) {
  if (!fresh && cached && Date.now() - at < FRESH_MS) return cached;
  const names = new Map();
  let after = null;
  do {
    const q = new URLSearchParams({ limit: "10000" });
    if (after) q.set("after", after);
    const page = await get(`/v1/vehicles?${q}`);
    for (const v of page.vehicles) names.set(v.vin, v);
    after = page.next_after;
  } while (after);
  cached = names;
  at = Date.now();
  return names;
}

// "Kona 03 · ABC-123", else the VIN.
export function label(v, vin) {
  const parts = [v?.name, v?.plate].filter(Boolean);
  return parts.length ? parts.join(" · ") : vin;
}
