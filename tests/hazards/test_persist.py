"""Road sensing survives a restart: the confirmed hazards and the reports still gathering toward
k cars are kept (SQLite in the data dir, embedded; PostgreSQL, scale-out) and loaded back by the
next process, which goes on where the first stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.derived.pgrun import SERVICES_RUN
from volta.bus import MemoryBus
from volta.catalog import default_catalog
from volta.config import Settings
from volta.hazards.follow import HazardFollower
from volta.hazards.model import Hazard, Kind
from volta.hazards.sensing import RoadSensing
from volta.hazards.store import DB_FILE, HazardTable, SQLiteHazards, open_hazard_table

from .roads import T0, drive, long_route, matcher
from .test_follow import _stored

NOW = T0 + 900_000
CARS = [f"JHMZZ1A1XRV00000{i}" for i in range(1, 6)]
# seconds of the drive (9 m/s from 200 m along the route) at which two potholes 117 m apart are hit
FIRST, SECOND = 12, 25


@pytest.fixture(scope="module", autouse=True)
def _drop_services_database() -> Iterator[None]:
    yield
    SERVICES_RUN.drop()


def _sqlite(tmp_path: Path) -> Callable[[], HazardTable]:
    return lambda: open_hazard_table(Settings(data_dir=tmp_path))


def _postgresql(tmp_path: Path) -> Callable[[], HazardTable]:
    url, schema = SERVICES_RUN.ensure(), SERVICES_RUN.new_schema()
    return lambda: open_hazard_table(
        Settings(data_dir=tmp_path, hazards=url, hazards_schema=schema)
    )


ENGINES = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(ENGINES))
def table_opener(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], HazardTable]]:
    """Opens the table of one engine on one fresh state, as each new process would."""
    make = ENGINES[request.param](tmp_path)
    opened: list[HazardTable] = []

    def factory() -> HazardTable:
        opened.append(make())
        return opened[-1]

    yield factory
    for table in opened:
        table.close()


def _process(table: HazardTable) -> HazardFollower:
    """One road-sensing process: a fresh fusion that follows the bus and keeps its state."""
    follower = HazardFollower(
        MemoryBus(), default_catalog(), RoadSensing(matcher()), lambda: NOW, table=table
    )
    follower.start()
    return follower


def _drive(follower: HazardFollower, car: int, jolts: tuple[int, ...]) -> None:
    samples = drive(
        long_route(), [9.0] * 40, T0 + car * 60_000, 200.0, vertical=dict.fromkeys(jolts, 9.0)
    )
    follower.feed(_stored(CARS[car], samples))


def _published(follower: HazardFollower) -> dict[str, Hazard]:
    return {h.hazard_id: h for h in follower.hazards(NOW)}


def test_confirmed_hazards_and_reports_toward_confirmation_survive_a_restart(
    table_opener: Callable[[], HazardTable],
) -> None:
    first = _process(table_opener())
    for car in range(3):  # three cars hit the first pothole, two of them the second too
        _drive(first, car, (FIRST, SECOND) if car < 2 else (FIRST,))
    [before] = _published(first).values()
    assert before.cars == 3 and first.sensing.fusion.candidates() == 2
    first.stop()

    second = _process(table_opener())
    assert _published(second) == {before.hazard_id: before}  # same id, place, cars, times
    _drive(second, 3, (SECOND,))  # a third car on the second: two kept votes and its own
    after = _published(second)
    [new] = [h for h in after.values() if h.hazard_id != before.hazard_id]
    assert new.kind == Kind.POTHOLE and new.cars == 3
    second.stop()

    third = _process(table_opener())
    assert _published(third) == after
    _drive(third, 4, (5,))  # a third pothole: its id follows the kept ones, reused by none
    third.stop()
    kept, next_id = table_opener().load()
    assert sorted(c.hazard_id for c in kept) == ["h0", "h1", "h2"] and next_id == 3


def test_an_expired_hazard_stays_gone_after_a_restart(
    table_opener: Callable[[], HazardTable],
) -> None:
    first = _process(table_opener())
    for car in range(3):
        _drive(first, car, (FIRST,))
    assert len(_published(first)) == 1
    first.sensing.expire(NOW + 15 * 86_400_000)  # nobody reported it for the silence window
    first.stop()
    second = _process(table_opener())
    assert second.sensing.fusion.candidates() == 0
    assert second.hazards(NOW) == []
    second.stop()


def test_the_embedded_state_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    table = open_hazard_table(Settings(data_dir=tmp_path))
    assert isinstance(table, SQLiteHazards) and (tmp_path / DB_FILE).is_file()
    table.close()
