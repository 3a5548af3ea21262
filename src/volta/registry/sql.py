"""The registry over any `Database`: every role, written once for both engines."""

from __future__ import annotations

from volta.registry.accounts import AccountBook
from volta.registry.alertlog import AlertBook
from volta.registry.audit import AuditLog
from volta.registry.credentials import CredentialBook
from volta.registry.vehicles import VehicleBook


class SqlRegistry(VehicleBook, AccountBook, CredentialBook, AuditLog, AlertBook):
    """`Registry`: the five roles sharing one engine, keys, clock and caches."""
