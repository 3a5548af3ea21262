"""Edge cases of the pure cores and the processor, on hand-made per-second histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from volta.bus import MemoryBus
from volta.charging.core import detect_charges
from volta.derived.columns import PATHS, Series
from volta.derived.store import SQLiteDerivedStore
from volta.drives.core import Drive, detect_drives
from volta.processors.processor import DriverServices
from volta.store.base import AcceptedBatch

VIN = "JHMZZ1A1XRV000001"
MIDNIGHT = 1_767_657_600_000  # 2026-01-06T00:00Z
FOREVER = 2**62


def history(
    seconds: int, drive: list[tuple[int, int]], charge: list[tuple[int, int]], t0: int = MIDNIGHT
) -> dict[str, Series]:
    """1 Hz samples: 36 km/h (10 m/s) while driving, 7 kW in while charging, 200 W out parked."""
    sec = np.arange(seconds)
    driving = np.zeros(seconds, bool)
    charging = np.zeros(seconds, bool)
    for a, b in drive:
        driving[a:b] = True
    for a, b in charge:
        charging[a:b] = True
    speed = np.where(driving, 36.0, 0.0)
    power = np.where(driving, -8000.0, np.where(charging, 7000.0, -200.0))
    energy = 30.0 + np.cumsum(power) / 3.6e6
    vals = {
        "speed": speed,
        "odometer": np.floor(1000.0 + np.cumsum(speed / 3.6) - speed / 3.6),
        "power": power,
        "gear": driving.astype(float),
        "charging": charging.astype(float),
        "energy": energy,
        "soc": energy / 60.0 * 100.0,
    }
    ts = t0 + sec.astype(np.int64) * 1000
    return {k: (ts, v.astype(np.float64)) for k, v in vals.items()}


def cut(cols: dict[str, Series], a_s: int, b_s: int, t0: int = MIDNIGHT) -> dict[str, Series]:
    """Remove every sample in [a_s, b_s) seconds: a connectivity hole never filled."""
    out = {}
    for k, (ts, v) in cols.items():
        keep = (ts < t0 + a_s * 1000) | (ts >= t0 + b_s * 1000)
        out[k] = (ts[keep], v[keep])
    return out


def test_a_drive_spanning_midnight_is_one_drive() -> None:
    cols = history(4 * 3600, [(3600, 3 * 3600)], [], t0=MIDNIGHT - 2 * 3600 * 1000)
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert d.start_ms < MIDNIGHT < d.end_ms
    assert d.distance_m == 72_000.0 and d.final


def test_a_drive_across_a_data_gap_keeps_its_odometer_distance_and_stays_one() -> None:
    cols = cut(history(3 * 3600, [(1000, 7000)], []), 3000, 3300)  # 5 minutes lost mid-drive
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert abs(d.start_ms - (MIDNIGHT + 1_000_000)) <= 1000
    assert abs(d.end_ms - (MIDNIGHT + 7_000_000)) <= 1000
    assert d.distance_m == 60_000.0  # the odometer bridges the hole
    # energy: the power of the hole is unknown, and counted as such (not guessed)
    assert abs(d.energy_wh - 8000 * (6000 - 300) / 3600) <= 8000 * 11 / 3600


def test_a_parking_lot_shuffle_is_its_own_short_drive_not_merged() -> None:
    cols = history(3 * 3600, [(1000, 4000), (4300, 4330)], [])
    drives = detect_drives(VIN, cols, FOREVER)
    assert [round(d.distance_m) for d in drives] == [30_000, 300]


def test_a_charge_interrupted_and_resumed_is_one_session() -> None:
    cols = history(6 * 3600, [(100, 1000)], [(2000, 5000), (5300, 9000)])
    (c,) = detect_charges(VIN, cols, FOREVER)
    assert abs(c.energy_added_wh - 7000 * (3000 + 3700) / 3600) <= 7000 / 3600
    assert abs(c.start_ms - (MIDNIGHT + 2_000_000)) <= 1000


def test_regeneration_downhill_is_not_a_charge_and_is_netted_in_the_drive() -> None:
    cols = history(2 * 3600, [(100, 3700)], [])
    ts, p = cols["power"]
    p = p.copy()
    p[1000:1600] = 20_000.0  # a long descent: 20 kW back into the battery, flag off
    cols["power"] = (ts, p)
    assert detect_charges(VIN, cols, FOREVER) == []
    (d,) = detect_drives(VIN, cols, FOREVER)
    assert abs(d.regen_wh - 20_000 * 600 / 3600) < 1
    assert abs(d.energy_wh - (8000 * 3000 - 20_000 * 600) / 3600) < 1


def _events(cols: dict[str, Series], ids: dict[str, int], batch_s: int = 10) -> list[AcceptedBatch]:
    ts = cols["speed"][0]
    out = []
    for seq, a in enumerate(range(0, len(ts), batch_s), start=1):
        sid: list[int] = []
        t: list[int] = []
        num: list[float | None] = []
        for name, (cts, v) in cols.items():
            sid += [ids[name]] * len(cts[a : a + batch_s])
            t += cts[a : a + batch_s].tolist()
            num += v[a : a + batch_s].tolist()
        out.append(AcceptedBatch(VIN, seq, int(ts[a]), sid, t, num, [None] * len(t)))
    return out


def _processor(tmp: Path) -> tuple[DriverServices, SQLiteDerivedStore, dict[str, int]]:
    ids = {name: i + 1 for i, name in enumerate(PATHS)}
    store = SQLiteDerivedStore.open(tmp)
    return DriverServices(MemoryBus(), store, ids), store, ids


def test_clock_skewed_and_out_of_order_batches_give_the_same_drives(tmp_path: Path) -> None:
    cols = history(4 * 3600, [(600, 2400), (5000, 9000)], [(10_000, 12_000)])
    ordered, s1, ids = _processor(tmp_path / "a")
    events = _events(cols, ids)
    for ev in events:
        ordered.feed(ev)
    ordered.flush(complete=True)
    shuffled, s2, _ = _processor(tmp_path / "b")
    rng = np.random.default_rng(7)
    late = events[:]
    for i in range(0, len(late) - 40, 37):  # blocks of batches arriving up to 6 min late
        block = late[i : i + 36]
        rng.shuffle(block)  # type: ignore[arg-type]
        late[i : i + 36] = block
    for ev in late:
        shuffled.feed(ev)
    shuffled.flush(complete=True)
    assert s1.list("drive", Drive, VIN) == s2.list("drive", Drive, VIN)
    assert len(s1.list("drive", Drive, VIN)) == 2


def test_a_vehicle_that_never_sleeps_has_no_phantoms_and_a_bounded_buffer(tmp_path: Path) -> None:
    services, store, ids = _processor(tmp_path)
    cols = history(30 * 3600, [(3600, 5400)], [])  # awake at 1 Hz for 30 hours
    for ev in _events(cols, ids, batch_s=60):
        services.feed(ev)
    services.flush()
    assert len(store.list("drive", Drive, VIN)) == 1
    assert store.list("charge", Drive, VIN) == []
    veh = services._vehicles[VIN]
    buffered = sum(len(c[1]) for c in veh.chunks)
    assert buffered < 7 * 3600 * 1.2  # the last hour or so of 7 signals, not 30 hours
