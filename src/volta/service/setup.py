"""Building the service desk and its notification dispatcher from the settings."""

from __future__ import annotations

from volta.catalog import Catalog
from volta.clock import Clock
from volta.config import Settings
from volta.registry import Registry
from volta.registry.sql import SqlRegistry
from volta.service.desk import ServiceDesk
from volta.service.notify import (
    Dispatcher,
    MailSender,
    Notifier,
    Sender,
    SmtpSettings,
    WebhookSender,
)
from volta.service.outbox import Outbox
from volta.twin.state import Twin


def open_desk(
    settings: Settings, registry: Registry, twin: Twin, catalog: Catalog, clock: Clock
) -> tuple[ServiceDesk, Dispatcher] | None:
    """The desk over the registry's database (None for a registry without one) and a
    dispatcher, not yet started, that sends its notifications."""
    if not isinstance(registry, SqlRegistry):
        return None
    outbox = Outbox(registry.database)
    senders: dict[str, Sender] = {
        "webhook": WebhookSender(outbox, clock, settings.webhook_timeout_s)
    }
    if settings.smtp_host:
        senders["email"] = MailSender(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                user=settings.smtp_user,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
            )
        )
    dispatcher = Dispatcher(
        outbox,
        senders,
        clock,
        max_attempts=settings.notify_max_attempts,
        backoff_base_s=settings.notify_backoff_s,
    )
    notifier = Notifier(outbox, clock, dispatcher)
    desk = ServiceDesk(
        registry.database, registry, clock, twin=twin, catalog=catalog, notifier=notifier
    )
    return desk, dispatcher
