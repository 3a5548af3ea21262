"""The registry interface: vehicles and the credentials that act for them or for operators."""

from __future__ import annotations

from typing import Any, Protocol

from volta.registry.model import Enrollment, IssuedToken, Principal, Role, Vehicle


class Registry(Protocol):
    """Vehicles and credentials. Thread-safe; only HMACs of secrets are stored."""

    def add_vehicle(
        self, vin: str, model: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Enrollment:
        """Register a vehicle and issue its first token. BadRequest for an invalid VIN,
        Conflict if the VIN is already registered."""
        ...

    def get_vehicle(self, vin: str) -> Vehicle:
        """NotFound if the VIN is not registered."""
        ...

    def list_vehicles(self, limit: int = 1000, after: str | None = None) -> list[Vehicle]:
        """Ordered by VIN; page with `after` (the last VIN of the previous page)."""
        ...

    def has_vehicle(self, vin: str) -> bool: ...

    def issue_token(self, role: Role, vin: str | None = None) -> IssuedToken:
        """A new secret for an operator, or for a registered vehicle (`vin` required)."""
        ...

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token stands for, or None if it is unknown or revoked."""
        ...

    def revoke(self, credential_id: str) -> None:
        """NotFound if there is no such credential."""
        ...

    def close(self) -> None: ...
