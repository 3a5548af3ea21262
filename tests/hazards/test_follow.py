"""Road sensing on the bus: stored batches of three cars over one pothole publish it."""

from __future__ import annotations

from volta.bus import MemoryBus, StoredGroup
from volta.catalog import default_catalog
from volta.hazards.follow import HazardFollower
from volta.hazards.model import Kind
from volta.hazards.sensing import RoadSensing
from volta.store.base import AcceptedBatch

from .roads import T0, drive, long_route, matcher

SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


def _stored(vin: str, samples: list[tuple[int, str, object]]) -> AcceptedBatch:
    cat = default_catalog()
    ids, ts, num, txt = [], [], [], []
    for t, path, value in [*samples, (T0, SOC, 55.0)]:
        sig = cat.get(path)
        n, x = sig.to_stored(value)
        ids.append(sig.id)
        ts.append(t)
        num.append(n)
        txt.append(x)
    return AcceptedBatch(vin, 1, T0, ids, ts, num, txt)


def test_three_cars_stored_over_a_pothole_publish_it_through_the_bus() -> None:
    bus = MemoryBus()
    now = T0 + 600_000
    follower = HazardFollower(bus, default_catalog(), RoadSensing(matcher()), lambda: now)
    follower.start()
    cars = ["JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002", "JHMZZ1A1XRV000003"]
    for i, vin in enumerate(cars):
        samples = drive(long_route(), [9.0] * 30, T0 + i * 60_000, 200.0, vertical={12: 9.0})
        bus.publish("stored.0", StoredGroup([_stored(vin, samples)]))
        published = follower.hazards(now)
        assert len(published) == (1 if i == 2 else 0)
    follower.stop()
    [h] = follower.hazards(now)
    assert (h.kind, h.cars) == (Kind.POTHOLE, 3)
    assert follower.batches == 3 and follower.errors == 0
    bus.publish("stored.0", StoredGroup([_stored(cars[0], [])]))
    assert follower.batches == 3  # unsubscribed
