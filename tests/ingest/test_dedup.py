"""De-duplication by (vin, seq): re-sent, out of order, late within the window, below it."""

from __future__ import annotations

from volta.ingest.dedup import Dedup
from volta.store.base import AcceptedBatch
from volta.store.duckdb_store import DuckDBStore

from .conftest import T0, VIN, VIN2


def stored(store: DuckDBStore, *seqs: int, vin: str = VIN) -> None:
    store.append([AcceptedBatch(vin, s, T0, [], [], [], [], T0) for s in seqs])


def test_cold_window_knows_recorded_seqs_and_leaves_the_rest_to_the_store(
    store: DuckDBStore,
) -> None:
    d = Dedup(store, 8)
    d.record(VIN, 5)
    assert d.seen(VIN, 5) is True
    assert d.seen(VIN, 4) is None
    assert d.seen(VIN2, 5) is None
    assert d.store_lookups == 0


def test_out_of_order_and_late_within_window_are_new_once(store: DuckDBStore) -> None:
    d = Dedup(store, 16)
    d.warm(VIN)
    for seq in (10, 12, 11, 5, 3):
        assert d.seen(VIN, seq) is False
        d.record(VIN, seq)
    assert all(d.seen(VIN, s) for s in (3, 5, 10, 11, 12))
    assert not any(d.seen(VIN, s) for s in (4, 6, 7, 8, 9, 13))
    assert d.store_lookups == 1


def test_below_window_asks_the_store(store: DuckDBStore) -> None:
    d = Dedup(store, 4)
    d.warm(VIN)
    stored(store, 1)
    d.record(VIN, 1)
    stored(store, 100)
    d.record(VIN, 100)  # 1 and 2 are now far below the window
    assert d.seen(VIN, 1) is True
    assert d.seen(VIN, 2) is False
    assert d.store_lookups == 3


def test_window_is_warmed_from_the_store_after_restart(store: DuckDBStore) -> None:
    stored(store, 1, 2, 3, 7)
    d = Dedup(store, 16)  # a fresh process
    assert d.seen(VIN, 2) is None
    d.warm(VIN)
    d.warm(VIN)  # once per vehicle
    assert [d.seen(VIN, s) for s in (1, 2, 3, 4, 7, 8)] == [True, True, True, False, True, False]
    assert d.store_lookups == 1


def test_a_big_jump_clears_the_window(store: DuckDBStore) -> None:
    d = Dedup(store, 4)
    d.warm(VIN)
    d.record(VIN, 1)
    d.record(VIN, 1_000_000)
    assert d.seen(VIN, 1_000_000) is True
    assert d.seen(VIN, 999_999) is False
