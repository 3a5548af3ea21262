"""The derived-store engines the contract suite runs on: SQLite (a file in a temp dir, the
embedded default) and PostgreSQL (a schema of its own in the run's database; skipped when no
server listens, like the store's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.derived.pgrun import SERVICES_RUN
from tests.store.storekit import closing_factory
from volta.derived.store import DerivedStore, SQLiteDerivedStore

# Opens one more store on the same data (as another process would).
Opener = Callable[[], DerivedStore]


@pytest.fixture(scope="package", autouse=True)
def _drop_services_database() -> Iterator[None]:
    yield
    SERVICES_RUN.drop()


def _sqlite(tmp_path: Path) -> Opener:
    return lambda: SQLiteDerivedStore.open(tmp_path)


def _postgresql(tmp_path: Path) -> Opener:
    from volta.derived.postgres import PostgresDerivedStore

    url, schema = SERVICES_RUN.ensure(), SERVICES_RUN.new_schema()
    return lambda: PostgresDerivedStore(url, schema=schema)


ENGINES: dict[str, Callable[[Path], Opener]] = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(ENGINES))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens derived stores of one engine on one fresh data set; each is closed after."""
    yield from closing_factory(ENGINES[request.param](tmp_path))


@pytest.fixture
def derived(opener: Opener) -> DerivedStore:
    """An empty derived store."""
    return opener()
