"""Edge cases of the processor, on hand-made per-second histories: late and reordered batches,
a vehicle that never sleeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.servicekit.history import VIN, history
from volta.bus import MemoryBus
from volta.derived.columns import PATHS, Series
from volta.derived.store import SQLiteDerivedStore
from volta.drives.core import Drive
from volta.processors.processor import DriverServices
from volta.store.base import AcceptedBatch


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
        rng.shuffle(block)
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
