"""Vehicle registry and credentials: who may send and read what. Only HMACs of secrets are kept."""

from volta.registry.base import Registry
from volta.registry.model import Enrollment, IssuedToken, Principal, Role, Vehicle
from volta.registry.sqlite import SQLiteRegistry

__all__ = [
    "Enrollment",
    "IssuedToken",
    "Principal",
    "Registry",
    "Role",
    "SQLiteRegistry",
    "Vehicle",
]
