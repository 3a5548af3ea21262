"""The numerics of one window: per-second matrices of the online vehicles, physics, battery.

`window` advances a `FleetState` over one window and returns the online vehicles' `Frame`;
what happens between windows (departures, arrivals, plans) is `Fleet`'s business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from volta.sim.health import Health
from volta.sim.state import FleetState
from volta.vehicles import physics

__all__ = ["Frame", "window"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_CABIN_SETPOINT_C = 21.0
_FAN_PCT = 60  # blower speed reported while the HVAC runs (driving, remote climate)


@dataclass(frozen=True, slots=True)
class Frame:
    """Per-second state of the vehicles online in one window (rows: `vid`, columns: seconds)."""

    t0_ms: int
    window_s: int
    ambient_c: float
    vid: IntArray
    online: BoolArray  # (n, W) telemetry unit awake
    driving: BoolArray
    charging: BoolArray
    cable: BoolArray
    speed_mps: FloatArray
    lat: FloatArray
    lon: FloatArray
    heading: FloatArray
    odometer_m: FloatArray
    accel_lon: FloatArray
    accel_lat: FloatArray
    accel_vert: FloatArray
    power_w: FloatArray  # battery terminal power, > 0 discharge
    energy_kwh: FloatArray  # stored energy after each second
    soc_pct: FloatArray
    charge_kw: FloatArray  # into the battery
    capacity_kwh: FloatArray  # (n,)
    soh: FloatArray  # (n,) fraction
    wh_per_km: FloatArray  # (n,) typical consumption, for ChargeRate in km/h
    cabin_c: FloatArray  # (n,)
    tyre_kpa: FloatArray  # (n, 4)
    lv_volts: FloatArray  # (n, W)
    dtcs: list[list[str]]
    # actuator states that remote commands set (volta.sim.commands)
    locked: BoolArray  # (n,)
    charge_limit: FloatArray  # (n,) percent
    setpoint_c: FloatArray  # (n,)
    fan_pct: FloatArray  # (n,)
    flashing: BoolArray  # (n, W) hazard lights
    adas: FloatArray  # (n, W) ABS/ESC/TCS engagement bits (volta.sim.surface)
    health: Health | None = None  # component signals (volta.sim.health), set by the fleet


def _sleepers(s: FleetState, online: IntArray, W: int) -> None:
    """Asleep, parked vehicles: one closed-form vampire-drain update for the whole window."""
    off = np.ones(s.n, dtype=bool)
    off[online] = False
    for gi, a, b in s.groups:
        loc = np.nonzero(off[a:b])[0]
        if len(loc) == 0:
            continue
        m, pack = s.models[gi], s.packs[gi]
        p = float(physics.vampire_power_w(m, True))
        loss = physics.internal_loss_w(m, np.full(len(loc), p), pack.soc_pct[loc])
        chem = (p + loss) * W / 3.6e6
        e = np.maximum(pack.energy_kwh[loc] - chem, 0.0)
        pack.throughput_kwh[loc] += pack.energy_kwh[loc] - e
        pack.loss_kwh[loc] += loss * W / 3.6e6
        pack.energy_kwh[loc] = e
        pack.soc_pct[loc] = 100.0 * e / pack.capacity_kwh[loc]


def window(
    s: FleetState,
    idx: IntArray,
    t0: int,
    W: int,
    ambient: float,
    *,
    t0_ms: int,
    awake_s: int,
    charge_finished: Callable[[int, int], None],
) -> Frame:
    """Advance every vehicle's battery over [t0, t0 + W) and return the frame of the online ones
    (`idx`, ascending). `t0_ms` is second t0 in ms since the epoch; a parked car stays awake
    `awake_s` after its drive; `charge_finished(v, t)` is called for each session that ends
    inside the window, before the frame is taken."""
    _sleepers(s, idx, W)
    n = len(idx)
    cols = np.arange(W)
    pool = s.pool
    drv = s.driving[idx]
    chg = s.charging[idx]
    length = s.drive_len[idx][:, None]
    rel = t0 + cols[None, :] - s.drive_start[idx][:, None]
    in_drive = drv[:, None] & (rel >= 0) & (rel < length)
    pidx = np.where(drv[:, None], s.drive_off[idx][:, None] + np.clip(rel, 0, length), 0)
    d2 = drv[:, None]
    speed = np.where(d2, pool.speed[pidx], 0.0)
    lat = np.where(d2, pool.lat[pidx], s.lat[idx][:, None])
    lon = np.where(d2, pool.lon[pidx], s.lon[idx][:, None])
    heading = np.where(d2, pool.heading[pidx], s.heading[idx][:, None])
    odometer = s.odometer[idx][:, None] + np.where(d2, pool.dist[pidx], 0.0)
    accel_lat = np.where(d2, pool.lat_acc[pidx], 0.0)
    accel_vert = np.where(d2, pool.vert_acc[pidx], 0.0)
    vmean = np.where(in_drive, pool.vmean[pidx], 0.0)
    accel = np.where(in_drive, pool.accel[pidx], 0.0)
    grade = np.where(in_drive, pool.grade[pidx], 0.0)
    awake = (t0 + cols[None, :]) < np.maximum(s.parked_since[idx] + awake_s, s.awake_until[idx])[
        :, None
    ]
    climate = s.climate_until[idx] > t0  # remote climate, for the whole window
    asleep = ~(d2 | chg[:, None] | awake)

    power = np.zeros((n, W))
    energy = np.zeros((n, W))
    charge_kw = np.zeros((n, W))
    charging = np.zeros((n, W), dtype=bool)
    e_before = np.zeros((n, W + 1))
    finished: list[tuple[int, int]] = []  # (vehicle, end second) of charges done this window
    for gi, a, b in s.groups:
        r0, r1 = int(np.searchsorted(idx, a)), int(np.searchsorted(idx, b))
        if r0 == r1:
            continue
        m, pack = s.models[gi], s.packs[gi]
        loc = idx[r0:r1] - a
        rows = slice(r0, r1)
        aux = m.aux_w + float(physics.hvac_power_w(m, ambient, True))
        p_drive = physics.battery_power_w(
            m, physics.wheel_power_w(m, vmean[rows], accel[rows], grade[rows]), vmean[rows], aux
        )
        soc0, e0, cap = pack.soc_pct[loc], pack.energy_kwh[loc], pack.capacity_kwh[loc]
        kw_in = np.zeros(r1 - r0)
        kw_grid = np.zeros(r1 - r0)
        charge_s = np.zeros(r1 - r0, dtype=np.int64)
        open_ch = [
            (k, sess)
            for k, v in enumerate(idx[rows].tolist())
            if s.charging[v] and (sess := s.sessions.get(v)) is not None
        ]
        if open_ch:
            ks = np.array([k for k, _ in open_ch])
            dc = np.array([x.dc for _, x in open_ch])
            st = np.array([x.station_kw for _, x in open_ch])
            tgt = np.array([x.target_soc for _, x in open_ch])
            into, grid = physics.charge_power_kw(m, soc0[ks], dc, st, pack.soh[loc[ks]])
            into = np.where(soc0[ks] < tgt, into, 0.0)
            # seconds until the target: the session ends inside the window if that is < W
            need_kwh = np.maximum(tgt - soc0[ks], 0.0) / 100.0 * cap[ks]
            secs = np.where(into > 0, np.ceil(need_kwh * 3600.0 / np.maximum(into, 1e-9)), 0)
            kw_in[ks], kw_grid[ks] = into, np.where(into > 0, grid, 0.0)
            charge_s[ks] = np.minimum(secs, W).astype(np.int64)
        cmask = cols[None, :] < charge_s[:, None]
        v_awake = float(physics.vampire_power_w(m, False))
        # a parked car running remote climate draws what its HVAC needs for the setpoint
        hvac = np.zeros(r1 - r0)
        for k in np.nonzero(climate[rows])[0].tolist():
            sp = float(s.setpoint_c[idx[r0 + k]])
            hvac[k] = float(physics.hvac_power_w(replace(m, hvac_setpoint_c=sp), ambient, True))
        v_sleep = float(physics.vampire_power_w(m, True))
        p = np.where(
            in_drive[rows],
            p_drive,
            np.where(
                cmask,
                -kw_in[:, None] * 1000.0,
                np.where(asleep[rows], v_sleep, v_awake + hvac[:, None]),
            ),
        )
        loss = physics.internal_loss_w(m, p, soc0[:, None])
        chem = p + loss
        e = np.clip(e0[:, None] - np.cumsum(chem, axis=1) / 3.6e6, 0.0, cap[:, None])
        e_before[rows, 0] = e0
        e_before[rows, 1:] = e
        pack.throughput_kwh[loc] += np.abs(np.diff(e_before[rows], axis=1)).sum(axis=1)
        pack.loss_kwh[loc] += loss.sum(axis=1) / 3.6e6
        pack.energy_kwh[loc] = e[:, -1]
        pack.soc_pct[loc] = 100.0 * e[:, -1] / cap
        power[rows], energy[rows] = p, e
        charge_kw[rows] = np.where(cmask, kw_in[:, None], 0.0)
        charging[rows] = cmask
        for k, session in open_ch:
            cs = int(charge_s[k])
            if cs > 0:
                if not session.started:
                    session.started, session.start_s = True, t0
                session.into_wh += float(kw_in[k]) * cs / 3.6
                session.grid_wh += float(kw_grid[k]) * cs / 3.6
                session.loss_wh += float(loss[k, :cs].sum()) / 3600.0
                session.peak_kw = max(session.peak_kw, float(kw_in[k]))
            session.e1_kwh = float(e_before[r0 + k, cs])
            if cs < W or kw_in[k] <= 0:
                finished.append((int(idx[r0 + k]), t0 + cs))
        for k in np.nonzero(drv[rows])[0].tolist():
            trip = s.trips[int(idx[r0 + k])]
            mask = in_drive[r0 + k]
            trip.terminal_wh += float((p[k] * mask).sum()) / 3600.0
            trip.regen_wh -= float((np.minimum(p_drive[k] - aux, 0.0) * mask).sum()) / 3600.0
            trip.loss_wh += float((loss[k] * mask).sum()) / 3600.0
            if trip.start_s >= t0:
                trip.e0_kwh = float(e_before[r0 + k, trip.start_s - t0])
            end = trip.start_s + trip.length_s - t0
            if end <= W:
                trip.e1_kwh = float(e_before[r0 + k, end])

    for v, t_end in finished:
        charge_finished(v, t_end)

    # The HVAC runs while driving or on a climate command, never by itself in a parked car:
    # a car charging overnight at home does not keep its cabin at 21 °C.
    tau = np.where(drv, 600.0, 3600.0)
    target = np.where(drv, _CABIN_SETPOINT_C, ambient)
    target = np.where(climate, s.setpoint_c[idx], target)
    tau = np.where(climate, 600.0, tau)
    s.cabin_c[idx] += (target - s.cabin_c[idx]) * (1.0 - np.exp(-W / tau))
    off = np.ones(s.n, dtype=bool)
    off[idx] = False
    s.cabin_c[off] += (ambient - s.cabin_c[off]) * (1.0 - np.exp(-W / 3600.0))

    t_ms = t0_ms
    hv_on = in_drive | charging
    rest = s.faults.lv_volts(idx, np.zeros(n, dtype=bool), t_ms)
    caps = np.concatenate(
        [s.packs[gi].capacity_kwh[idx[(idx >= a) & (idx < b)] - a] for gi, a, b in s.groups]
    )
    sohs = np.concatenate(
        [s.packs[gi].soh[idx[(idx >= a) & (idx < b)] - a] for gi, a, b in s.groups]
    )
    return Frame(
        t0_ms=t_ms,
        window_s=W,
        ambient_c=ambient,
        vid=idx,
        online=np.ones((n, W), dtype=bool) if n else np.zeros((0, W), dtype=bool),
        driving=in_drive,
        charging=charging,
        cable=np.repeat(s.cable[idx][:, None], W, axis=1) | charging,
        speed_mps=speed,
        lat=lat,
        lon=lon,
        heading=heading,
        odometer_m=odometer,
        accel_lon=np.where(in_drive, accel, 0.0),
        accel_lat=accel_lat,
        accel_vert=accel_vert,
        power_w=power,
        energy_kwh=energy,
        soc_pct=100.0 * energy / np.maximum(caps[:, None], 1e-9),
        charge_kw=charge_kw,
        capacity_kwh=caps,
        soh=sohs,
        wh_per_km=s.wh_per_km[idx],
        cabin_c=s.cabin_c[idx].copy(),
        tyre_kpa=s.faults.tyre_kpa(idx, ambient, t_ms),
        lv_volts=np.where(hv_on, 14.3, rest[:, None]),
        dtcs=[list(s.faults.dtcs[v]) for v in idx.tolist()],
        locked=s.locked[idx].copy(),
        charge_limit=s.charge_limit[idx].copy(),
        setpoint_c=s.setpoint_c[idx].copy(),
        fan_pct=np.where(drv | climate, float(_FAN_PCT), 0.0),
        flashing=(t0 + cols[None, :]) < s.flash_until[idx][:, None],
        adas=np.where(in_drive, pool.adas[pidx], 0.0),
    )
