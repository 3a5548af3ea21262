"""The service over its SQLite store: durable states, pull delivery, acks, the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from volta.catalog import default_catalog
from volta.commands.model import CommandState
from volta.commands.service import CommandService
from volta.commands.store import SQLiteCommandStore
from volta.commands.wire import CommandAck, encode

from .conftest import VIN, VIN2

T0 = 1_800_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def service(path: Path, clock: FakeClock) -> CommandService:
    return CommandService(SQLiteCommandStore.open(path), default_catalog(), clock, sweep_s=0)


def stored_state(s: CommandService, command_id: str) -> CommandState:
    """The state on disk, read without the service's lazy expiry."""
    stored = s.store.get(command_id)
    assert stored is not None, f"command {command_id} is not stored"
    return stored.state


def test_states_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    s = service(tmp_path, clock)
    cmd = s.issue(VIN, "set_charge_limit", 90, ttl_s=60, issued_by="cred_a")
    assert [c.id for c in s.pending(VIN)] == [cmd.id]
    s.ack(VIN, cmd.id, "succeeded")
    s.close()
    again = service(tmp_path, clock)
    got = again.get(VIN, cmd.id)
    assert got.state is CommandState.SUCCEEDED and got.value == 90 and got.issued_by == "cred_a"
    assert [h.state for h in got.history] == ["queued", "delivered", "succeeded"]
    again.close()


def test_pending_hands_out_open_commands_of_that_vehicle_only(tmp_path: Path) -> None:
    clock = FakeClock()
    s = service(tmp_path, clock)
    a = s.issue(VIN, "lock")
    clock.now += 1
    b = s.issue(VIN, "flash_lights")
    s.issue(VIN2, "wake")
    first = s.pending(VIN)
    assert [c.id for c in first] == [a.id, b.id]
    assert all(c.state is CommandState.DELIVERED for c in first)
    s.ack(VIN, a.id, "succeeded")
    assert [c.id for c in s.pending(VIN)] == [b.id]  # unanswered ones come again
    s.close()


def test_acks_for_unknown_or_foreign_commands_are_refused(tmp_path: Path) -> None:
    from volta.errors import NotFound

    s = service(tmp_path, FakeClock())
    mine = s.issue(VIN2, "lock")
    with pytest.raises(NotFound, match=f"no command {mine.id} for vehicle {VIN}"):
        s.ack(VIN, mine.id, "succeeded")
    with pytest.raises(NotFound):
        s.ack(VIN, "00000000-0000-4000-8000-000000000000", "succeeded")
    assert s.get(VIN2, mine.id).state is CommandState.QUEUED  # untouched
    # over MQTT the same is counted, not raised
    assert s.ack_message(VIN, encode(CommandAck(id=mine.id, status="succeeded"))) is None
    assert s.ack_message(VIN, b"{not json") is None
    assert s.ack_message(VIN, b'{"id": "x", "status": "done"}') is None
    assert (s.acks_refused, s.acks_undecodable) == (1, 2)
    ok = s.ack_message(VIN2, encode(CommandAck(id=mine.id, status="failed", reason="jammed")))
    assert ok is not None and ok.state is CommandState.FAILED and ok.reason == "jammed"
    s.close()


def test_the_sweep_expires_what_is_overdue(tmp_path: Path) -> None:
    clock = FakeClock()
    s = service(tmp_path, clock)
    short = s.issue(VIN, "lock", ttl_s=10)
    long = s.issue(VIN, "unlock", ttl_s=100)
    clock.now += 10_000
    assert s.sweep() == 1
    assert stored_state(s, short.id) is CommandState.EXPIRED
    assert stored_state(s, long.id) is CommandState.QUEUED
    assert [c.id for c in s.pending(VIN)] == [long.id]
    clock.now += 90_000
    # read lazily (no sweep): already expired, and stored so
    assert s.get(VIN, long.id).state is CommandState.EXPIRED
    assert stored_state(s, long.id) is CommandState.EXPIRED
    assert s.pending(VIN) == []
    s.close()


def test_paging_newest_first(tmp_path: Path) -> None:
    clock = FakeClock()
    s = service(tmp_path, clock)
    ids = []
    for _ in range(5):
        ids.append(s.issue(VIN, "wake").id)
        clock.now += 1
    page1 = s.page(VIN, 2)
    page2 = s.page(VIN, 2, page1[-1].id)
    page3 = s.page(VIN, 2, page2[-1].id)
    assert [c.id for c in page1 + page2 + page3] == ids[::-1]
    s.close()


def test_the_periodic_sweep_runs_on_its_own(tmp_path: Path) -> None:
    import time

    clock = FakeClock()
    s = CommandService(SQLiteCommandStore.open(tmp_path), default_catalog(), clock, sweep_s=0.02)
    cmd = s.issue(VIN, "lock", ttl_s=10)
    s.start()
    try:
        clock.now += 10_000
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            stored = s.store.get(cmd.id)
            if stored is not None and stored.state is CommandState.EXPIRED:
                break
            time.sleep(0.02)
        stored = s.store.get(cmd.id)  # read the store directly: no lazy expiry involved
        assert stored is not None and stored.state is CommandState.EXPIRED
    finally:
        s.close()


def test_counters_for_issued_finished_and_refused(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry

    from volta.commands.service import CommandMetrics

    reg = CollectorRegistry()
    clock = FakeClock()
    s = CommandService(
        SQLiteCommandStore.open(tmp_path),
        default_catalog(),
        clock,
        sweep_s=0,
        metrics=CommandMetrics(reg),
    )
    a = s.issue(VIN, "lock", ttl_s=10)
    b = s.issue(VIN, "lock", ttl_s=100)
    s.ack(VIN, b.id, "succeeded")
    s.ack(VIN, b.id, "succeeded")  # a repeat finishes nothing more
    s.ack_message(VIN, b"junk")
    clock.now += 10_000
    s.sweep()
    s.get(VIN, a.id)  # already expired by the sweep: not counted twice

    def value(name: str, **labels: str) -> float | None:
        return reg.get_sample_value(name, labels)

    assert value("volta_commands_issued_total", type="lock") == 2
    assert value("volta_commands_finished_total", state="succeeded") == 1
    assert value("volta_commands_finished_total", state="expired") == 1
    assert value("volta_command_acks_refused_total", reason="undecodable") == 1
    s.close()
