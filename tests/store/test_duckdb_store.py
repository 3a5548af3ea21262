"""What only the DuckDB engine has to show: files, restarts, crashes, threads, opening."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from volta.config import Settings
from volta.errors import ConfigError, Unavailable, ValidationError
from volta.store import DuckDBStore, open_store
from volta.store.base import AcceptedBatch, QuarantineRecord, Series, StoreStats
from volta.store.duckdb_store import SCHEMA_VERSION

from .storekit import T0, VIN_A, VIN_B, batch

SPEED, GEAR = 101, 103


def test_reopened_file_has_the_same_data(tmp_path: Path) -> None:
    path = tmp_path / "volta.duckdb"
    store = DuckDBStore(path)
    store.append(
        [batch(VIN_A, 1, [(0, SPEED, 1.0), (1000, GEAR, "D")]), batch(VIN_B, 4, [(0, SPEED, 2.0)])],
        [QuarantineRecord(T0, "bad", "bad", VIN_A, 1, 2, "X", b"raw")],
    )
    before = (
        list(store.latest()),
        store.history(VIN_A, [SPEED, GEAR], T0, T0 + 2000),
        store.quarantined(),
        store.stats(),
    )
    store.close()

    reopened = DuckDBStore(path)
    after = (
        list(reopened.latest()),
        reopened.history(VIN_A, [SPEED, GEAR], T0, T0 + 2000),
        reopened.quarantined(),
        reopened.stats(),
    )
    assert after == before
    assert reopened.append([batch(VIN_A, 1, [(0, SPEED, 5.0)])]) == {(VIN_A, 1)}
    reopened.append([], [QuarantineRecord(T0, "worse", "bad")])
    assert [q.id for q in reopened.quarantined()] == [2, 1]  # ids continue, never reused
    reopened.close()


def test_committed_append_survives_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "volta.duckdb"
    writer = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from storekit import batch, VIN_A
        from volta.store import DuckDBStore
        store = DuckDBStore({str(path)!r})
        for first in range(0, 100, 5):  # 20 commits
            store.append([batch(VIN_A, s, [(0, 101, float(s))]) for s in range(first, first + 5)])
        os._exit(0)  # no close(), no checkpoint: only the WAL has the data
    """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=60)
    store = DuckDBStore(path)
    assert store.stats() == StoreStats(batches=100, samples=100, quarantined=0, vehicles=1)
    assert store.recent_seqs(VIN_A, 2) == [99, 98]
    store.close()


def test_failed_append_stores_nothing(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "volta.duckdb")
    good = batch(VIN_A, 1, [(0, SPEED, 1.0)])
    bad = batch(VIN_A, 2, [(0, 2**40, 1.0)])  # signal id does not fit the INTEGER column
    with pytest.raises(ValidationError, match="signal id"):
        store.append([good, bad], [QuarantineRecord(T0, "r", "c")])
    assert store.stats() == StoreStats(batches=0, samples=0, quarantined=0, vehicles=0)
    assert store.append([good]) == set()
    store.close()


def test_schema_version_is_recorded_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "volta.duckdb"
    store = DuckDBStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, 0)", [SCHEMA_VERSION + 1])
    with pytest.raises(Unavailable, match="upgrade Volta"):
        DuckDBStore(path)


@pytest.mark.parametrize("path", [None, ":memory:"])
def test_in_memory_store(path: str | None) -> None:
    store = DuckDBStore(path)
    store.append([batch(VIN_A, 1, [(0, SPEED, 1.0)])])
    assert store.stats().samples == 1
    assert store.path is None
    store.close()


def test_closed_store_refuses_work() -> None:
    store = DuckDBStore(None)
    store.close()
    store.close()  # idempotent
    with pytest.raises(Unavailable, match="closed"):
        store.stats()


def _big_batches(first_seq: int, n: int, per: int = 100) -> list[AcceptedBatch]:
    return [
        batch(VIN_A, s, [(i * 10, SPEED + i % 3, float(i)) for i in range(per)], ts=T0 + s * 1000)
        for s in range(first_seq, first_seq + n)
    ]


def test_readers_see_whole_commits_while_a_writer_appends() -> None:
    store = DuckDBStore(None)
    calls = [_big_batches(k * 200, 200) for k in range(6)]  # 20,000 samples a call
    seen: list[list[int]] = [[] for _ in range(3)]
    errors: list[BaseException] = []
    done = threading.Event()

    def read(out: list[int]) -> None:
        try:
            while not done.is_set():
                out.append(store.stats().samples)
                store.history(VIN_A, [SPEED, SPEED + 1], T0, T0 + 10**7, max_points=100)
                list(store.latest(VIN_A))
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    readers = [threading.Thread(target=read, args=(out,)) for out in seen]
    for t in readers:
        t.start()
    for call in calls:
        assert store.append(call) == set()
    done.set()
    for t in readers:
        t.join(timeout=30)
    assert errors == []
    for counts in seen:
        assert counts == sorted(counts)  # never goes back
        assert all(c % 20_000 == 0 for c in counts)  # never half a commit
    assert store.stats().samples == 120_000
    store.close()


def test_reads_go_on_during_a_long_write(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "volta.duckdb")
    big = _big_batches(0, 4000)  # 400,000 samples in one transaction
    window: list[float] = []
    reads: list[float] = []
    started = threading.Event()

    def write() -> None:
        started.set()
        window.append(time.perf_counter())
        store.append(big)
        window.append(time.perf_counter())

    writer = threading.Thread(target=write)
    writer.start()
    started.wait()
    while writer.is_alive():
        store.stats()
        reads.append(time.perf_counter())
    writer.join()
    during = [t for t in reads if window[0] < t < window[1]]
    assert len(during) >= 3, (
        f"{len(during)} reads finished during a {window[1] - window[0]:.2f}s write"
    )
    assert store.stats().samples == 400_000
    store.close()


def test_open_store_creates_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data" / "here", store="duckdb")
    store = open_store(settings)
    assert isinstance(store, DuckDBStore)
    assert settings.duckdb_path.exists()
    store.close()


def test_open_store_refuses_other_engines_without_echoing_secrets() -> None:
    settings = Settings(store="mysql://volta:s3cret@db.example:3306/volta")
    with pytest.raises(ConfigError, match="supported engines are 'duckdb', 'postgresql'") as err:
        open_store(settings)
    assert "s3cret" not in str(err.value)
    assert "'mysql'" in str(err.value)


def test_latest_tie_break_holds_when_sample_times_span_centuries() -> None:
    # Sample times too far apart for the cheap packed order key take the ranking path.
    store = DuckDBStore(None)
    far = 2**61
    store.append(
        [
            batch(VIN_A, 2, [(0, SPEED, 2.0)]),
            batch(VIN_A, 1, [(0, SPEED, 1.0), (0, GEAR, "P"), (0, GEAR, "D")]),
            batch(VIN_B, 1, [(0, SPEED, 0.5)], ts=0),
            batch(VIN_B, 2, [(0, SPEED, 9.0)], ts=far),
        ]
    )
    assert [(v.vin, v.signal_id, v.ts_ms, v.num, v.txt) for v in store.latest()] == [
        (VIN_A, SPEED, T0, 2.0, None),
        (VIN_A, GEAR, T0, None, "D"),
        (VIN_B, SPEED, far, 9.0, None),
    ]
    store.close()


# The plain form of the bucketing query: what `history` computed before it was made cheaper
# (sum/count instead of avg, text buckets read apart, sorted in numpy). The fast form must
# give the same Series.
_PLAIN_BUCKETS = """
SELECT signal_id, $start + (ts_ms - $start) // $width * $width AS t,
       arg_max(num, ts_ms), arg_max(txt, ts_ms), min(num), max(num), avg(num), count(*)
FROM telemetry WHERE vin = $vin AND ts_ms >= $start AND ts_ms < $end
GROUP BY ALL ORDER BY signal_id, t
"""


MIXED = 105


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bucketed_history_equals_the_plain_sql_aggregates(seed: int) -> None:
    rng = random.Random(seed)
    store = DuckDBStore(None)
    samples: list[tuple[int, int, float | str]] = []
    for sid in (SPEED, 102, 104):  # numbers of every size and sign, some signals sparse
        times = rng.sample(range(0, 600_000), rng.choice([5, 3000, 20_000]))
        samples += [(t, sid, rng.choice([-1, 1]) * rng.random() * 10 ** rng.randint(-3, 9))
                    for t in times]  # fmt: skip
    samples += [(t, GEAR, rng.choice("PRND")) for t in rng.sample(range(600_000), 4000)]
    # The contract does not forbid a signal with both kinds of value: SQL's answer holds.
    mixed: list[float | str] = ["x", "y", 2.5, -1.0]
    samples += [(t, MIXED, rng.choice(mixed)) for t in rng.sample(range(600_000), 3000)]
    rng.shuffle(samples)  # storage order is not time order
    store.append([batch(VIN_A, i, samples[i::7]) for i in range(7)])
    store.append([batch(VIN_B, 1, [(t, SPEED, 1.0) for t in range(0, 600_000, 50)])])
    start, end, max_points = T0 + rng.randint(0, 1000), T0 + 590_000, rng.choice([7, 100, 999])
    series = store.history(VIN_A, [GEAR, 104, SPEED, MIXED, 102, 999], start, end, max_points)

    width = -(-(end - start) // max_points)
    params = {"vin": VIN_A, "start": start, "end": end, "width": width}
    plain = store._rows(_PLAIN_BUCKETS, params)  # the engine's own connection
    by_signal: dict[int, list[tuple[Any, ...]]] = {}
    for row in plain:
        by_signal.setdefault(row[0], []).append(row)
    assert [s.signal_id for s in series] == [GEAR, 104, SPEED, MIXED, 102, 999]
    assert series[-1] == Series(999, [], [], [])
    for s in series[:-1]:
        rows = by_signal[s.signal_id]
        if sum(r[7] for r in rows) <= max_points:
            assert not s.downsampled and len(s.ts) == sum(r[7] for r in rows)
            continue
        _, ts, num, txt, lo, hi, avg, cnt = map(list, zip(*rows, strict=True))
        assert (s.downsampled, s.bucket_ms) == (True, width)
        assert (s.ts, s.num, s.txt, s.min, s.max, s.count) == (ts, num, txt, lo, hi, cnt)
        assert s.avg == avg  # the same sum divided by the same count
