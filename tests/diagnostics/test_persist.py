"""After-sales diagnostics survive a restart and reach the API processes: the state is kept
(SQLite in the data dir, embedded; PostgreSQL, scale-out) and loaded back by the next process,
which goes on exactly where the first stopped; a reader (a scale-out API process) answers what
the writer answered.

The fleet: simulated cars with every kind of fault, three days of telemetry, fed as the live
follower feeds it, with trouble codes, predictions with their evidence, charging failures and
sessions, and code occurrences in the state.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from volta.diagnostics import snapshot
from volta.diagnostics.feed import ChangeFeed
from volta.diagnostics.fleet import FleetDiagnostics
from volta.diagnostics.mirror import DiagnosticsMirror
from volta.diagnostics.store import (
    DB_FILE,
    DiagnosticsKeeper,
    DiagnosticsTable,
    SQLiteDiagnostics,
)
from volta.diagnostics.vehicle import AlertChange, VehicleDiagnostics
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import SIGNALS, Telemetry

from ..sim.simrun import START_MS, helsinki

Batch = tuple[str, list[tuple[int, str, object]]]
_ts = itemgetter(0)


@pytest.fixture(scope="module")
def fleet_days() -> tuple[list[Batch], dict[str, str]]:
    """Ten cars, three days, faults of every kind frequent enough to show (the simulator's
    motion at 10 s, as volta.diagnostics.evaluation runs it)."""
    fleet = Fleet(
        FleetConfig(vehicles=10, seed=3, start_ms=START_MS, faults=FaultRates.everything(100.0)),
        helsinki(),
    )
    rates = {
        s.path: (max(s.drive_period_s, 10), s.park_period_s) for s in SIGNALS if s.drive_period_s
    }
    tel = Telemetry(fleet.vins, 3, rates=rates)
    end = 3 * 86_400
    raw = []
    while fleet.t < end:
        raw += tel.batches(fleet.step(end))
    raw += tel.flush()
    batches: list[Batch] = [
        (b.vin, sorted(((b.ts + off, str(p), v) for off, p, v in b.samples), key=_ts)) for b in raw
    ]
    return batches, {v.vin: v.model for v in fleet.truth.vehicles}


def _answers(fleet: FleetDiagnostics) -> Any:
    """Everything the diagnostics routes and the OTA halt read."""
    return msgspec.to_builtins(
        {
            "reports": {vin: fleet.report(vin) for vin in sorted(fleet.vehicles)},
            "reliability": fleet.reliability(),
            "attribution": fleet.attribution(),
            "bms": fleet.records_for("BMS")[0],
        }
    )


def _feed(fleet: FleetDiagnostics, batches: list[Batch]) -> set[str]:
    for vin, samples in batches:
        fleet.feed(vin, samples)
    return {vin for vin, _ in batches}


def _save(
    keeper: DiagnosticsKeeper, fleet: FleetDiagnostics, vins: set[str], limit: int | None = None
) -> None:
    """Save until no history waits (at most `limit` histories a save)."""
    keeper.write(keeper.collect(fleet, vins, limit))
    while keeper.waiting:
        keeper.write(keeper.collect(fleet, (), limit))


def test_a_restarted_process_answers_the_same_and_goes_on_exactly_where_it_stopped(
    fleet_days: tuple[list[Batch], dict[str, str]],
    table_opener: Callable[[], DiagnosticsTable],
) -> None:
    batches, models = fleet_days
    half = len(batches) // 2
    never_stopped = FleetDiagnostics(model_of=models.__getitem__)
    first = FleetDiagnostics(model_of=models.__getitem__)
    keeper = DiagnosticsKeeper(table_opener())
    reader = DiagnosticsMirror(table_opener(), refresh_s=0.0)  # a scale-out API process
    # saved every quarter of the first half: each save writes only what changed, at most
    # three histories at a time
    for part in range(4):
        chunk = batches[part * half // 4 : (part + 1) * half // 4]
        _feed(never_stopped, chunk)
        _save(keeper, first, _feed(first, chunk), limit=3)
        vin = chunk[-1][0]  # one car's diagnosis reads that car's parts only
        assert reader.report(vin) == never_stopped.report(vin)
        assert reader.read(_answers) == _answers(never_stopped)
    before = _answers(first)
    assert sum(len(r["codes"]) for r in before["reports"].values()) >= 5
    assert any(r["predictions"] for r in before["reports"].values())
    assert before["reliability"]["top_issues"]

    second = FleetDiagnostics(model_of=lambda vin: "never asked: the model is kept")
    second_keeper = DiagnosticsKeeper(table_opener())
    second_keeper.restore(second)
    assert _answers(second) == before
    # the rest of the days: as if there had been no restart (the hour being averaged, the
    # session under way, the codes' occurrences, the records' order all carried over)
    rest = batches[half:]
    _save(second_keeper, second, _feed(second, rest))
    _feed(never_stopped, rest)
    assert _answers(second) == _answers(never_stopped)
    assert reader.read(_answers) == _answers(never_stopped)

    third = FleetDiagnostics()
    DiagnosticsKeeper(table_opener()).restore(third)
    after = _answers(third)
    assert after == _answers(never_stopped)
    assert any(p["active"] for r in after["reports"].values() for p in r["predictions"])
    assert after["attribution"]["causes"]


def test_every_attribute_of_a_vehicles_diagnostics_is_kept() -> None:
    """A new attribute of `VehicleDiagnostics` must be added to the kept parts
    (volta.diagnostics.snapshot), or a restart would lose it."""
    assert set(vars(VehicleDiagnostics("V"))) == snapshot.KEPT_ATTRIBUTES


def test_a_part_that_cannot_be_read_leaves_that_vehicle_to_build_up_again(tmp_path: Path) -> None:
    table = SQLiteDiagnostics.open(tmp_path)
    fleet = FleetDiagnostics()
    fleet.feed("V1", [(1_000, "Vehicle.Diagnostics.DTCList", ["P1B10"])])
    fleet.feed("V2", [(1_000, "Vehicle.Diagnostics.DTCList", ["P1B10"])])
    keeper = DiagnosticsKeeper(table)
    keeper.write(keeper.collect(fleet, {"V1", "V2"}))
    table.save([("V2", snapshot.STATE, b"\xc1 written by another Volta")], [], 99)
    restored = FleetDiagnostics()
    other = DiagnosticsKeeper(table)
    other.restore(restored)
    assert other.skipped == 1
    assert restored.report("V1") == fleet.report("V1")
    assert (tmp_path / DB_FILE).is_file()
    table.close()


def test_each_alert_change_is_passed_on_once_also_by_a_restarted_reader(
    table_opener: Callable[[], DiagnosticsTable],
) -> None:
    """What a scale-out API process's service desk gets (volta.diagnostics.feed): the changes
    recorded since it last looked, each once; a new reader on the kept marks goes on after
    them; a car whose marked change was dropped (more than 100 since) gets the later ones."""
    writer = table_opener()
    veh = VehicleDiagnostics("V1")
    rev = 0

    def record(*changes: AlertChange) -> None:
        nonlocal rev
        veh.changes = [*veh.changes, *changes][-3:]  # as if it kept 3
        rev += 1
        writer.save([("V1", snapshot.HISTORY, snapshot.encode(snapshot.history_of(veh)))], [], rev)

    def change(ts: int, on: bool = True) -> AlertChange:
        return AlertChange("V1", "tyre_leak", "Front-left", on, ts, "losing air")

    got: list[AlertChange] = []
    feed = ChangeFeed(table_opener())
    record(change(1), change(2, False))
    assert feed.pass_on(got.extend) == 2 and got == [change(1), change(2, False)]
    assert feed.pass_on(got.extend) == 0
    record(change(3))
    assert feed.pass_on(got.extend) == 1 and got[-1] == change(3)
    restarted = ChangeFeed(table_opener())
    assert restarted.pass_on(got.extend) == 0
    record(change(4, False), change(5), change(6, False))  # change(3) is no longer kept
    assert restarted.pass_on(got.extend) == 3 and got[-3:] == [
        change(4, False),
        change(5),
        change(6, False),
    ]
    assert [c.ts_ms for c in got] == [1, 2, 3, 4, 5, 6]
