"""The telemetry store contract: what every engine must do, with exact outcomes.

Runs against every param of the `engine` fixture (conftest.py); engines must pass it unchanged.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volta.errors import BadRequest
from volta.store.base import (
    AcceptedBatch,
    ExportFormat,
    LatestValue,
    QuarantineRecord,
    Series,
    StoreStats,
    TelemetryStore,
)
from volta.store.duckdb_store import DuckDBStore

from .storekit import T0, VIN_A, VIN_B, StoreFactory, batch

SPEED, SOC, GEAR = 101, 102, 103  # two numeric signals, one text signal


# -- append and de-duplication ---------------------------------------------------------------


def test_resent_batch_is_stored_once(store: TelemetryStore) -> None:
    b = batch(VIN_A, 1, [(0, SPEED, 10.0), (1000, SPEED, 11.0)])
    assert store.append([b]) == set()
    assert store.append([b]) == {(VIN_A, 1)}
    assert store.stats() == StoreStats(batches=1, samples=2, quarantined=0, vehicles=1)


def test_duplicate_within_one_call_is_stored_once_first_copy_wins(store: TelemetryStore) -> None:
    first = batch(VIN_A, 7, [(0, SPEED, 1.0)])
    other = batch(VIN_B, 7, [(0, SPEED, 2.0)])
    resent = batch(VIN_A, 7, [(0, SPEED, 99.0), (5, SPEED, 98.0)])
    assert store.append([first, other, resent]) == {(VIN_A, 7)}
    assert [s.num for s in store.history(VIN_A, [SPEED], T0, T0 + 10)] == [[1.0]]
    assert store.stats().samples == 2


def test_batch_with_every_sample_rejected_still_counts_as_stored(store: TelemetryStore) -> None:
    empty = batch(VIN_A, 3, [], rejected=4)
    assert store.append([empty]) == set()
    assert store.has_batch(VIN_A, 3)
    assert store.append([empty]) == {(VIN_A, 3)}
    assert store.stats() == StoreStats(batches=1, samples=0, quarantined=0, vehicles=1)


def test_has_batch_and_recent_seqs(store: TelemetryStore) -> None:
    store.append([batch(VIN_A, s, [(0, SPEED, float(s))]) for s in (4, 9, 1, 10, 7)])
    store.append([batch(VIN_B, 50, [])])
    assert store.has_batch(VIN_A, 9)
    assert not store.has_batch(VIN_A, 50)
    assert not store.has_batch(VIN_B, 9)
    assert store.recent_seqs(VIN_A, 3) == [10, 9, 7]
    assert store.recent_seqs(VIN_A, 100) == [10, 9, 7, 4, 1]
    assert store.recent_seqs(VIN_B, 3) == [50]
    assert store.recent_seqs("JHMZZ1A1XRV000009", 3) == []


def _snapshot(store: TelemetryStore) -> tuple[Any, ...]:
    """Everything a reader can see of the samples, in a canonical order."""
    history = [
        (s.signal_id, s.ts, s.num, s.txt)
        for vin in (VIN_A, VIN_B)
        for s in store.history(vin, [SPEED, SOC, GEAR], 0, 2**62, max_points=10**6)
    ]
    return history, list(store.latest()), store.stats()


_sample = st.one_of(
    st.tuples(st.integers(0, 3), st.sampled_from([SPEED, SOC]), st.integers(-50, 50)),
    st.tuples(st.integers(0, 3), st.just(GEAR), st.sampled_from(["P", "D", "R"])),
)
_batch_set = st.lists(
    st.tuples(st.sampled_from([VIN_A, VIN_B]), st.integers(0, 30), st.lists(_sample, max_size=6)),
    min_size=1,
    max_size=8,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_batch_set, data=st.data())
def test_any_order_and_duplication_of_batches_stores_the_same_samples(
    engine: StoreFactory,
    spec: list[tuple[str, int, list[tuple[int, int, int | str]]]],
    data: st.DataObject,
) -> None:
    # Offsets of whole seconds and few signals make equal sample times common, to exercise
    # the latest-value tie-break (higher seq wins) as well.
    batches = [
        batch(vin, seq, [(o * 1000, s, float(v) if isinstance(v, int) else v) for o, s, v in smp])
        for vin, seq, smp in spec
    ]
    # The reference is an in-memory DuckDB store (every engine must read the same as it):
    # a second store of the engine under test per example was half of this test's time
    # on PostgreSQL (each one migrates a fresh schema).
    reference = DuckDBStore(None)
    assert reference.append(batches) == set()
    expected = _snapshot(reference)

    extra = data.draw(st.lists(st.sampled_from(range(len(batches))), max_size=6))
    order = data.draw(st.permutations(list(range(len(batches))) + extra))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=3)))
    shuffled = engine()
    seen: set[tuple[str, int]] = set()
    for lo, hi in zip([0, *cuts], [*cuts, len(order)], strict=True):
        call = [batches[i] for i in order[lo:hi]]
        want: set[tuple[str, int]] = set()
        for b in call:
            (want if (b.vin, b.seq) in seen else seen).add((b.vin, b.seq))
        assert shuffled.append(call) == want
    assert _snapshot(shuffled) == expected
    reference.close()  # now rather than at teardown: hypothesis makes many stores per test
    shuffled.close()


# -- latest ------------------------------------------------------------------------------------


def test_latest_goes_by_sample_time_not_arrival(store: TelemetryStore) -> None:
    store.append([batch(VIN_A, 2, [(0, SPEED, 20.0)], ts=T0 + 10_000)])
    store.append([batch(VIN_A, 1, [(0, SPEED, 10.0), (0, SOC, 80.0)], ts=T0)])  # late, older
    assert list(store.latest(VIN_A)) == [
        LatestValue(VIN_A, SPEED, T0 + 10_000, 20.0, None),
        LatestValue(VIN_A, SOC, T0, 80.0, None),
    ]
    store.append([batch(VIN_A, 3, [(0, SPEED, 30.0)], ts=T0 + 20_000)])
    assert next(iter(store.latest(VIN_A))) == LatestValue(VIN_A, SPEED, T0 + 20_000, 30.0, None)


def test_latest_in_one_call_goes_by_sample_time(store: TelemetryStore) -> None:
    store.append(
        [
            batch(VIN_A, 2, [(0, SPEED, 20.0)], ts=T0 + 10_000),
            batch(VIN_A, 1, [(0, SPEED, 10.0), (20_000, SPEED, 30.0), (5, SPEED, 5.0)], ts=T0),
        ]
    )
    assert list(store.latest(VIN_A)) == [LatestValue(VIN_A, SPEED, T0 + 20_000, 30.0, None)]


def test_latest_tie_on_sample_time_goes_to_higher_seq(store: TelemetryStore) -> None:
    store.append([batch(VIN_A, 5, [(0, SPEED, 5.0)])])
    store.append([batch(VIN_A, 3, [(0, SPEED, 3.0)])])
    store.append([batch(VIN_A, 9, [(0, SOC, 9.0)]), batch(VIN_A, 8, [(0, SOC, 8.0)])])
    store.append([batch(VIN_A, 1, [(0, GEAR, "D"), (0, GEAR, "R")])])  # same batch: later wins
    assert list(store.latest(VIN_A)) == [
        LatestValue(VIN_A, SPEED, T0, 5.0, None),
        LatestValue(VIN_A, SOC, T0, 9.0, None),
        LatestValue(VIN_A, GEAR, T0, None, "R"),
    ]


def test_latest_of_one_vehicle_or_all_ordered_by_vin_and_signal(store: TelemetryStore) -> None:
    store.append(
        [
            batch(VIN_B, 1, [(0, SOC, 70.0), (0, SPEED, 1.0)]),
            batch(VIN_A, 1, [(0, GEAR, "P"), (0, SPEED, 2.0)]),
        ]
    )
    assert list(store.latest()) == [
        LatestValue(VIN_A, SPEED, T0, 2.0, None),
        LatestValue(VIN_A, GEAR, T0, None, "P"),
        LatestValue(VIN_B, SPEED, T0, 1.0, None),
        LatestValue(VIN_B, SOC, T0, 70.0, None),
    ]
    assert [v.signal_id for v in store.latest(VIN_B)] == [SPEED, SOC]
    assert list(store.latest("JHMZZ1A1XRV000009")) == []


# -- history -----------------------------------------------------------------------------------


def _seconds(vin: str, seq: int, sig: int, values: list[Any], ts: int = T0) -> AcceptedBatch:
    """One sample per second from `ts` on."""
    return batch(vin, seq, [(i * 1000, sig, v) for i, v in enumerate(values)], ts=ts)


def test_history_is_raw_when_at_most_max_points(store: TelemetryStore) -> None:
    store.append([_seconds(VIN_A, 1, SPEED, [3.0, 1.0, 4.0, 1.0, 5.0])])
    assert store.history(VIN_A, [SPEED], T0, T0 + 5000, max_points=5) == [
        Series(
            SPEED,
            ts=[T0, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000],
            num=[3.0, 1.0, 4.0, 1.0, 5.0],
            txt=[None] * 5,
        )
    ]


def test_history_is_bucketed_one_sample_past_max_points(store: TelemetryStore) -> None:
    store.append([_seconds(VIN_A, 1, SPEED, [3.0, 1.0, 4.0, 1.0, 5.0, 9.0])])
    (s,) = store.history(VIN_A, [SPEED], T0, T0 + 6000, max_points=5)
    assert s.downsampled
    assert s.bucket_ms == 1200  # ceil(6000 / 5)
    assert s.ts == [T0, T0 + 1200, T0 + 2400, T0 + 3600, T0 + 4800]
    assert s.count == [2, 1, 1, 1, 1]
    assert s.num == [1.0, 4.0, 1.0, 5.0, 9.0]


def test_history_bucket_values_are_exact(store: TelemetryStore) -> None:
    values = [4.0, 8.0, 1.0, 3.0, 5.0, 9.0, 4.0, 7.0, 6.0, 2.0]
    store.append(
        [
            _seconds(VIN_A, 1, SPEED, values),
            batch(VIN_A, 2, [(-1, SPEED, 100.0), (10_000, SPEED, 100.0)]),  # just outside the range
        ]
    )
    (s,) = store.history(VIN_A, [SPEED], T0, T0 + 10_000, max_points=3)
    assert s == Series(
        SPEED,
        ts=[T0, T0 + 3334, T0 + 6668],  # bucket_ms = ceil(10000 / 3) = 3334
        num=[3.0, 4.0, 2.0],  # last of each bucket
        txt=[None, None, None],
        downsampled=True,
        bucket_ms=3334,
        min=[1.0, 4.0, 2.0],
        max=[8.0, 9.0, 7.0],
        avg=[4.0, 6.0, 5.0],
        count=[4, 3, 3],
    )


def test_history_range_is_half_open(store: TelemetryStore) -> None:
    store.append([_seconds(VIN_A, 1, SPEED, [1.0, 2.0, 3.0, 4.0])])
    (s,) = store.history(VIN_A, [SPEED], T0 + 1000, T0 + 3000)
    assert (s.ts, s.num) == ([T0 + 1000, T0 + 2000], [2.0, 3.0])


def test_history_leaves_out_empty_buckets(store: TelemetryStore) -> None:
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0), (1, SPEED, 2.0), (9000, SPEED, 3.0)])])
    (s,) = store.history(VIN_A, [SPEED], T0, T0 + 10_000, max_points=2)
    assert (s.ts, s.count, s.avg, s.num) == ([T0, T0 + 5000], [2, 1], [1.5, 3.0], [2.0, 3.0])


def test_history_of_text_signal_gives_last_per_bucket(store: TelemetryStore) -> None:
    store.append([_seconds(VIN_A, 1, GEAR, ["P", "D", "R", "D"])])
    assert store.history(VIN_A, [GEAR], T0, T0 + 4000) == [
        Series(GEAR, ts=[T0 + i * 1000 for i in range(4)], num=[None] * 4, txt=["P", "D", "R", "D"])
    ]
    assert store.history(VIN_A, [GEAR], T0, T0 + 4000, max_points=2) == [
        Series(
            GEAR,
            ts=[T0, T0 + 2000],
            num=[None, None],
            txt=["D", "D"],
            downsampled=True,
            bucket_ms=2000,
            min=[None, None],
            max=[None, None],
            avg=[None, None],
            count=[2, 2],
        )
    ]


HOUR = 3_600_000


def test_history_finds_every_sample_of_a_batch_spanning_hours(store: TelemetryStore) -> None:
    # A car that was offline sends hours in one batch, its samples not in time order.
    offsets = [0, 5 * 60_000, 15 * 60_000, 3 * HOUR, HOUR + 1, 2 * HOUR - 1]
    t = T0 + 50 * 60_000  # the batch starts 10 minutes before an hour ends
    store.append([batch(VIN_A, 1, [(o, SPEED, float(i)) for i, o in enumerate(offsets)], ts=t)])

    def series(start: int, end: int) -> tuple[list[int], list[float | None]]:
        (s,) = store.history(VIN_A, [SPEED], start, end)
        return s.ts, s.num

    assert series(t + 2 * 60_000, t + 20 * 60_000) == (
        [t + 5 * 60_000, t + 15 * 60_000],
        [1.0, 2.0],
    )
    assert series(t + HOUR, t + 4 * HOUR) == (
        [t + HOUR + 1, t + 2 * HOUR - 1, t + 3 * HOUR],
        [4.0, 5.0, 3.0],
    )
    assert store.stats().samples == 6


def test_batch_mixing_text_and_numbers_keeps_each_in_place(store: TelemetryStore) -> None:
    store.append(
        [
            batch(
                VIN_A,
                1,
                [(0, SPEED, 1.0), (0, GEAR, "P"), (1000, SPEED, 2.0), (1000, GEAR, 'a "q"\\t\n')],
            )
        ]
    )
    speed, gear = store.history(VIN_A, [SPEED, GEAR], T0, T0 + 2000)
    assert (speed.num, speed.txt) == ([1.0, 2.0], [None, None])
    assert (gear.num, gear.txt) == ([None, None], ["P", 'a "q"\\t\n'])


def test_history_of_late_batches_is_in_time_order_and_ties_go_to_the_larger_value(
    store: TelemetryStore,
) -> None:
    # Batch 2 arrives first but holds later samples; batch 3 repeats a time with a new value.
    store.append([_seconds(VIN_A, 2, SPEED, [5.0, 6.0], ts=T0 + 2000)])
    store.append([_seconds(VIN_A, 1, SPEED, [1.0, 2.0])])
    store.append([batch(VIN_A, 3, [(3000, SPEED, 0.5)])])
    (raw,) = store.history(VIN_A, [SPEED], T0, T0 + 4000)
    assert (raw.ts, raw.num) == ([T0, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 3000],
                                 [1.0, 2.0, 5.0, 0.5, 6.0])  # fmt: skip
    (s,) = store.history(VIN_A, [SPEED], T0, T0 + 4000, max_points=2)
    assert (s.ts, s.num, s.count) == ([T0, T0 + 2000], [2.0, 6.0], [2, 3])
    assert (s.min, s.max, s.avg) == ([1.0, 0.5], [2.0, 6.0], [1.5, 11.5 / 3])
    ts, num = store.scan(VIN_A, [SPEED], T0, T0 + 4000)[SPEED]
    assert ts.tolist() == raw.ts and sorted(num.tolist()) == sorted(v for v in raw.num if v)


def test_history_answers_every_signal_in_request_order(store: TelemetryStore) -> None:
    store.append(
        [
            _seconds(VIN_A, 1, SPEED, [1.0, 2.0, 3.0, 4.0]),
            _seconds(VIN_A, 2, SOC, [80.0, 79.0]),
            _seconds(VIN_B, 1, GEAR, ["D"]),  # another vehicle's data is not included
        ]
    )
    soc, gear, speed = store.history(VIN_A, [SOC, GEAR, SPEED], T0, T0 + 4000, max_points=2)
    assert (soc.signal_id, soc.downsampled, soc.num) == (SOC, False, [80.0, 79.0])
    assert gear == Series(GEAR, [], [], [])
    assert (speed.signal_id, speed.downsampled, speed.avg) == (SPEED, True, [1.5, 3.5])


def test_history_of_empty_range_gives_empty_series(store: TelemetryStore) -> None:
    store.append([_seconds(VIN_A, 1, SPEED, [1.0, 2.0])])
    empty = [Series(SOC, [], [], []), Series(SPEED, [], [], [])]
    assert store.history(VIN_A, [SOC, SPEED], T0 + 5000, T0 + 9000) == empty
    assert store.history(VIN_A, [SOC, SPEED], T0 + 1000, T0 + 1000) == empty
    assert store.history(VIN_A, [SOC, SPEED], T0 + 2000, T0) == empty
    assert store.history(VIN_A, [], T0, T0 + 9000) == []


def test_history_refuses_max_points_below_one(store: TelemetryStore) -> None:
    with pytest.raises(BadRequest, match="max_points"):
        store.history(VIN_A, [SPEED], T0, T0 + 1000, max_points=0)


# -- export ------------------------------------------------------------------------------------

_EXPORT_ROWS = [
    (VIN_A, SPEED, T0, 1.5, None),
    (VIN_A, SPEED, T0 + 1000, 2.5, None),
    (VIN_A, GEAR, T0 + 1000, None, "D"),
]


@pytest.fixture
def exportable(store: TelemetryStore) -> TelemetryStore:
    store.append(
        [
            batch(
                VIN_A, 1, [(0, SPEED, 1.5), (1000, SPEED, 2.5), (1000, GEAR, "D"), (5000, SOC, 1.0)]
            ),
            batch(VIN_B, 1, [(0, SPEED, 7.0)]),
        ]
    )
    return store


def test_export_parquet_round_trip(exportable: TelemetryStore, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    n = exportable.export(VIN_A, [SPEED, GEAR], T0, T0 + 5000, ExportFormat.PARQUET, path)
    table = pq.read_table(path)
    assert n == 3
    assert table.column_names == ["vin", "signal_id", "ts_ms", "num", "txt"]
    assert sorted(zip(*table.to_pydict().values(), strict=True)) == sorted(_EXPORT_ROWS)


def test_export_csv_round_trip(exportable: TelemetryStore, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert exportable.export(VIN_A, None, T0, T0 + 5000, ExportFormat.CSV, path) == 3
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["vin", "signal_id", "ts_ms", "num", "txt"]
    parsed = [(v, int(s), int(t), float(n) if n else None, x or None) for v, s, t, n, x in rows[1:]]
    assert sorted(parsed) == sorted(_EXPORT_ROWS)


def test_export_is_ordered_by_time_then_signal(exportable: TelemetryStore, tmp_path: Path) -> None:
    exportable.append([batch(VIN_A, 2, [(500, GEAR, "N"), (500, SPEED, 2.0)])])
    path = tmp_path / "out.parquet"
    assert exportable.export(VIN_A, None, T0, T0 + 5000, ExportFormat.PARQUET, path) == 5
    table = pq.read_table(path)
    assert list(zip(table["ts_ms"].to_pylist(), table["signal_id"].to_pylist(), strict=True)) == [
        (T0, SPEED), (T0 + 500, SPEED), (T0 + 500, GEAR), (T0 + 1000, SPEED), (T0 + 1000, GEAR)
    ]  # fmt: skip


def test_export_of_nothing_writes_no_rows(exportable: TelemetryStore, tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    assert exportable.export(VIN_A, [SOC], T0, T0 + 5000, ExportFormat.PARQUET, path) == 0
    assert pq.read_table(path).num_rows == 0


# -- quarantine and stats ----------------------------------------------------------------------


def _rejects(n: int, vin: str | None = VIN_A) -> list[QuarantineRecord]:
    return [
        QuarantineRecord(T0 + i, f"sample {i}: out of range", "out_of_range", vin, 1, i, "X")
        for i in range(n)
    ]


def test_quarantine_keeps_every_field(store: TelemetryStore) -> None:
    whole = QuarantineRecord(T0, "not JSON or MessagePack", "undecodable", raw=b"\x00\xff{")
    sample = QuarantineRecord(
        T0 + 1, "sample 3: Vehicle.Speed expects float, got 'fast'", "wrong_type",
        VIN_A, 42, 3, "Vehicle.Speed", b'[0, "Vehicle.Speed", "fast"]',
    )  # fmt: skip
    store.append([], [whole, sample])
    assert [q.record for q in store.quarantined()] == [sample, whole]


def test_quarantine_pages_newest_first(store: TelemetryStore) -> None:
    store.append([], _rejects(3))
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)])], _rejects(2))
    everything = store.quarantined()
    ids = [q.id for q in everything]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    page1 = store.quarantined(limit=2)
    page2 = store.quarantined(limit=2, before_id=page1[-1].id)
    page3 = store.quarantined(limit=2, before_id=page2[-1].id)
    assert page1 + page2 + page3 == everything
    assert store.quarantined(limit=2, before_id=page3[-1].id) == []
    # within one call, later records are newer
    assert [q.record.sample_index for q in everything] == [1, 0, 2, 1, 0]


def test_quarantine_filters_by_vehicle(store: TelemetryStore) -> None:
    store.append([], _rejects(2, VIN_A) + _rejects(1, VIN_B) + _rejects(1, None))
    assert [q.record.vin for q in store.quarantined(vin=VIN_B)] == [VIN_B]
    assert len(store.quarantined(vin=VIN_A)) == 2
    assert len(store.quarantined()) == 4


def test_stats_count_batches_samples_quarantine_and_vehicles(store: TelemetryStore) -> None:
    assert store.stats() == StoreStats(batches=0, samples=0, quarantined=0, vehicles=0)
    store.append(
        [batch(VIN_A, 1, [(0, SPEED, 1.0), (0, SOC, 2.0)]), batch(VIN_B, 1, [(0, SPEED, 3.0)])],
        _rejects(2),
    )
    store.append([batch(VIN_A, 2, [(0, GEAR, "P")]), batch(VIN_A, 1, [(0, SPEED, 9.0)])])
    assert store.stats() == StoreStats(batches=3, samples=4, quarantined=2, vehicles=2)


# -- scan (the derived services' columnar read) ------------------------------------------------


def test_scan_returns_numeric_samples_per_signal_sorted_by_time(store: TelemetryStore) -> None:
    store.append(
        [
            batch(VIN_A, 2, [(2000, SPEED, 3.0), (0, GEAR, "D"), (1000, SOC, 50.0)], ts=T0 + 10),
            batch(VIN_A, 1, [(0, SPEED, 1.0), (1000, SPEED, 2.0), (9000, SPEED, 9.0)]),
            batch(VIN_B, 1, [(500, SPEED, 7.0)]),
        ]
    )
    got = store.scan(VIN_A, [SPEED, SOC, GEAR, 999], T0, T0 + 5000)
    assert set(got) == {SPEED, SOC, GEAR, 999}
    ts, num = got[SPEED]
    assert ts.dtype.kind == "i" and num.dtype.kind == "f"
    assert ts.tolist() == [T0, T0 + 1000, T0 + 2010]
    assert num.tolist() == [1.0, 2.0, 3.0]
    assert got[SOC][0].tolist() == [T0 + 1010] and got[SOC][1].tolist() == [50.0]
    assert len(got[GEAR][0]) == 0 and len(got[999][1]) == 0
    assert store.scan(VIN_A, [], T0, T0 + 5000) == {}
    assert len(store.scan(VIN_B, [SPEED], T0, T0)[SPEED][0]) == 0
