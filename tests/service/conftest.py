"""The service desk on both registry engines: SQLite (a file in a temp data dir) and
PostgreSQL (a schema of its own in a database made for this run and dropped after; skipped
when no server listens). `reopen` opens one more desk on the same data, as another process
(or another API worker) would: the concurrency tests book through several."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.store.pgkit import ADMIN_URL, RunDatabase
from volta.registry import Registry, Role, SQLiteRegistry
from volta.registry.sql import SqlRegistry
from volta.service import ServiceDesk

NOW = 1_764_576_000_000  # 2025-12-01 08:00 UTC, a Monday (10:00 in Helsinki)
VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
VIN3 = "JHMZZ1A1XRV000003"
HOURS = {d: [["08:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
SERVICE_RUN = RunDatabase(ADMIN_URL)


@pytest.fixture(scope="package", autouse=True)
def _drop_service_database() -> Iterator[None]:
    yield
    SERVICE_RUN.drop()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class Engine:
    name: str
    open_registry: Callable[[], SqlRegistry]
    clock: Clock = field(default_factory=Clock)
    opened: list[Registry] = field(default_factory=list)

    def desk(self) -> ServiceDesk:
        registry = self.open_registry()
        self.opened.append(registry)
        return ServiceDesk(registry.database, registry, self.clock)


def _sqlite(tmp_path: Path) -> Callable[[], SqlRegistry]:
    return lambda: SQLiteRegistry.open(tmp_path)


def _postgresql(tmp_path: Path) -> Callable[[], SqlRegistry]:
    from volta.registry.postgres import PostgresRegistry

    url, schema = SERVICE_RUN.ensure(), SERVICE_RUN.new_schema()
    key = secrets.token_bytes(32)
    return lambda: PostgresRegistry(url, key, signing_key=key, schema=schema, timeout=10.0)


ENGINES = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """One engine with a fresh data set: vehicles VIN (org north), VIN2 (north), VIN3 (south)."""
    e = Engine(request.param, ENGINES[request.param](tmp_path))
    first = e.open_registry()
    e.opened.append(first)
    first.add_vehicle(VIN, "Model V", {"build_date": "2025-03-10"}, organisation="north")
    first.add_vehicle(VIN2, "Model V", {"build_date": "2025-06-01"}, organisation="north")
    first.add_vehicle(VIN3, "Model S", {"build_date": "2025-03-20"}, organisation="south")
    first.add_user("tove", Role.TECHNICIAN, "correct horse battery", "north")
    yield e
    for r in e.opened:
        r.close()


@pytest.fixture
def desk(engine: Engine) -> ServiceDesk:
    return engine.desk()
