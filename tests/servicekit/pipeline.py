"""A simulated fleet fed through the real pipeline (in-process transport → gateway → store →
bus → driver services) into a Platform on a temporary data dir."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.sim.simrun import Day
from volta.catalog import default_catalog
from volta.config import Settings
from volta.ingest.inproc import InProcessTransport
from volta.places.core import Place, Tariff, TouWindow
from volta.platform import Platform
from volta.processors.processor import DriverServices
from volta.sim.senders import encode_batch
from volta.store.base import AcceptedBatch

CHUNK = 200  # batches per transaction
HOME_RADIUS_M = 60.0
CHARGER_RADIUS_M = 40.0
# night-rate electricity at home (Helsinki time), a flat price at public stations
HOME_TARIFF = Tariff(
    price_per_kwh=0.20,
    currency="EUR",
    timezone="Europe/Helsinki",
    windows=[TouWindow(start="22:00", end="07:00", price_per_kwh=0.08)],
)
AC_TARIFF = Tariff(price_per_kwh=0.39, currency="EUR")
DC_TARIFF = Tariff(price_per_kwh=0.59, currency="EUR")


def add_places(platform: Platform, day: Day) -> None:
    """Each car's home (its own place, night tariff) and every public charger (fleet-wide)."""
    for v in day.truth.vehicles:
        platform.places.put(
            Place(
                id=f"home-{v.vin}", name="Home", lat=v.home_lat, lon=v.home_lon,
                radius_m=HOME_RADIUS_M, vin=v.vin, tariff=HOME_TARIFF,
            )
        )  # fmt: skip
    g = day.fleet.graph
    for ch in g.chargers:  # centred where cars stand: the station's node on the road graph
        platform.places.put(
            Place(
                id=f"charger-{ch.osm_id}", name=f"Charger {ch.osm_id}",
                lat=float(g.lat[ch.node]), lon=float(g.lon[ch.node]),
                radius_m=CHARGER_RADIUS_M, tariff=DC_TARIFF if ch.dc else AC_TARIFF,
            )
        )  # fmt: skip


@dataclass
class Fed:
    platform: Platform
    day: Day

    @property
    def services(self) -> DriverServices:
        """The platform's driver services (an embedded platform runs them)."""
        services = self.platform.services
        assert services is not None, "the platform runs no driver services"
        return services


def feed(
    day: Day,
    data_dir: Path,
    *,
    register: bool = True,
    bus: str = "memory",
    before_chunk: Callable[[Platform, float], None] | None = None,
) -> Fed:
    """Register the day's vehicles (with their models) and places, and publish every batch
    in the order the cars sent them, the platform's clock following the send times, over
    `bus`; `before_chunk(platform, fraction sent)` is called before each transaction."""
    now = [day.sent_ms[0] if day.sent_ms else 0]
    settings = Settings(data_dir=data_dir, mqtt=None, bus=bus)
    platform = Platform(settings, clock=lambda: now[0])
    platform.start()
    if register:
        for v in day.truth.vehicles:
            platform.registry.add_vehicle(v.vin, v.model)
        add_places(platform, day)
    transport = InProcessTransport(platform.gateway)
    for i in range(0, len(day.batches), CHUNK):
        if before_chunk is not None:
            before_chunk(platform, i / len(day.batches))
        chunk = day.batches[i : i + CHUNK]
        now[0] = day.sent_ms[i + len(chunk) - 1]
        transport.publish_many([(b.vin, encode_batch(b, "msgpack")) for b in chunk])
    return Fed(platform, day)


def events(day: Day, vin: str) -> list[AcceptedBatch]:
    """One vehicle's batches as the gateway would publish them once stored."""
    catalog = default_catalog()
    out = []
    for b in day.batches:
        if b.vin != vin:
            continue
        sigs = [catalog.get(path) for _, path, _ in b.samples]
        out.append(
            AcceptedBatch(
                vin,
                b.seq,
                b.ts,
                [s.id for s in sigs],
                [b.ts + off for off, _, _ in b.samples],
                [float(x) if isinstance(x, int | float) else None for _, _, x in b.samples],
                [None if isinstance(x, int | float) else str(x) for _, _, x in b.samples],
            )
        )
    return out
