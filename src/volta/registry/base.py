"""The registry interfaces, one per role: vehicles, accounts (users and their sessions),
credentials (API tokens, and who a token stands for), the audit log and the alert log.
`Registry` is all five; a caller that needs one role asks for that protocol.

Two engines implement them with the same code over a small SQL interface
(`volta.registry.database`): SQLite in the data dir (embedded, the default) and PostgreSQL
(scale-out, `VOLTA_REGISTRY=postgresql://…`). `tests/registry` runs on both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from volta.registry.alertlog import AlertChanges, AlertPage, AlertQuery, LoggedAlert
from volta.registry.model import (
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


class Vehicles(Protocol):
    """Registered vehicles and the organisation that services each."""

    def add_vehicle(
        self,
        vin: str,
        model: str | None = None,
        attributes: dict[str, Any] | None = None,
        organisation: str | None = None,
        *,
        name: str | None = None,
        plate: str | None = None,
        group: str | None = None,
    ) -> Enrollment:
        """Register a vehicle and issue its first token. BadRequest for an invalid VIN (or
        name, plate, group), Conflict if the VIN is already registered."""
        ...

    def get_vehicle(self, vin: str) -> Vehicle:
        """NotFound if the VIN is not registered."""
        ...

    def list_vehicles(self, limit: int = 1000, after: str | None = None) -> list[Vehicle]:
        """Ordered by VIN; page with `after` (the last VIN of the previous page)."""
        ...

    def has_vehicle(self, vin: str) -> bool: ...

    def vins(self) -> list[str]:
        """Every registered VIN, sorted (cheap to ask once a second)."""
        ...

    def set_organisation(self, vin: str, organisation: str | None) -> Vehicle:
        """Which service organisation's technicians see the vehicle. NotFound for a VIN."""
        ...

    def update_vehicle(self, vin: str, fields: Mapping[str, str | None]) -> Vehicle:
        """Set `name`, `plate`, `group` or `model` (None or empty text clears one).
        NotFound for a VIN, BadRequest for an unknown field or a bad value."""
        ...

    def visible_vehicles(
        self, principal: Principal, limit: int = 1000, after: str | None = None
    ) -> list[Vehicle]:
        """The vehicles a principal may see, ordered and paged like `list_vehicles`."""
        ...


class Accounts(Protocol):
    """People who sign in (operators, technicians, drivers), the vehicles assigned to
    drivers, and their sign-in sessions. Only argon2 hashes of passwords are kept."""

    def add_user(
        self, name: str, role: Role, password: str, organisation: str | None = None
    ) -> User:
        """BadRequest for a bad name, role/organisation mix or short password; Conflict if
        the name is taken."""
        ...

    def get_user(self, name: str) -> User: ...

    def list_users(self, limit: int = 1000, after: str | None = None) -> list[User]: ...

    def set_password(self, name: str, password: str) -> None: ...

    def disable_user(self, name: str) -> None:
        """Ends the user's sessions at once. NotFound if there is no such active user."""
        ...

    def assign(self, name: str, vin: str) -> User:
        """Let a driver see a vehicle. BadRequest for a user who is not a driver."""
        ...

    def unassign(self, name: str, vin: str) -> User: ...

    def sign_in(self, name: str, password: str, ttl_s: int = ...) -> Session:
        """A signed session token; AuthError for a wrong name or password (the same either)."""
        ...

    def refresh(self, token: str, ttl_s: int = ...) -> Session:
        """A new session token for a valid one (same user, same original sign-in time);
        AuthError once the session is too old or the user disabled."""
        ...


class Credentials(Protocol):
    """API tokens of operators (machines) and vehicles, and who any token stands for. Only
    HMACs of tokens are kept."""

    def list_credentials(self, limit: int = 1000, after: str | None = None) -> list[Credential]: ...

    def issue_token(self, role: Role, vin: str | None = None) -> IssuedToken:
        """A new secret for an operator, or for a registered vehicle (`vin` required)."""
        ...

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token (an API token or a session JWT) stands for, or None if it is
        unknown or revoked. AuthError with the reason for an expired or damaged session."""
        ...

    def revoke(self, credential_id: str) -> None:
        """NotFound if there is no such credential."""
        ...


class Audit(Protocol):
    """The append-only log of who did what through the API."""

    def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        status: int,
        credential_id: str | None = None,
        target: str | None = None,
        client: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append to the audit log."""
        ...

    def audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Audit entries matching the query, newest first."""
        ...


class AlertLog(Protocol):
    """Each alert from when it was raised until it cleared, and who acknowledged it
    (`volta.registry.alertlog`; `volta.alertwatch` writes it)."""

    def open_alerts(self) -> list[LoggedAlert]:
        """Every alert not cleared yet."""
        ...

    def apply_alerts(self, changes: AlertChanges) -> None:
        """Open, update and close alerts, in one transaction."""
        ...

    def get_alert(self, alert_id: int) -> LoggedAlert:
        """NotFound if there is no such alert."""
        ...

    def acknowledge_alert(self, alert_id: int, by: str, note: str | None = None) -> LoggedAlert:
        """NotFound for an unknown id, Conflict if it was acknowledged already."""
        ...

    def query_alerts(self, query: AlertQuery) -> AlertPage:
        """Newest raised first, with the counts by severity of everything that matches."""
        ...


class Registry(Vehicles, Accounts, Credentials, Audit, AlertLog, Protocol):
    """Every role on one engine. Thread-safe."""

    def close(self) -> None: ...
