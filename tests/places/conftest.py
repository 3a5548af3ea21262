"""The place engines the book's contract suite runs on: SQLite (`places.sqlite` in a temp
dir, the embedded default) and PostgreSQL (a schema of its own in the run's database; skipped
when no server listens)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.derived.pgrun import SERVICES_RUN
from volta.places.store import PlaceBook, PlaceTable, SQLitePlaces

# Opens one more book on the same places (as another process would), labelling without roads.
BookOpener = Callable[[], PlaceBook]


@pytest.fixture(scope="package", autouse=True)
def _drop_services_database() -> Iterator[None]:
    yield
    SERVICES_RUN.drop()


def _sqlite(tmp_path: Path) -> Callable[[], PlaceTable]:
    return lambda: SQLitePlaces.open(tmp_path)


def _postgresql(tmp_path: Path) -> Callable[[], PlaceTable]:
    from volta.places.postgres import PostgresPlaces

    url, schema = SERVICES_RUN.ensure(), SERVICES_RUN.new_schema()
    return lambda: PostgresPlaces(url, schema=schema)


ENGINES: dict[str, Callable[[Path], Callable[[], PlaceTable]]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(ENGINES))
def book_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BookOpener]:
    """Opens place books of one engine on one fresh set of places; each is closed after."""
    make = ENGINES[request.param](tmp_path)
    opened: list[PlaceBook] = []

    def factory() -> PlaceBook:
        opened.append(PlaceBook(make(), roads=False))
        return opened[-1]

    yield factory
    for book in opened:
        book.close()


@pytest.fixture
def book(book_opener: BookOpener) -> PlaceBook:
    """An empty place book."""
    return book_opener()
