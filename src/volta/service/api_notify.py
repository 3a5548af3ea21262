"""Notification routes: operators manage webhooks and the dead letters (deliveries that failed
every attempt; replayable); each person sets their own e-mail preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, HttpUrl

from volta.errors import BadRequest
from volta.service.access import DeskDep, OperatorDep, PeopleDep
from volta.service.model import Delivery, Preferences, Webhook
from volta.service.notify import EVENTS

router = APIRouter(prefix="/v1", tags=["after-sales"])
_EVENT_HELP = "event names (" + ", ".join(EVENTS) + "), 'case.*' or '*'"


class WebhookIn(BaseModel):
    url: HttpUrl
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, description=_EVENT_HELP)
    organisation: str | None = Field(None, description="only this organisation's vehicles")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    organisation: str | None
    created_ms: int

    @classmethod
    def of(cls, w: Webhook) -> WebhookOut:
        return cls(
            id=w.id,
            url=w.url,
            events=list(w.events),
            organisation=w.organisation,
            created_ms=w.created_ms,
        )


class NewWebhook(WebhookOut):
    secret: str = Field(description="the HMAC-SHA256 key of X-Volta-Signature; shown only now")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str = Field(description="also the Idempotency-Key the receiver saw")
    channel: str
    target: str
    event: str
    state: str
    attempts: int
    last_error: str | None
    created_ms: int
    done_ms: int | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            channel=d.channel,
            target=d.target,
            event=d.event,
            state=d.state,
            attempts=d.attempts,
            last_error=d.last_error,
            created_ms=d.created_ms,
            done_ms=d.done_ms,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class PreferencesIO(BaseModel):
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    email_on: bool = True
    events: list[str] = Field(default_factory=list, description=_EVENT_HELP)


def _check_events(events: list[str]) -> None:
    for e in events:
        if (
            e != "*"
            and e not in EVENTS
            and not (e.endswith(".*") and any(x.startswith(e[:-1]) for x in EVENTS))
        ):
            raise BadRequest(f"unknown event {e!r}: {_EVENT_HELP}")


@router.post("/webhooks", response_model=NewWebhook, status_code=201)
def add_webhook(body: WebhookIn, principal: OperatorDep, desk: DeskDep) -> NewWebhook:
    """Register an endpoint; its signing secret is in this answer only."""
    _check_events(body.events)
    hook, secret = desk.outbox.add_webhook(
        str(body.url), tuple(body.events), body.organisation, desk.now()
    )
    return NewWebhook(**WebhookOut.of(hook).model_dump(), secret=secret)


@router.get("/webhooks", response_model=WebhookList)
def list_webhooks(principal: OperatorDep, desk: DeskDep) -> WebhookList:
    return WebhookList(webhooks=[WebhookOut.of(w) for w in desk.outbox.webhooks()])


@router.delete("/webhooks/{webhook_id}", status_code=204)
def remove_webhook(webhook_id: str, principal: OperatorDep, desk: DeskDep) -> None:
    desk.outbox.disable_webhook(webhook_id, desk.now())


@router.get("/notifications/dead-letters", response_model=DeliveryList)
def dead_letters(
    principal: OperatorDep, desk: DeskDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> DeliveryList:
    """Deliveries that failed every attempt, newest first."""
    return DeliveryList(deliveries=[DeliveryOut.of(d) for d in desk.outbox.find("dead", limit)])


@router.post("/notifications/dead-letters/{delivery_id}/replay", response_model=DeliveryOut)
def replay(delivery_id: str, principal: OperatorDep, desk: DeskDep) -> DeliveryOut:
    """Send a dead delivery again (same id and idempotency key, fresh attempts)."""
    d = desk.outbox.replay(delivery_id, desk.now())
    if desk.notifier.dispatcher is not None:
        desk.notifier.dispatcher.wake()
    return DeliveryOut.of(d)


@router.get("/me/notifications", response_model=PreferencesIO)
def my_preferences(principal: PeopleDep, desk: DeskDep) -> PreferencesIO:
    p = desk.notifier.preferences(principal.user or "")
    return PreferencesIO(email=p.email, email_on=p.email_on, events=list(p.events))


@router.put("/me/notifications", response_model=PreferencesIO)
def set_preferences(body: PreferencesIO, principal: PeopleDep, desk: DeskDep) -> PreferencesIO:
    """Which events reach you by e-mail (about the vehicles you may see)."""
    if principal.user is None:
        raise BadRequest("preferences belong to people who sign in, not to API tokens")
    _check_events(body.events)
    desk.outbox.set_preferences(
        Preferences(principal.user, body.email, body.email_on, tuple(body.events), desk.now())
    )
    return body
