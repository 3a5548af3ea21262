"""Sending notifications: HMAC-signed webhooks and e-mail over SMTP, from the outbox, on a
dispatcher thread of their own, with retries (jittered exponential back-off) and a dead-letter
state that an operator can replay.

A webhook request carries:
- `Idempotency-Key`: the delivery id, the same on every retry and replay;
- `X-Volta-Event`, `X-Volta-Timestamp` (ms);
- `X-Volta-Signature: sha256=<hex>`: HMAC-SHA256 under the webhook's secret of
  `<timestamp>.<body>` (`verify` shows the receiver's check).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from volta.backoff import backoff_delay
from volta.clock import Clock
from volta.service.model import Delivery, Preferences
from volta.service.outbox import Outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Volta-Signature"
TIMESTAMP_HEADER = "X-Volta-Timestamp"
EVENT_HEADER = "X-Volta-Event"
EVENTS = (
    "case.opened",
    "case.alert",
    "case.transition",
    "appointment.booked",
    "appointment.moved",
    "appointment.cancelled",
    "recall.created",
    "recall.reminder",
)


class DeliveryError(Exception):
    """One attempt failed; the dispatcher retries (or gives up when `final`)."""

    def __init__(self, reason: str, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    """The `X-Volta-Signature` value of a body sent at `timestamp_ms`."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp_ms: int, body: bytes, signature: str) -> bool:
    """The receiver's check (constant-time)."""
    return hmac.compare_digest(sign(secret, timestamp_ms, body), signature)


def wants(events: Iterable[str], event: str) -> bool:
    """Whether a subscription (`*`, `case.*`, `case.opened`) covers `event`."""
    for e in events:
        if e == "*" or e == event or (e.endswith(".*") and event.startswith(e[:-1])):
            return True
    return False


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None:
        """Deliver once; DeliveryError saying why not."""
        ...


class WebhookSender:
    """POSTs a delivery's body to its webhook, signed."""

    def __init__(self, outbox: Outbox, clock: Clock, timeout_s: float = 5.0) -> None:
        self._outbox = outbox
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def send(self, delivery: Delivery) -> None:
        found = self._outbox.secret(delivery.target)
        if found is None:
            raise DeliveryError(f"webhook {delivery.target} was removed", final=True)
        url, secret = found
        body = delivery.body.encode()
        ts = self._clock()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.id,
            EVENT_HEADER: delivery.event,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(secret, ts, body),
            "User-Agent": "volta-webhooks/1",
        }
        try:
            r = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from None
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"HTTP {r.status_code} from the endpoint")

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "volta@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class MailSender:
    """Sends a delivery as a plain-text e-mail (stdlib smtplib)."""

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp

    def send(self, delivery: Delivery) -> None:
        envelope = json.loads(delivery.body)
        data: Mapping[str, Any] = envelope.get("data") or {}
        msg = EmailMessage()
        msg["From"] = self._smtp.sender
        msg["To"] = delivery.target
        msg["Subject"] = f"Volta: {data.get('summary') or delivery.event}"
        msg["Message-ID"] = f"<{delivery.id}@volta>"  # the idempotency key, for mail clients
        lines = [str(data.get("summary") or delivery.event), ""]
        lines += [f"{k}: {v}" for k, v in sorted(data.items()) if k != "summary"]
        msg.set_content("\n".join(lines) + "\n")
        s = self._smtp
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.user is not None:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            raise DeliveryError(f"recipient refused: {e.recipients}", final=True) from None
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from None


class Dispatcher:
    """Sends due deliveries on its own thread (several at once, so one dead endpoint does not
    hold up the others), retrying with back-off; after `max_attempts` a delivery is dead."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        max_attempts: int = 8,
        backoff_base_s: float = 2.0,
        backoff_cap_s: float = 3600.0,
        workers: int = 4,
        poll_s: float = 1.0,
        lease_ms: int = 120_000,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._outbox = outbox
        self._senders = dict(senders)
        self._clock = clock
        self.max_attempts = max_attempts
        self._base = backoff_base_s
        self._cap = backoff_cap_s
        self._workers = workers
        self._poll_s = poll_s
        self._lease_ms = lease_ms
        self._rand = rand
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="volta-notify")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="volta-notify", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._pool.shutdown(wait=True)
        for sender in self._senders.values():
            close = getattr(sender, "close", None)
            if close is not None:
                close()

    def run_once(self) -> int:
        """Send what is due now (waiting for the attempts); how many were attempted."""
        due = self._outbox.claim_due(self._clock(), self._lease_ms, self._workers * 4)
        list(self._pool.map(self._attempt, due))
        return len(due)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # the dispatcher must outlive a database hiccup
                log.exception("notifications: dispatch failed; retrying")
            self._wake.wait(self._poll_s)
            self._wake.clear()

    def _attempt(self, d: Delivery) -> None:
        attempts = d.attempts + 1
        sender = self._senders.get(d.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no {d.channel} sender configured")
            sender.send(d)
        except DeliveryError as e:
            now = self._clock()
            retry = not e.final and attempts < self.max_attempts
            delay = backoff_delay(
                attempts - 1,
                base_s=self._base,
                cap_s=self._cap,
                **({"rand": self._rand} if self._rand else {}),
            )
            self._outbox.failed(
                d.id, attempts, str(e), now + int(delay * 1000) if retry else None, now
            )
            if not retry:
                log.warning(
                    "notification %s to %s is dead after %d attempts: %s",
                    d.id,
                    d.channel,
                    attempts,
                    e,
                )
            return
        self._outbox.delivered(d.id, attempts, self._clock())


class Notifier:
    """Turns a service event into deliveries: every webhook subscribed to it (and, for one
    with an organisation, only that organisation's vehicles) and every person who asked for
    it by e-mail and may see the vehicle."""

    def __init__(self, outbox: Outbox, clock: Clock, dispatcher: Dispatcher | None = None) -> None:
        self._outbox = outbox
        self._clock = clock
        self.dispatcher = dispatcher

    def emit(
        self, event: str, data: dict[str, Any], vin: str | None, organisation: str | None
    ) -> list[str]:
        """Enqueue the event's deliveries; their ids. Never waits for a send."""
        items: list[tuple[str, str, str, dict[str, Any]]] = []
        for hook in self._outbox.webhooks():
            if wants(hook.events, event) and hook.organisation in (None, organisation):
                items.append(("webhook", hook.id, event, data))
        for prefs, role, org, vins in self._outbox.email_recipients():
            if (
                prefs.email
                and wants(prefs.events, event)
                and _may_see(role, org, vins, vin, organisation)
            ):
                items.append(("email", prefs.email, event, data))
        if not items:
            return []
        ids = self._outbox.enqueue(items, self._clock())
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return ids

    def preferences(self, user: str) -> Preferences:
        found = self._outbox.preferences(user)
        return found or Preferences(user, None, False, (), 0)


def _may_see(
    role: str, org: str | None, vins: frozenset[str], vin: str | None, organisation: str | None
) -> bool:
    if role == "operator":
        return True
    if role == "technician":
        return org is not None and org == organisation
    return vin is not None and vin in vins
