"""Fixtures for ingest tests: the real catalog, codec and an in-memory DuckDB store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from volta.bus import MemoryBus
from volta.catalog import Catalog, default_catalog
from volta.config import Settings
from volta.ingest import Gateway, IngestMetrics
from volta.store.duckdb_store import DuckDBStore
from volta.twin import Twin
from volta.twin.follow import follow

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
T0 = 1_764_201_600_000  # batch base time in the tests
NOW = T0 + 60_000  # the gateway's frozen clock
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
DOOR = "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen"
AUTONOMY = "Vehicle.ADAS.ActiveAutonomyLevel"  # string with allowed values


def message(
    samples: list[Any], seq: int = 1, vin: str = VIN, ts: int = T0, fmt: str = "json", **extra: Any
) -> bytes:
    """A wire-format v1 batch, built by hand so that tests can also build broken ones."""
    body = {"v": 1, "vin": vin, "seq": seq, "ts": ts, "samples": samples, **extra}
    if fmt == "json":
        return msgspec.json.encode(body)
    return msgspec.msgpack.encode(body)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    s = DuckDBStore(None)
    yield s
    s.close()


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def make_gateway(catalog: Catalog, store: DuckDBStore) -> Iterator[GatewayFactory]:
    started: list[Gateway] = []

    def make(**overrides: Any) -> Gateway:
        gateway_args = {"catalog", "store", "bus", "clock", "metrics", "known_vehicle"}
        twin: Twin | None = overrides.pop(
            "twin", None
        )  # follows the gateway's bus, as in a Platform
        settings_fields = {
            k: overrides.pop(k)
            for k in list(overrides)
            if k in Settings.model_fields and k not in gateway_args
        }
        kwargs: dict[str, Any] = {
            "catalog": catalog,
            "store": store,
            "bus": MemoryBus(),
            "settings": Settings(**settings_fields),
            "clock": lambda: NOW,
            "metrics": IngestMetrics(None),
        }
        kwargs.update(overrides)
        if twin is not None:
            follow(kwargs["bus"], twin)
        gw = Gateway(**kwargs)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
