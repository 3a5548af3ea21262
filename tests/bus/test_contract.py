"""The bus contract: every engine (memory now, NATS JetStream later) must pass these unchanged.

Delivery may be asynchronous on network engines, so assertions poll with `eventually`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from volta.bus import Bus, MemoryBus, Message
from volta.store.base import AcceptedBatch

from .natskit import nats_bus

VIN = "JHMZZ1A1XRV000001"
OTHER = "JHMZZ1A1XRV000002"


def _memory() -> Bus:
    return MemoryBus()


ENGINES: dict[str, Callable[[], Bus]] = {"memory": _memory, "nats": nats_bus}


@pytest.fixture(params=sorted(ENGINES))
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    engine = ENGINES[request.param]()
    yield engine
    engine.close()


def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def _event(seq: int, vin: str = VIN) -> AcceptedBatch:
    return AcceptedBatch(vin, seq, 1_764_201_600_000, [7], [1_764_201_600_000], [1.5], [None])


def test_subscriber_receives_typed_event(bus: Bus) -> None:
    got: list[AcceptedBatch] = []
    bus.subscribe("telemetry.*", lambda m: got.append(m.decode(AcceptedBatch)))
    bus.publish(f"telemetry.{VIN}", _event(1))
    eventually(lambda: len(got) == 1)
    assert got[0] == _event(1)


def test_a_tap_receives_events_in_order_until_closed(bus: Bus) -> None:
    seqs: list[int] = []
    tap = bus.tap("telemetry.*", lambda m: seqs.append(m.decode(AcceptedBatch).seq))
    for seq in range(1, 4):
        bus.publish(f"telemetry.{VIN}", _event(seq))
    eventually(lambda: len(seqs) == 3)
    tap.close()
    bus.publish(f"telemetry.{VIN}", _event(4))
    time.sleep(0.1)
    assert seqs == [1, 2, 3]


def test_bytes_events_arrive_as_bytes(bus: Bus) -> None:
    got: list[bytes] = []
    bus.subscribe("raw.>", lambda m: got.append(m.data))
    bus.publish("raw.a.b", b"\x01\x02")
    eventually(lambda: got == [b"\x01\x02"])


def test_events_on_one_subject_arrive_in_order(bus: Bus) -> None:
    seqs: list[int] = []
    bus.subscribe(f"telemetry.{VIN}", lambda m: seqs.append(m.decode(AcceptedBatch).seq))
    for seq in range(50):
        bus.publish(f"telemetry.{VIN}", _event(seq))
    eventually(lambda: len(seqs) == 50)
    assert seqs == list(range(50))


def test_pattern_selects_subjects(bus: Bus) -> None:
    subjects: list[str] = []
    bus.subscribe(f"telemetry.{OTHER}", lambda m: subjects.append(m.subject))
    bus.publish(f"telemetry.{VIN}", _event(1))
    bus.publish(f"telemetry.{OTHER}", _event(2, OTHER))
    eventually(lambda: subjects == [f"telemetry.{OTHER}"])


def test_closed_subscription_gets_nothing_more(bus: Bus) -> None:
    got: list[Message] = []
    sub = bus.subscribe("telemetry.*", got.append)
    bus.publish(f"telemetry.{VIN}", _event(1))
    eventually(lambda: len(got) == 1)
    sub.close()
    sub.close()  # idempotent
    bus.publish(f"telemetry.{VIN}", _event(2))
    time.sleep(0.05)
    assert len(got) == 1


def test_failing_handler_neither_breaks_publisher_nor_other_handlers(bus: Bus) -> None:
    def boom(message: Message) -> None:
        raise RuntimeError("handler bug")

    got: list[Message] = []
    bus.subscribe("telemetry.*", boom)
    bus.subscribe("telemetry.*", got.append)
    bus.publish(f"telemetry.{VIN}", _event(1))
    bus.publish(f"telemetry.{VIN}", _event(2))
    eventually(lambda: len(got) == 2)


def test_durable_name_is_accepted(bus: Bus) -> None:
    got: list[Message] = []
    bus.subscribe("telemetry.*", got.append, durable="twin")
    bus.publish(f"telemetry.{VIN}", _event(1))
    eventually(lambda: len(got) == 1)
