"""Property: any duplication and permutation of a set of batches stores exactly the same
samples as sending each batch once, in order (real catalog, codec and DuckDB store)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volta.bus import MemoryBus
from volta.catalog import Catalog, default_catalog
from volta.config import Settings
from volta.ingest import Gateway
from volta.store.duckdb_store import DuckDBStore
from volta.twin import Twin
from volta.twin.follow import follow

from .conftest import NOW, SOC, SPEED, T0, VIN, VIN2, message

CATALOG = default_catalog()

sample = st.tuples(
    st.integers(0, 5_000),
    st.sampled_from([SPEED, SOC]),
    st.one_of(st.floats(0, 100, allow_nan=False), st.just("bad")),
)
batch = st.tuples(st.sampled_from([VIN, VIN2]), st.lists(sample, max_size=5))
batches = st.lists(batch, min_size=1, max_size=12)


def stored_rows(store: DuckDBStore) -> list[tuple[object, ...]]:
    ids = [CATALOG.get(SPEED).id, CATALOG.get(SOC).id]
    rows = []
    for vin in (VIN, VIN2):
        for series in store.history(vin, ids, 0, NOW * 2, max_points=10_000):
            rows += [
                (vin, series.signal_id, t, n, x)
                for t, n, x in zip(series.ts, series.num, series.txt, strict=True)
            ]
    return sorted(rows, key=repr)


def ingest(
    catalog: Catalog, messages: list[tuple[str, bytes]], chunks: list[int]
) -> tuple[DuckDBStore, Twin]:
    store, twin, bus = DuckDBStore(None), Twin(), MemoryBus()
    follow(bus, twin)
    gw = Gateway(
        catalog=catalog,
        store=store,
        bus=bus,
        settings=Settings(dedup_window=3),
        clock=lambda: NOW,
    )
    i = 0
    for size in chunks:
        if i >= len(messages):
            break
        gw.ingest_many(messages[i : i + size])
        i += size
    if i < len(messages):
        gw.ingest_many(messages[i:])
    return store, twin


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, st.data())
def test_duplication_and_permutation_store_the_same_samples(
    spec: list[tuple[str, list[tuple[int, str, object]]]], data: st.DataObject
) -> None:
    seqs: dict[str, int] = {}
    messages = []
    for vin, samples in spec:
        seqs[vin] = seq = seqs.get(vin, 0) + 1
        messages.append((vin, message([list(s) for s in samples], seq=seq, vin=vin, ts=T0)))
    reference, _ = ingest(CATALOG, messages, [1] * len(messages))
    extra = data.draw(st.lists(st.sampled_from(messages), max_size=len(messages) * 2))
    shuffled = data.draw(st.permutations(messages + extra))
    chunks = data.draw(st.lists(st.integers(1, 5), max_size=10))
    replayed, live = ingest(CATALOG, shuffled, chunks)
    assert stored_rows(replayed) == stored_rows(reference)
    assert replayed.stats().batches == reference.stats().batches
    assert len(replayed.quarantined(limit=10_000)) == len(reference.quarantined(limit=10_000))
    restarted = Twin()
    restarted.load(replayed)  # the twin after a restart is the twin before it
    assert {v: restarted.get(v) for v in (VIN, VIN2)} == {v: live.get(v) for v in (VIN, VIN2)}
    reference.close()
    replayed.close()
