"""Vehicle registry and credentials: who may send and read what. Only HMACs of secrets and
argon2 hashes of passwords are kept."""

from volta.registry.base import Accounts, Audit, Credentials, Registry, Vehicles
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
    "USER_ROLES",
    "Accounts",
    "Audit",
    "AuditEntry",
    "AuditQuery",
    "Credential",
    "Credentials",
    "Enrollment",
    "IssuedToken",
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
