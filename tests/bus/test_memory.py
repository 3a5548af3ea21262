from __future__ import annotations

import pytest

from volta.bus import MemoryBus, Message, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("*.b", "a.b", True),
        ("a.b", "a.c", False),
        ("a.b.c", "a.b", False),
    ],
)
def test_subject_matching_follows_nats_rules(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_failing_handler_is_counted() -> None:
    bus = MemoryBus()

    def boom(message: Message) -> None:
        raise ValueError("bug")

    bus.subscribe("x", boom)
    bus.publish("x", b"1")
    bus.publish("x", b"2")
    assert bus.handler_errors == 2
    assert bus.published == 2


def test_subscribing_later_sees_later_events_on_cached_subjects() -> None:
    bus = MemoryBus()
    first: list[bytes] = []
    bus.subscribe("x.*", lambda m: first.append(m.data))
    bus.publish("x.1", b"a")  # caches the match for x.1
    second: list[bytes] = []
    bus.subscribe("x.1", lambda m: second.append(m.data))
    bus.publish("x.1", b"b")
    assert first == [b"a", b"b"]
    assert second == [b"b"]
