// Remote commands on the vehicle page (POST /v1/vehicles/{vin}/commands, docs/commands.md):
// a button per command, and the newest commands with their progress queued → delivered →
// succeeded / failed (with the car's reason) / expired, polled until each is finished.

import { get, me, post } from "./api.js";
import { esc, when } from "./format.js";

// Who may send commands (the API's access table): people, not the vehicle's own token.
const SENDERS = new Set(["operator", "technician", "driver"]);
export const maySend = () => SENDERS.has(me.get()?.role);

const LABELS = {
  lock: "Lock", unlock: "Unlock", climate_on: "Climate on", climate_off: "Climate off",
  set_charge_limit: "Charge limit", charge_start: "Start charging", charge_stop: "Stop charging",
  flash_lights: "Flash lights", wake: "Wake",
};
const FINAL = new Set(["succeeded", "failed", "expired"]);
const POLL_MS = 1000;
const SHOWN = 6;

function what(c) {
  const value = c.value === null || c.value === undefined ? ""
    : c.type === "climate_on" ? ` ${c.value} °C` : c.type === "set_charge_limit" ? ` ${c.value} %` : ` ${c.value}`;
  return `${LABELS[c.type] ?? c.type}${value}`;
}

// queued → delivered → the outcome: the steps passed are done, the current one is marked. A
// car that answered at once was delivered too; an expired command may never have been.
function progress(c) {
  const steps = ["queued", "delivered", FINAL.has(c.state) ? c.state : "succeeded"];
  const at = steps.indexOf(c.state);
  const passed = (s, i) => i < at && (s !== "delivered" || c.state !== "expired" || c.history.some((h) => h.state === s));
  return `<ol class="steps">${steps.map((s, i) => `<li class="${i === at ? `now ${s}` : passed(s, i) ? "done" : ""}">${s}</li>`).join("")}</ol>`;
}

function row(c) {
  return `<tr data-id="${esc(c.id)}" data-state="${esc(c.state)}"><td>${when(c.created_ms)}</td><td>${esc(what(c))}</td>
    <td>${progress(c)}</td><td class="reason">${c.reason ? esc(c.reason) : ""}</td></tr>`;
}

export function mountCommands(el, vin) {
  const v = encodeURIComponent(vin);
  el.innerHTML = `<h2>Remote commands</h2>
    <div class="commands" id="command-buttons">
      <span class="group"><b>Doors</b><button class="small" data-type="lock">Lock</button><button class="small" data-type="unlock">Unlock</button></span>
      <span class="group"><b>Climate</b><label><input type="number" id="climate-target" min="15" max="30" step="0.5" value="21" aria-label="target temperature"> °C</label>
        <button class="small" data-type="climate_on" data-input="climate-target">On</button><button class="small" data-type="climate_off">Off</button></span>
      <span class="group"><b>Charging</b><label><input type="number" id="charge-limit" min="50" max="100" step="1" value="80" aria-label="charge limit"> %</label>
        <button class="small" data-type="set_charge_limit" data-input="charge-limit">Set limit</button>
        <button class="small" data-type="charge_start">Start</button><button class="small" data-type="charge_stop">Stop</button></span>
      <span class="group"><button class="small" data-type="flash_lights">Flash lights</button><button class="small" data-type="wake">Wake</button></span>
    </div>
    <div id="command-error"></div>
    <div id="command-list"><p class="empty">Loading…</p></div>`;
  const list = el.querySelector("#command-list"), error = el.querySelector("#command-error");
  let commands = [], timer = null, stopped = false;

  function render() {
    list.innerHTML = commands.length
      ? `<table><thead><tr><th>Sent</th><th>Command</th><th>Progress</th><th>Reason</th></tr></thead><tbody>${commands.map(row).join("")}</tbody></table>`
      : `<p class="empty">No command sent to this vehicle yet.</p>`;
  }

  // Only the unfinished ones are asked again; the poll stops when all are finished.
  async function poll() {
    timer = null;
    const open = commands.filter((c) => !FINAL.has(c.state));
    const fresh = await Promise.all(open.map((c) => get(`/v1/vehicles/${v}/commands/${encodeURIComponent(c.id)}`).catch(() => c)));
    if (stopped) return;
    const byId = new Map(fresh.map((c) => [c.id, c]));
    commands = commands.map((c) => byId.get(c.id) ?? c);
    render();
    schedule();
  }
  function schedule() {
    if (!stopped && timer === null && commands.some((c) => !FINAL.has(c.state))) timer = setTimeout(poll, POLL_MS);
  }

  el.querySelector("#command-buttons").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-type]");
    if (!b) return;
    const body = { type: b.dataset.type };
    if (b.dataset.input) body.value = Number(el.querySelector(`#${b.dataset.input}`).value);
    b.disabled = true;
    error.innerHTML = "";
    try {
      const c = await post(`/v1/vehicles/${v}/commands`, body);
      commands = [c, ...commands].slice(0, SHOWN);
      render();
      schedule();
    } catch (err) {
      error.innerHTML = `<p class="error">${esc(LABELS[body.type])}: ${esc(err.message)}</p>`;
    } finally {
      b.disabled = false;
    }
  });

  get(`/v1/vehicles/${v}/commands?limit=${SHOWN}`).then((answer) => {
    if (stopped) return;
    commands = answer.commands;
    render();
    schedule();
  }).catch((err) => { if (!stopped) list.innerHTML = `<p class="error">${esc(err.message)}</p>`; });

  return () => { stopped = true; clearTimeout(timer); };
}
