"""The registry engines the registry tests run on: SQLite (a file in a temp data dir) and
PostgreSQL (a schema of its own in a database made for the run and dropped after; skipped
when no server listens, like the store's)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.store.pgkit import ADMIN_URL, RunDatabase
from volta.registry import Registry, SQLiteRegistry

NOW = 1_764_201_600_000
REGISTRY_RUN = RunDatabase(ADMIN_URL)

# Opens one more registry on the same data (as another process would), with a clock.
Opener = Callable[[Callable[[], int]], Registry]


@pytest.fixture(scope="package", autouse=True)
def _drop_registry_database() -> Iterator[None]:
    yield
    REGISTRY_RUN.drop()


def _sqlite(tmp_path: Path) -> Opener:
    return lambda clock: SQLiteRegistry.open(tmp_path, clock)


def _postgresql(tmp_path: Path) -> Opener:
    from volta.registry.postgres import PostgresRegistry

    url, schema = REGISTRY_RUN.ensure(), REGISTRY_RUN.new_schema()
    key, signing_key = secrets.token_bytes(32), secrets.token_bytes(32)
    return lambda clock: PostgresRegistry(
        url, key, signing_key=signing_key, schema=schema, clock=clock
    )


ENGINES: dict[str, Callable[[Path], Opener]] = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(ENGINES))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens registries of one engine on one fresh data set; each is closed after the test."""
    make = ENGINES[request.param](tmp_path)
    opened: list[Registry] = []

    def factory(clock: Callable[[], int]) -> Registry:
        registry = make(clock)
        opened.append(registry)
        return registry

    yield factory
    for registry in opened:
        registry.close()


@pytest.fixture
def registry(opener: Opener) -> Registry:
    """An empty registry whose clock stands at NOW."""
    return opener(lambda: NOW)
