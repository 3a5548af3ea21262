"""The gateway with the real catalog, codec and DuckDB store: group commit, duplicates,
quarantine, counters, the twin and the bus, and a store that fails."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from volta.bus import MemoryBus, Message, StoredGroup
from volta.catalog import Catalog
from volta.ingest import IngestMetrics, IngestResult, InProcessTransport
from volta.store.base import AcceptedBatch, QuarantineRecord
from volta.store.duckdb_store import DuckDBStore
from volta.twin import Twin, TwinValue

from .conftest import NOW, SOC, SPEED, T0, VIN, VIN2, GatewayFactory, message


class FlakyStore(DuckDBStore):
    """The real DuckDB store, with a switch that makes `append` fail like a lost disk."""

    fail = False
    appends = 0

    def append(
        self, batches: Sequence[AcceptedBatch], quarantine: Sequence[QuarantineRecord] = ()
    ) -> set[tuple[str, int]]:
        self.appends += 1
        if self.fail:
            raise OSError("disk gone")
        return super().append(batches, quarantine)


class GatedStore(DuckDBStore):
    """The real DuckDB store whose `append` waits for the test to open a gate."""

    def __init__(self) -> None:
        super().__init__(None)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.returned = threading.Event()
        self.appends = 0

    def append(
        self, batches: Sequence[AcceptedBatch], quarantine: Sequence[QuarantineRecord] = ()
    ) -> set[tuple[str, int]]:
        self.appends += 1
        self.entered.set()
        self.gate.wait(10)
        try:
            return super().append(batches, quarantine)
        finally:
            self.returned.set()


def sample_value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_mixed_batch_stores_good_samples_and_quarantines_the_rest(
    make_gateway: GatewayFactory, store: DuckDBStore, catalog: Catalog
) -> None:
    registry = CollectorRegistry()
    gw = make_gateway(metrics=IngestMetrics(registry))
    (r,) = gw.ingest_many([(VIN, message([[0, SPEED, 10.0], [1, SPEED, "x"], [2, SOC, 50.0]]))])
    assert (r.accepted, r.duplicate, r.error) == (2, False, None)
    assert [(x.index, x.signal, x.code) for x in r.rejected] == [(1, SPEED, "wrong_type")]
    assert store.stats().samples == 2
    (q,) = store.quarantined()
    assert (q.record.code, q.record.sample_index, q.record.seq) == ("wrong_type", 1, 1)
    assert sample_value(registry, "volta_ingest_samples_accepted_total") == 2
    assert sample_value(registry, "volta_ingest_samples_rejected_total", reason="wrong_type") == 1
    assert sample_value(registry, "volta_ingest_batches_total", result="stored") == 1
    assert sample_value(registry, "volta_ingest_quarantined_total", reason="wrong_type") == 1
    assert sample_value(registry, "volta_ingest_commit_seconds_count") == 1


def test_resent_batch_is_stored_once_and_answered_as_duplicate(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    registry = CollectorRegistry()
    gw = make_gateway(metrics=IngestMetrics(registry))
    payload = message([[0, SPEED, 10.0], [1, SPEED, "x"]], seq=7)
    first = gw.ingest_many([(VIN, payload)])[0]
    again = gw.ingest_many([(VIN, payload), (VIN, payload)])
    assert first.accepted == 1 and not first.duplicate
    assert [(r.duplicate, r.error, r.accepted) for r in again] == [(True, None, 0)] * 2
    assert store.stats().samples == 1
    assert len(store.quarantined()) == 1  # the duplicate's reject is not quarantined again
    assert sample_value(registry, "volta_ingest_batches_total", result="duplicate") == 2


def test_duplicate_within_one_commit_is_stored_once(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    gw = make_gateway()
    payload = message([[0, SPEED, 10.0]], seq=3)
    results = gw.ingest_many([(VIN, payload), (VIN2, message([], vin=VIN2, seq=3)), (VIN, payload)])
    assert [r.duplicate for r in results] == [False, False, True]
    assert store.stats().batches == 2


def test_late_and_out_of_order_batches_are_accepted(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    gw = make_gateway()
    for seq in (5, 3, 9, 4):
        (r,) = gw.ingest_many([(VIN, message([[0, SPEED, float(seq)]], seq=seq, ts=T0 + seq))])
        assert r.accepted == 1 and not r.duplicate
    assert store.stats().batches == 4


def test_batch_below_the_window_is_checked_in_the_store(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    gw = make_gateway(dedup_window=2)
    for seq in (1, 2, 3, 10):
        gw.ingest_many([(VIN, message([[0, SPEED, 1.0]], seq=seq))])
    results = gw.ingest_many([(VIN, message([[0, SPEED, 1.0]], seq=s)) for s in (1, 4)])
    assert [r.duplicate for r in results] == [True, False]
    assert store.stats().batches == 5


def test_refused_batch_is_quarantined_and_counted(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    registry = CollectorRegistry()
    gw = make_gateway(metrics=IngestMetrics(registry))
    (r,) = gw.ingest_many([(VIN, b"{not json")])
    assert (r.error, r.accepted, r.duplicate) == ("undecodable", 0, False)
    assert r.reason
    (q,) = store.quarantined()
    assert (q.record.code, q.record.raw, q.record.vin) == ("undecodable", b"{not json", VIN)
    assert sample_value(registry, "volta_ingest_batches_total", result="refused") == 1
    assert sample_value(registry, "volta_ingest_quarantined_total", reason="undecodable") == 1


def test_unknown_vehicle_is_refused(make_gateway: GatewayFactory, store: DuckDBStore) -> None:
    gw = make_gateway(known_vehicle=lambda vin: vin == VIN)
    results = gw.ingest_many(
        [(VIN, message([[0, SPEED, 1.0]])), (VIN2, message([[0, SPEED, 1.0]], vin=VIN2))]
    )
    assert [r.error for r in results] == [None, "unknown_vehicle"]
    assert store.stats().samples == 1


def test_twin_and_bus_see_each_stored_batch_once(
    make_gateway: GatewayFactory, catalog: Catalog
) -> None:
    twin, bus = Twin(), MemoryBus()
    events: list[AcceptedBatch] = []
    bus.subscribe("stored.*", lambda m: events.extend(m.decode(StoredGroup).batches))
    changes: list[dict[int, TwinValue]] = []
    twin.subscribe(VIN, lambda vin, ch: changes.append(ch))
    gw = make_gateway(twin=twin, bus=bus)
    payload = message([[0, SPEED, 10.0], [5, SPEED, 11.0]], seq=1)
    gw.ingest_many([(VIN, payload), (VIN, payload)])
    gw.ingest_many([(VIN, message([[0, SPEED, 9.0]], seq=2, ts=T0 - 1000))])  # late
    speed = catalog.get(SPEED).id
    assert [(e.vin, e.seq, e.num) for e in events] == [(VIN, 1, [10.0, 11.0]), (VIN, 2, [9.0])]
    assert twin.get(VIN) == {speed: TwinValue(T0 + 5, 11.0, None)}
    assert changes == [{speed: TwinValue(T0 + 5, 11.0, None)}]


def test_store_failure_acks_nothing_and_the_gateway_keeps_running(
    make_gateway: GatewayFactory,
) -> None:
    flaky = FlakyStore(None)
    twin, bus = Twin(), MemoryBus()
    seen: list[Message] = []
    bus.subscribe("stored.*", seen.append)
    gw = make_gateway(store=flaky, twin=twin, bus=bus)
    gw.start()
    flaky.fail = True
    r = gw.ingest(message([[0, SPEED, 10.0]], seq=1), VIN)
    assert r.error == "store_unavailable" and r.accepted == 0
    assert twin.get(VIN) == {} and seen == []
    flaky.fail = False
    again = gw.ingest(message([[0, SPEED, 10.0]], seq=1), VIN)  # the broker redelivers
    assert (again.error, again.accepted, again.duplicate) == (None, 1, False)
    assert flaky.stats().samples == 1
    flaky.close()


def test_group_commit_acks_only_after_append_returns(make_gateway: GatewayFactory) -> None:
    gated = GatedStore()
    gw = make_gateway(store=gated, commit_max_delay_ms=50)
    gw.start()
    acked: list[tuple[IngestResult, bool]] = []
    all_acked = threading.Event()

    def on_done(result: IngestResult) -> None:
        acked.append((result, gated.returned.is_set()))
        if len(acked) == 20:
            all_acked.set()

    for seq in range(20):
        gw.submit(message([[0, SPEED, 1.0]], seq=seq), VIN, on_done)
    assert gated.entered.wait(5)
    assert not all_acked.wait(0.2)  # append has not returned: nobody is acknowledged
    assert acked == []
    gated.gate.set()
    assert all_acked.wait(5)
    assert all(returned for _, returned in acked)
    assert all(r.accepted == 1 for r, _ in acked)
    assert gated.appends == 1  # twenty messages, one transaction
    gated.close()


def test_stop_commits_everything_pending(make_gateway: GatewayFactory, store: DuckDBStore) -> None:
    gw = make_gateway(commit_max_delay_ms=1000)
    gw.start()
    results: list[IngestResult] = []
    for seq in range(5):
        gw.submit(message([[0, SPEED, 1.0]], seq=seq), VIN, results.append)
    gw.stop()
    assert len(results) == 5 and store.stats().batches == 5
    late: list[IngestResult] = []
    gw._stopping = True
    gw.submit(message([], seq=99), VIN, late.append)
    assert late[0].error == "gateway_stopped"


def test_a_failing_callback_does_not_stop_the_committer(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(commit_max_delay_ms=1)
    gw.start()

    def boom(result: IngestResult) -> None:
        raise RuntimeError("transport bug")

    gw.submit(message([], seq=1), VIN, boom)
    assert gw.ingest(message([], seq=2), VIN).error is None


def test_in_process_transport_publishes_through_the_gateway(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    transport = InProcessTransport(make_gateway())
    assert transport.publish(VIN, message([[0, SPEED, 1.0]], seq=1)).accepted == 1
    results = transport.publish_many([(VIN, message([[0, SPEED, 2.0]], seq=s)) for s in (2, 3)])
    assert [r.accepted for r in results] == [1, 1]
    assert store.stats().batches == 3


def test_twin_is_the_same_after_a_restart(make_gateway: GatewayFactory, store: DuckDBStore) -> None:
    twin = Twin()
    gw = make_gateway(twin=twin)
    gw.ingest_many([(VIN, message([[0, SPEED, 10.0], [0, SOC, 50.0]], seq=1))])
    gw.ingest_many([(VIN, message([[0, SPEED, 7.0]], seq=2, ts=T0 - 500))])  # late
    gw.ingest_many([(VIN2, message([[0, SPEED, 3.0]], seq=1, vin=VIN2, ts=NOW))])
    restarted = Twin()
    restarted.load(store)
    assert {v: restarted.get(v) for v in (VIN, VIN2)} == {v: twin.get(v) for v in (VIN, VIN2)}


def test_every_kind_of_bad_sample_is_counted_by_reason(
    make_gateway: GatewayFactory, store: DuckDBStore
) -> None:
    registry = CollectorRegistry()
    gw = make_gateway(metrics=IngestMetrics(registry))
    bad = [
        [0, SPEED, 1.0],
        [0, SPEED, "fast"],
        [0, SOC, 101.0],
        [0, "Vehicle.Nope", 1.0],
        [-1, SPEED, 1.0],
        [0, SPEED],
        [10**9, SPEED, 1.0],
        [0, "Vehicle.ADAS.ActiveAutonomyLevel", "SAE_9"],
    ]
    (r,) = gw.ingest_many([(VIN, message(bad))])
    expected = {
        "wrong_type": 1,
        "out_of_range": 1,
        "unknown_signal": 1,
        "negative_offset": 1,
        "malformed": 1,
        "ts_in_future": 1,
        "not_allowed": 1,
    }
    assert r.accepted == 1
    assert sorted(x.code for x in r.rejected) == sorted(expected)
    for code, n in expected.items():
        assert sample_value(registry, "volta_ingest_samples_rejected_total", reason=code) == n
        assert sample_value(registry, "volta_ingest_quarantined_total", reason=code) == n
    assert len(store.quarantined()) == len(expected)
    assert all(
        q.record.reason.startswith(f"sample {q.record.sample_index}: ") for q in store.quarantined()
    )


def test_message_queued_while_stopping_is_answered_not_lost(make_gateway: GatewayFactory) -> None:
    from volta.ingest import gateway as gateway_module

    gw = make_gateway()
    gw.start()
    results: list[IngestResult] = []
    thread = gw._thread
    assert thread is not None
    gw._queue.put(gateway_module._STOP)  # stop() under way, and a transport's put races it
    gw._queue.put(gateway_module._Item(message([]), VIN, NOW, results.append))
    thread.join(5)
    assert [r.error for r in results] == ["gateway_stopped"]
