"""The twin follows the bus: each commit's stored batches reach it from `stored.*`, in order,
through the gateway in embedded mode as from the workers in scale-out; a batch the twin fails
on costs only that batch."""

from __future__ import annotations

import msgspec

from volta.bus import MemoryBus, StoredGroup, stored_subject
from volta.catalog import default_catalog
from volta.config import Settings
from volta.ingest import Gateway
from volta.store.base import AcceptedBatch
from volta.store.duckdb_store import DuckDBStore
from volta.twin import Twin, TwinValue
from volta.twin.follow import follow

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
T0 = 1_764_201_600_000
SPEED = "Vehicle.Speed"


class FaultyTwin(Twin):
    """The real twin, failing on one vehicle's batches like a bug would."""

    def __init__(self, bad_vin: str) -> None:
        super().__init__()
        self.bad_vin = bad_vin

    def apply(self, batch: AcceptedBatch) -> dict[int, TwinValue]:
        if batch.vin == self.bad_vin:
            raise RuntimeError("twin bug")
        return super().apply(batch)


def test_the_twin_applies_every_batch_of_each_announced_group() -> None:
    bus, twin = MemoryBus(), Twin()
    follow(bus, twin)
    event = AcceptedBatch("VIN1", 3, 1000, [1, 2, 1], [1000, 1000, 1500], [1.0, 2.0, 3.0],
                          [None, None, None])  # fmt: skip
    later = AcceptedBatch("VIN2", 1, 2000, [1], [2000], [None], ["x"])
    bus.publish(stored_subject(0), StoredGroup([event, later]))
    values = twin.get("VIN1")
    assert values[1] == TwinValue(1500, 3.0, None)
    assert values[2] == TwinValue(1000, 2.0, None)
    assert twin.get("VIN2") == {1: TwinValue(2000, None, "x")}


def test_a_batch_the_twin_fails_on_costs_only_that_batch() -> None:
    bus, twin = MemoryBus(), FaultyTwin("BAD")
    follow(bus, twin)
    bad = AcceptedBatch("BAD", 1, 1000, [1], [1000], [1.0], [None])
    good = AcceptedBatch("VIN1", 1, 1000, [1], [1000], [2.0], [None])
    bus.publish(stored_subject(0), StoredGroup([bad, good]))
    assert twin.get("VIN1") == {1: TwinValue(1000, 2.0, None)}
    assert bus.handler_errors == 0  # caught per batch, not by the bus for the whole group


def test_through_the_gateway_a_twin_fault_neither_unstores_nor_unanswers_a_batch() -> None:
    catalog = default_catalog()
    store, bus, twin = DuckDBStore(None), MemoryBus(), FaultyTwin(VIN)
    follow(bus, twin)
    gw = Gateway(
        catalog=catalog, store=store, bus=bus, settings=Settings(), clock=lambda: T0 + 60_000
    )

    def message(vin: str, value: float) -> bytes:
        body = {"v": 1, "vin": vin, "seq": 1, "ts": T0, "samples": [[0, SPEED, value]]}
        return msgspec.json.encode(body)

    results = gw.ingest_many([(VIN, message(VIN, 10.0)), (VIN2, message(VIN2, 20.0))])
    assert [(r.accepted, r.error) for r in results] == [(1, None), (1, None)]
    assert store.stats().batches == 2
    assert twin.get(VIN) == {}
    assert twin.get(VIN2) == {catalog.get(SPEED).id: TwinValue(T0, 20.0, None)}
    store.close()
