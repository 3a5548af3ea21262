"""After-sales service domain types: cases, their history and lines, workshops, appointments,
recalls, and notifications. Plain frozen structs; the rules live in `cases`, `slots`,
`recalls`, the storage in `casebook`, `booking`, `recallbook` and `outbox`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
LineKind = Literal["part", "labour"]


class CaseState(StrEnum):
    """Where a service case stands. The last three are final."""

    OPEN = "open"
    TRIAGED = "triaged"
    APPOINTMENT_BOOKED = "appointment_booked"
    IN_SERVICE = "in_service"
    RESOLVED = "resolved"
    NO_FAULT_FOUND = "no_fault_found"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({CaseState.RESOLVED, CaseState.NO_FAULT_FOUND, CaseState.CANCELLED})


@dataclass(frozen=True, slots=True)
class AlertDetails:
    """What an alert (the alert log, a diagnostic rule) says about a vehicle's problem."""

    kind: str
    severity: Severity
    message: str
    since_ms: int
    signal: str | None = None
    value: float | str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """One problem of one vehicle, from the first alert (or a person opening it) to its end.
    `due_ms` is the next SLA deadline (triage while open, then repair); None once final."""

    id: str
    vin: str
    organisation: str | None
    problem_key: str
    title: str
    severity: Severity
    source: str  # "alert", "manual", "recall"
    state: CaseState
    opened_ms: int
    opened_by: str
    triage_due_ms: int
    repair_due_ms: int
    due_ms: int | None
    updated_ms: int
    triaged_ms: int | None = None
    started_ms: int | None = None
    closed_ms: int | None = None
    alert_count: int = 0
    last_alert_ms: int | None = None
    workshop_id: str | None = None
    recall_id: str | None = None
    remedy: str | None = None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One step of a case's history: who did what, when."""

    id: int
    case_id: str
    ts_ms: int
    actor: str
    role: str
    kind: str  # opened, alert, transition, note, line, appointment
    text: str | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseLine:
    """A part fitted or labour done on a case (quantity: pieces, or hours of labour)."""

    id: int
    case_id: str
    ts_ms: int
    actor: str
    kind: LineKind
    description: str
    part_number: str | None
    quantity: float


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something to a case (the audit log's actor and role)."""

    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Workshop:
    """A service organisation's workshop. `hours`: weekday (0 = Monday) → opening intervals in
    minutes after local midnight, in the workshop's time zone."""

    id: str
    name: str
    organisation: str
    bays: int
    slot_minutes: int
    timezone: str
    hours: dict[int, tuple[tuple[int, int], ...]]
    created_ms: int


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    case_id: str
    workshop_id: str
    vin: str
    start_ms: int
    end_ms: int
    bay: int
    state: str  # booked, cancelled
    booked_by: str
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class RecallFilter:
    """Which vehicles a recall covers: every given criterion must hold (an empty filter is
    refused). Build dates are ISO dates (attribute `build_date` of the vehicle); software
    versions and hardware variants are per ECU (`Vehicle.OTA.<ecu>.*`) or, when the twin
    has none, the vehicle's attributes `software_version` / `hardware_variant`."""

    models: tuple[str, ...] = ()
    build_from: str | None = None
    build_to: str | None = None
    vin_from: str | None = None
    vin_to: str | None = None
    ecu: str | None = None
    software_versions: tuple[str, ...] = ()
    hardware_variants: tuple[str, ...] = ()
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recall:
    id: str
    title: str
    description: str
    remedy: str
    filter: RecallFilter
    state: str
    created_ms: int
    created_by: str
    last_reminder_ms: int | None = None
    fix: SoftwareFix | None = None


@dataclass(frozen=True, slots=True)
class SoftwareFix:
    """The software that fixes a recall: a vehicle whose `ecu` reports `version` or newer
    (`Vehicle.OTA.<ecu>.SoftwareVersion`) is done without a workshop visit."""

    ecu: str
    version: str


@dataclass(frozen=True, slots=True)
class RecallVehicle:
    recall_id: str
    vin: str
    added_ms: int
    completed_ms: int | None
    case_id: str | None
    reminders: int
    completed_via: str | None = None  # "case" (resolved with the remedy) or "software"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    organisation: str | None
    created_ms: int
    disabled_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to one endpoint or address. `id` is the idempotency key."""

    id: str
    channel: Literal["webhook", "email"]
    target: str
    event: str
    body: str
    state: str  # pending, sending, delivered, dead
    attempts: int
    next_ms: int
    last_error: str | None
    created_ms: int
    done_ms: int | None


@dataclass(frozen=True, slots=True)
class Preferences:
    """A person's notification choices: events (["*"] = all) and where e-mail goes."""

    user: str
    email: str | None
    email_on: bool
    events: tuple[str, ...]
    updated_ms: int
