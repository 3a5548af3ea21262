"""The processor's queue is bounded: a burst of events waits for the analysis (backpressure on
the publisher) instead of piling up in memory, and no result is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.servicekit.pipeline import events
from tests.sim.simrun import fleet_day
from volta.bus import MemoryBus
from volta.bus.events import StoredGroup, stored_subject
from volta.catalog import default_catalog
from volta.charging.core import Charge
from volta.derived.columns import signal_ids
from volta.derived.store import Record, SQLiteDerivedStore
from volta.drives.core import Drive
from volta.processors.processor import DriverServices

BOUND = 8


class SlowStore(SQLiteDerivedStore):
    """A store whose writes take a while: the analysis falls behind the publisher."""

    def replace_from(self, kind: str, vin: str, start_ms: int, records: Sequence[Record]) -> None:
        time.sleep(0.002)
        super().replace_from(kind, vin, start_ms, records)


def test_a_burst_waits_for_the_worker_and_loses_nothing(tmp_path: Path) -> None:
    day = fleet_day()
    vins = sorted({d.vin for d in day.truth.drives})[:3]
    burst = [ev for vin in vins for ev in events(day, vin)]
    ids = signal_ids(default_catalog())

    bus = MemoryBus()
    slow = SlowStore(tmp_path / "slow.sqlite")
    services = DriverServices(bus, slow, ids, max_backlog=BOUND)
    services.start()
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # the backlog, sampled while the burst is published
        while not stop.is_set():
            seen.append(services.backlog)
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for ev in burst:  # as fast as the bus takes them
        bus.publish(stored_subject(0), StoredGroup([ev]))
        assert services.backlog <= BOUND
    stop.set()
    watcher.join()
    services.flush(complete=True)
    services.stop()

    assert len(burst) > 50 * BOUND
    assert services.waits > 0  # the burst did reach the bound and the publisher waited
    assert max(seen) <= BOUND and services.peak_backlog <= BOUND
    assert services.errors == 0

    direct = SQLiteDerivedStore(tmp_path / "direct.sqlite")
    reference = DriverServices(MemoryBus(), direct, ids)
    for ev in burst:
        reference.feed(ev)
    reference.flush(complete=True)
    for vin in vins:
        for kind, type_ in (("drive", Drive), ("charge", Charge)):
            got = slow.list(kind, type_, vin, limit=10_000)
            assert got == direct.list(kind, type_, vin, limit=10_000), (vin, kind)
        assert slow.list("drive", Drive, vin, limit=10_000)
