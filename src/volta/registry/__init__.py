"""Vehicle registry and credentials: who may send and read what. Only HMACs of secrets and
argon2 hashes of passwords are kept."""

from volta.registry.alertlog import (
    ALERT_STATES,
    AlertChanges,
    AlertFacts,
    AlertPage,
    AlertQuery,
    AlertState,
    LoggedAlert,
)
from volta.registry.base import Accounts, AlertLog, Audit, Credentials, Registry, Vehicles
from volta.registry.engines import open_registry
from volta.registry.model import (
    USER_ROLES,
    AuditEntry,
    AuditQuery,
    Credential,
    Enrollment,
    IssuedToken,
    Principal,
    Role,
    Session,
    User,
    Vehicle,
)
from volta.registry.sqlite import SQLiteRegistry

__all__ = [
    "ALERT_STATES",
    "USER_ROLES",
    "Accounts",
    "AlertChanges",
    "AlertFacts",
    "AlertLog",
    "AlertPage",
    "AlertQuery",
    "AlertState",
    "Audit",
    "AuditEntry",
    "AuditQuery",
    "Credential",
    "Credentials",
    "Enrollment",
    "IssuedToken",
    "LoggedAlert",
    "Principal",
    "Registry",
    "Role",
    "SQLiteRegistry",
    "Session",
    "User",
    "Vehicle",
    "Vehicles",
    "open_registry",
]
