"""The driver services heal by themselves after the bus lost events: NATS (a private server)
is stopped while a simulated fleet drives, the gateway keeps storing and drops the events it
cannot publish, and the processors read back from the store what the bus did not bring."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.servicekit.pipeline import feed
from tests.sim.simrun import simulate
from volta.bus.nats_bus import NatsBus
from volta.charging.core import Charge
from volta.derived.store import SQLiteDerivedStore
from volta.devservices import PrivateNats
from volta.drives.core import Drive
from volta.platform import Platform
from volta.processors.processor import QUIET_MS, DriverServices
from volta.processors.recompute import recompute

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _until(check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _settled(services: DriverServices) -> bool:
    """Nothing queued, and no batch came in the last second."""
    before = sum(services._received.values())
    time.sleep(1.0)
    got = sum(services._received.values())
    return got == before and sum(services._analysed.values()) == got


def test_drives_and_charges_lost_on_the_bus_are_rebuilt_from_the_store(
    private_nats: PrivateNats, tmp_path: Path
) -> None:
    day = simulate(6, 86_400, seed=11)
    down = [False]

    def outage(platform: Platform, sent: float) -> None:
        """NATS is down while the second quarter of the day's batches is stored."""
        if 0.25 <= sent < 0.5 and not down[0]:
            private_nats.stop()
            down[0] = True
        elif sent >= 0.5 and down[0]:
            private_nats.start()
            down[0] = False
            bus = platform.bus
            assert isinstance(bus, NatsBus)
            _until(lambda: bus._nc.is_connected, 20)

    fed = None
    try:
        fed = feed(
            day,
            tmp_path / "data",
            bus=f"{private_nats.url}?prefix=outage&max_pending=1",
            before_chunk=outage,
        )
        p = fed.platform
        services = p.services
        assert services is not None and isinstance(p.bus, NatsBus)
        p.bus.flush()
        lost = p.bus.dropped + p.bus.publish_errors
        assert lost > 0  # the outage did lose events
        _until(lambda: _settled(services), 60)  # what reached the stream is delivered
        services.flush()
        # the cars fall quiet: each is checked against the store once
        services.sweep(day.sent_ms[-1] + QUIET_MS)
        services.flush(complete=True)
        reference = SQLiteDerivedStore(tmp_path / "reference.sqlite")
        for v in day.truth.vehicles:
            recompute(v.vin, p.store, reference, p.catalog, tagger=p.places.tagger())
            for kind, typ in (("drive", Drive), ("charge", Charge)):
                got = p.derived.list(kind, typ, vin=v.vin, limit=10_000)
                assert got == reference.list(kind, typ, vin=v.vin, limit=10_000), (kind, v.vin)
        assert len(day.truth.drives) >= 10
        assert services.healed > 0  # read back from the store, not from the bus
    finally:
        if fed is not None:
            fed.platform.stop()
