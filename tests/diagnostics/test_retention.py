"""The fleet-wide records are bounded by age: charging failures and sessions older than the
attribution's window and code occurrences (with their exposure) older than the reliability's
go, from memory and from the kept table, while what the analyses say about recent data stays
exactly what it was with everything kept.

Fourteen months of six cars, fed as the cars send them: a station broken in the first month
(every car fails there), then a car whose on-board charging fails and the station broken again
in the last weeks, each car charging fine at home every ten days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from volta.diagnostics.charging import HORIZON_MS
from volta.diagnostics.fleet import (
    CHARGING_KEEP_MS,
    OCCURRENCE_KEEP_MS,
    RECORD_KINDS,
    FleetDiagnostics,
)
from volta.diagnostics.store import DiagnosticsKeeper, DiagnosticsTable
from volta.diagnostics.vehicle import DTC_LIST, IS_CHARGING, LAT, LON, ODOMETER

T0 = 1_767_571_200_000  # 2026-01-05T00:00Z
DAY, MIN = 86_400_000, 60_000
VERSION = "Vehicle.OTA.BMS.SoftwareVersion"
STATION, OTHER = (60.1684, 24.9495), (60.1600, 24.9300)
CARS = [f"CAR{i}" for i in range(5)] + ["BAD"]
HOME = {vin: (60.17 + 0.01 * i, 24.90) for i, vin in enumerate(CARS)}
LAST_DAY = 430
Batch = tuple[str, list[tuple[int, str, Any]]]


def _session(vin: str, day: int, where: tuple[float, float], fails: bool) -> Batch:
    """A charge of ten minutes, aborted with P1C01 after one when `fails`."""
    i = CARS.index(vin)
    t = T0 + day * DAY + 8 * 3_600_000 + i * 20 * MIN
    samples: list[tuple[int, str, Any]] = [
        (t, LAT, where[0]),
        (t, LON, where[1]),
        (t, ODOMETER, 30_000.0 * day + 1_000.0 * i),  # 30 km a day
        (t, VERSION, "2.3.1" if day < 200 else "2.4.0"),
        (t, IS_CHARGING, True),
    ]
    if fails:
        samples += [(t + MIN, DTC_LIST, ["P1C01"]), (t + 2 * MIN, DTC_LIST, [])]
    samples.append((t + 10 * MIN, IS_CHARGING, False))
    return vin, samples


def _months() -> list[Batch]:
    out = [_session(vin, d, HOME[vin], False) for d in range(0, LAST_DAY, 10) for vin in CARS]
    out += [_session(vin, 3 + i, STATION, True) for i, vin in enumerate(CARS)]  # broken then
    # the last weeks: BAD fails at home, at the other station and at the working one...
    out += [_session("BAD", d, w, True) for d, w in ((400, HOME["BAD"]), (403, OTHER))]
    out += [_session(v, 404, OTHER, False) for v in CARS[:3]]
    out += [_session(v, 406, STATION, False) for v in CARS[:3]]
    out += [_session("BAD", 407, STATION, True)]
    # ... and the station breaks again
    out += [_session(v, 420 + i, STATION, True) for i, v in enumerate(CARS[:3])]
    return sorted(out, key=lambda b: b[1][0][0])


def _fed(fleet: FleetDiagnostics, batches: list[Batch]) -> FleetDiagnostics:
    for vin, samples in batches:
        fleet.feed(vin, samples)
    return fleet


def _never_pruned() -> FleetDiagnostics:
    return FleetDiagnostics(charging_keep_ms=10**13, occurrence_keep_ms=10**13)


def test_records_older_than_their_window_go_and_recent_verdicts_stay_the_same() -> None:
    batches = _months()
    kept, everything = _fed(FleetDiagnostics(), batches), _fed(_never_pruned(), batches)
    newest = T0 + (LAST_DAY - 10) * DAY  # the last home charges
    assert kept.newest_ms >= newest and CHARGING_KEEP_MS >= 2 * HORIZON_MS
    # gone: the first month's failures and every session older than the window
    charging_from = kept.newest_ms - CHARGING_KEEP_MS
    assert min(f.ts_ms for f in kept.failures + kept.good_sessions) >= charging_from - DAY
    old = [f for f in everything.failures if f.ts_ms < charging_from - DAY]
    assert len(old) == 6 and kept.pruned["failure"] == 6
    assert kept.failures == everything.failures[6:]
    n_sessions = len(everything.good_sessions) - len(kept.good_sessions)
    assert n_sessions > 150 and kept.pruned["session"] == n_sessions
    # what is left is judged exactly as with everything kept: BAD's three failures are the
    # car's, the station's three new ones the station's
    assert kept.attribution().causes == everything.attribution().causes[6:]
    assert kept.attribution().causes == ("car",) * 3 + ("charger",) * 3
    mine, all_mine = kept.report("BAD"), everything.report("BAD")
    assert mine is not None and all_mine is not None
    recent_of = all_mine["charging_failures"]["failures"][1:]  # its first was the station's
    assert mine["charging_failures"]["failures"] == recent_of
    assert mine["charging_failures"]["car_alert"] == all_mine["charging_failures"]["car_alert"]
    assert mine["charging_failures"]["car_alert"].startswith("Charging aborted 3 times")
    # the occurrences (P1C01 each time) and exposure of the months before the year's window
    assert kept.pruned["occurrence"] == 6 and len(kept.occurrences) == 6
    first_month = min(r.month for r in kept.reliability().rates)
    assert first_month > "2026-01" and kept.newest_ms - OCCURRENCE_KEEP_MS > T0
    recent = [r for r in everything.reliability().rates if r.month >= first_month]
    assert list(kept.reliability().rates) == recent
    # km between faults: the km driven since the first month kept over the faults since
    since = _month_start(first_month)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for vin, samples in batches:
        (ts, _, odo), *_ = (s for s in samples if s[1] == ODOMETER)
        if ts >= since:
            first.setdefault(vin, odo)
            last[vin] = odo
    km = sum(last[v] - first[v] for v in last) / 1000.0
    assert kept.reliability().mean_km_between_faults == {"unknown": round(km / 6, 1)}


def _month_start(month: str) -> int:
    return int(datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC).timestamp() * 1000)


def _rows(table: DiagnosticsTable) -> dict[str, int]:
    return dict(Counter(kind for kind, _, _ in table.load().records))


def test_the_kept_table_drops_them_too_and_a_reader_follows(
    table_opener: Callable[[], DiagnosticsTable],
) -> None:
    """Saved early (everything kept), then after the pruning: the table holds what memory
    holds; a restarted writer and a reader that had read the early save both end up with the
    same records, each at its place (SQLite and PostgreSQL)."""
    batches = _months()
    early = next(i for i, (_, s) in enumerate(batches) if s[0][0] > T0 + 65 * DAY)
    writer, keeper = FleetDiagnostics(), DiagnosticsKeeper(table_opener())
    reader, reading = FleetDiagnostics(), DiagnosticsKeeper(table_opener())
    _fed(writer, batches[:early])
    keeper.write(keeper.collect(writer, writer.vehicles))
    reading.restore(reader)
    assert len(reader.good_sessions) == len(writer.good_sessions) == 7 * 6
    assert len(reader.failures) == 6 and writer.pruned == dict.fromkeys(RECORD_KINDS, 0)
    _fed(writer, batches[early:])
    keeper.write(keeper.collect(writer, writer.vehicles))
    lists = writer.record_lists()
    assert _rows(keeper.table) == {k: len(lists[k]) for k in RECORD_KINDS}
    reading.restore(reader)
    restarted = FleetDiagnostics()
    DiagnosticsKeeper(table_opener()).restore(restarted)
    for fleet in (reader, restarted):
        assert fleet.record_lists() == lists and fleet.pruned == writer.pruned
        assert fleet.attribution() == writer.attribution()
        assert fleet.reliability() == writer.reliability()
