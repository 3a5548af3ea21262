from __future__ import annotations

import threading

from volta.store.base import AcceptedBatch, LatestValue
from volta.twin import Twin, TwinValue

VIN = "JHMZZ1A1XRV000001"
T0 = 1_764_201_600_000


def batch(
    seq: int, samples: list[tuple[int, int, float | None, str | None]], vin: str = VIN
) -> AcceptedBatch:
    return AcceptedBatch(
        vin=vin,
        seq=seq,
        ts_ms=T0,
        received_ms=T0,
        signal_ids=[s[0] for s in samples],
        ts=[s[1] for s in samples],
        num=[s[2] for s in samples],
        txt=[s[3] for s in samples],
    )


def test_newest_sample_of_each_signal_wins_within_a_batch() -> None:
    twin = Twin()
    twin.apply(batch(1, [(1, T0, 1.0, None), (2, T0, None, "a"), (1, T0 + 5, 2.0, None)]))
    assert twin.get(VIN) == {1: TwinValue(T0 + 5, 2.0, None), 2: TwinValue(T0, None, "a")}


def test_unordered_samples_in_a_batch_keep_the_newest() -> None:
    twin = Twin()
    twin.apply(batch(1, [(1, T0 + 9, 9.0, None), (1, T0 + 1, 1.0, None)]))
    assert twin.get(VIN)[1] == TwinValue(T0 + 9, 9.0, None)


def test_late_batch_never_overwrites_newer_values() -> None:
    twin = Twin()
    seen: list[dict[int, TwinValue]] = []
    twin.subscribe(VIN, lambda vin, ch: seen.append(ch))
    twin.apply(batch(2, [(1, T0 + 1000, 2.0, None)]))
    changes = twin.apply(batch(1, [(1, T0, 1.0, None), (3, T0, 3.0, None)]))
    assert changes == {3: TwinValue(T0, 3.0, None)}
    assert seen[-1] == changes
    assert twin.get(VIN)[1] == TwinValue(T0 + 1000, 2.0, None)


def test_listener_gets_changes_of_its_vehicle_only_until_unsubscribed() -> None:
    twin = Twin()
    seen: list[tuple[str, dict[int, TwinValue]]] = []
    unsubscribe = twin.subscribe(VIN, lambda vin, ch: seen.append((vin, ch)))
    twin.apply(batch(1, [(1, T0, 1.0, None)]))
    twin.apply(batch(1, [(1, T0, 1.0, None)], vin="JHMZZ1A1XRV000002"))
    unsubscribe()
    twin.apply(batch(2, [(1, T0 + 1, 1.0, None)]))
    assert seen == [(VIN, {1: TwinValue(T0, 1.0, None)})]


def test_same_time_in_a_later_batch_replaces_the_value() -> None:
    twin = Twin()
    twin.apply(batch(1, [(1, T0, 1.0, None)]))
    twin.apply(batch(2, [(1, T0, 2.0, None)]))
    assert twin.get(VIN)[1] == TwinValue(T0, 2.0, None)


def test_in_order_batches_take_the_fast_path_and_stay_correct() -> None:
    twin = Twin()
    for seq in range(1, 6):
        twin.apply(
            batch(
                seq, [(1, T0 + seq * 10, float(seq), None), (2, T0 + seq * 10 + 1, None, str(seq))]
            )
        )
    twin.apply(batch(9, [(2, T0, None, "old"), (1, T0 + 100, 100.0, None)]))  # mixed lateness
    assert twin.get(VIN) == {1: TwinValue(T0 + 100, 100.0, None), 2: TwinValue(T0 + 51, None, "5")}


def test_equal_times_go_to_the_higher_seq_like_the_store() -> None:
    twin = Twin()
    twin.apply(batch(5, [(1, T0, 5.0, None)]))
    twin.apply(batch(3, [(1, T0, 3.0, None)]))  # late, same sample time, lower seq
    assert twin.get(VIN)[1] == TwinValue(T0, 5.0, None)


def test_failing_listener_does_not_stop_apply() -> None:
    twin = Twin()

    def boom(vin: str, changes: dict[int, TwinValue]) -> None:
        raise RuntimeError("bug")

    twin.subscribe(VIN, boom)
    twin.apply(batch(1, [(1, T0, 1.0, None)]))
    assert twin.listener_errors == 1
    assert twin.get(VIN)[1].num == 1.0


def test_load_restores_latest_values_and_vehicles() -> None:
    twin = Twin()
    twin.load_values(
        [LatestValue(VIN, 1, T0, 1.0, None), LatestValue("JHMZZ1A1XRV000002", 2, T0, None, "x")]
    )
    assert twin.get(VIN) == {1: TwinValue(T0, 1.0, None)}
    assert sorted(twin.vehicles()) == [VIN, "JHMZZ1A1XRV000002"]
    assert twin.get("JHMZZ1A1XRV000009") == {}


def test_reads_of_one_vehicle_proceed_while_another_is_locked() -> None:
    twin = Twin()
    twin.apply(batch(1, [(1, T0, 1.0, None)]))
    twin.apply(batch(1, [(1, T0, 2.0, None)], vin="JHMZZ1A1XRV000002"))
    blocker = twin._vehicles["JHMZZ1A1XRV000002"].lock
    with blocker:
        result: list[dict[int, TwinValue]] = []
        reader = threading.Thread(target=lambda: result.append(twin.get(VIN)))
        reader.start()
        reader.join(timeout=2)
        assert result == [{1: TwinValue(T0, 1.0, None)}]
