"""Notifications: webhooks signed with HMAC-SHA256 and carrying an idempotency key, retried
with back-off until they succeed or go to the dead letters (replayable); a dead endpoint
never holds up the calls that raise events; e-mail through a real local SMTP server
(aiosmtpd), only to people who asked for the event and may see the vehicle."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.service.conftest import VIN, VIN2, VIN3, Engine
from volta.registry import Role
from volta.service import ServiceDesk
from volta.service.model import Actor, Preferences
from volta.service.notify import (
    Dispatcher,
    MailSender,
    Notifier,
    SmtpSettings,
    WebhookSender,
    verify,
)

TECH = Actor("tove", "technician")
HOUR_MS = 3_600_000


@dataclass
class Receiver:
    """A webhook endpoint: answers the statuses queued in `answers` (then 200)."""

    answers: list[int] = field(default_factory=list)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(rec.answers.pop(0) if rec.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def _dispatcher(desk: ServiceDesk, engine: Engine, **kw: Any) -> Dispatcher:
    senders = {"webhook": WebhookSender(desk.outbox, engine.clock, timeout_s=kw.pop("timeout", 5))}
    senders.update(kw.pop("senders", {}))
    d = Dispatcher(desk.outbox, senders, engine.clock, backoff_base_s=60, rand=lambda: 0.0, **kw)
    desk.notifier = Notifier(desk.outbox, engine.clock, d)
    return d


def test_webhooks_are_signed_retried_with_backoff_and_idempotent(
    desk: ServiceDesk, engine: Engine, receiver: Receiver
) -> None:
    hook, secret = desk.outbox.add_webhook(receiver.url, ("case.*",), "north", engine.clock())
    dispatcher = _dispatcher(desk, engine)
    receiver.answers = [500, 503]
    case, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    desk.open_case(VIN3, "dtc:P0A80", "south car", "critical", TECH)  # another organisation
    assert dispatcher.run_once() == 1  # only north's event; it fails (500)
    assert dispatcher.run_once() == 0  # not due yet: back-off
    engine.clock.now += 31_000  # first retry after 30-60 s (base 60 s, jitter 0.5)
    assert dispatcher.run_once() == 1  # fails again (503)
    engine.clock.now += 59_000
    assert dispatcher.run_once() == 0  # the second retry waits twice as long
    engine.clock.now += 2_000
    assert dispatcher.run_once() == 1  # delivered
    assert len(receiver.seen) == 3
    keys = {h["idempotency-key"] for h, _ in receiver.seen}
    assert len(keys) == 1
    headers, body = receiver.seen[-1]
    assert verify(secret, int(headers["x-volta-timestamp"]), body, headers["x-volta-signature"])
    assert not verify(
        "whsec_wrong", int(headers["x-volta-timestamp"]), body, headers["x-volta-signature"]
    )
    sent = json.loads(body)
    assert sent["event"] == "case.opened" and sent["id"] == keys.pop()
    assert sent["data"]["case"] == case.id and sent["data"]["vin"] == VIN
    delivery = desk.outbox.get(sent["id"])
    assert delivery.state == "delivered" and delivery.attempts == 3
    assert hook.organisation == "north"
    dispatcher.stop()


def test_failed_deliveries_go_to_the_dead_letters_and_can_be_replayed(
    desk: ServiceDesk, engine: Engine, receiver: Receiver
) -> None:
    desk.outbox.add_webhook(receiver.url, ("*",), None, engine.clock())
    dispatcher = _dispatcher(desk, engine, max_attempts=3)
    receiver.answers = [500, 500, 500]
    desk.open_case(VIN, "dtc:P0A80", "HV battery", "critical", TECH)
    for _ in range(3):
        dispatcher.run_once()
        engine.clock.now += HOUR_MS
    dead = desk.outbox.find("dead")
    assert (
        len(dead) == 1
        and dead[0].attempts == 3
        and dead[0].last_error == "HTTP 500 from the endpoint"
    )
    assert dispatcher.run_once() == 0  # dead stays dead
    replayed = desk.outbox.replay(dead[0].id, engine.clock())
    assert replayed.state == "pending" and replayed.attempts == 0
    assert dispatcher.run_once() == 1
    assert desk.outbox.get(dead[0].id).state == "delivered"
    keys = [h["idempotency-key"] for h, _ in receiver.seen]
    assert keys == [dead[0].id] * 4  # the replay is recognisably the same delivery
    dispatcher.stop()


def test_a_dead_endpoint_never_slows_the_calls_that_raise_events(
    desk: ServiceDesk, engine: Engine
) -> None:
    """The endpoint accepts connections and never answers; opening cases stays fast while
    the dispatcher's sends hang until their timeout."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(100)
    url = f"http://127.0.0.1:{sink.getsockname()[1]}/"
    desk.outbox.add_webhook(url, ("*",), None, engine.clock())
    dispatcher = _dispatcher(desk, engine, timeout=3.0, poll_s=0.01)
    dispatcher.start()
    try:
        started = time.perf_counter()
        for i in range(30):
            desk.open_case(VIN if i % 2 else VIN2, f"manual:n{i}", "x", "warning", TECH)
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0, f"30 cases took {elapsed:.2f} s with a hanging endpoint"
        deadline = time.monotonic() + 5
        while not desk.outbox.find("sending") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert desk.outbox.find("sending"), "the dispatcher is inside a hanging send"
    finally:
        dispatcher.stop()
        sink.close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content.decode("utf-8", "replace"),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_email_goes_to_people_who_asked_and_may_see_the_vehicle(
    desk: ServiceDesk, engine: Engine, smtp: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp
    registry = engine.opened[0]
    registry.add_user("dana", Role.DRIVER, "correct horse battery")
    registry.add_user("erik", Role.DRIVER, "correct horse battery")
    registry.add_user("sami", Role.TECHNICIAN, "correct horse battery", "south")
    registry.assign("dana", VIN)
    registry.assign("erik", VIN2)
    now = engine.clock()
    for user, email, events in (
        ("dana", "dana@example.org", ("appointment.*", "case.opened")),
        ("erik", "erik@example.org", ("*",)),  # a driver of another car
        ("sami", "sami@example.org", ("*",)),  # a technician of another organisation
        ("tove", "tove@example.org", ("case.transition",)),  # north, but not this event
    ):
        desk.outbox.set_preferences(Preferences(user, email, True, events, now))
    mail = MailSender(SmtpSettings("127.0.0.1", port, sender="volta@test.invalid"))
    dispatcher = _dispatcher(desk, engine, senders={"email": mail})
    case, _ = desk.open_case(VIN, "dtc:P0A80", "HV battery weak cell", "critical", TECH)
    assert dispatcher.run_once() == 1
    assert len(inbox.messages) == 1
    sender, to, content = inbox.messages[0]
    assert sender == "volta@test.invalid" and to == ["dana@example.org"]
    assert "Subject: Volta: case opened: HV battery weak cell" in content
    assert f"case: {case.id}" in content and f"vin: {VIN}" in content
    # Switched off: nothing more.
    desk.outbox.set_preferences(Preferences("dana", "dana@example.org", False, ("*",), now))
    desk.open_case(VIN, "dtc:P0A81", "another", "critical", TECH)
    assert dispatcher.run_once() == 0 and len(inbox.messages) == 1
    dispatcher.stop()
