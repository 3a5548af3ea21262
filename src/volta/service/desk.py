"""The after-sales service desk: what the API, the CLI and the alert sources call. It ties the
pure rules (`cases`, `slots`, `recalls`) to the storage (`casebook`, `booking`, `recallbook`,
`outbox`), reads the clock, and announces what happened (`notify.Notifier`).

`open_from_alert(vin, problem_key, alert)` is the entry point for alert sources (the alert
log, diagnostic rules): one open case per vehicle and problem; repeats attach to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from volta.catalog import Catalog
from volta.clock import Clock
from volta.errors import BadRequest, NotFound
from volta.registry import Vehicles
from volta.registry.database import Database
from volta.registry.model import check_name
from volta.service.booking import Bookings
from volta.service.casebook import CaseBook, new_id
from volta.service.cases import check_problem_key
from volta.service.model import (
    Actor,
    AlertDetails,
    Appointment,
    Case,
    CaseEvent,
    CaseLine,
    CaseState,
    LineKind,
    Recall,
    RecallFilter,
    Severity,
    SoftwareFix,
    Workshop,
)
from volta.service.notify import Notifier
from volta.service.outbox import Outbox
from volta.service.recallbook import RecallBook
from volta.service.recalls import VehicleFacts, affected, check_filter, check_fix, is_fixed
from volta.service.slots import check_layout, check_timezone, parse_hours
from volta.twin.state import Twin, TwinValue

SYSTEM = Actor("volta", "system")
_OTA = re.compile(r"Vehicle\.OTA\.([A-Za-z0-9_]+)\.(SoftwareVersion|HardwareVariant)")
NO_MATCH_WARNING = "the filter matches no registered vehicle: check models, dates and versions"


class ServiceDesk:
    """Cases, workshops, appointments, recalls and notifications over one database."""

    def __init__(
        self,
        db: Database,
        vehicles: Vehicles,
        clock: Clock,
        *,
        twin: Twin | None = None,
        catalog: Catalog | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.cases = CaseBook(db)
        self.bookings = Bookings(db)
        self.recalls = RecallBook(db)
        self.outbox = Outbox(db)
        self.notifier = notifier or Notifier(self.outbox, clock)
        self._vehicles = vehicles
        self._clock = clock
        self._twin = twin
        self._catalog = catalog
        self._ota: dict[int, tuple[str, str]] = {}
        self._version_signal: dict[str, int] = {}  # ECU -> its SoftwareVersion signal id
        if catalog is not None:
            for sig in catalog:
                m = _OTA.fullmatch(sig.path)
                if m:
                    self._ota[sig.id] = (m[1], m[2])
                    if m[2] == "SoftwareVersion":
                        self._version_signal[m[1]] = sig.id

    def now(self) -> int:
        return self._clock()

    def vehicle_organisation(self, vin: str) -> str | None:
        """The service organisation of a registered vehicle (None: none, or not registered)."""
        try:
            return self._vehicles.get_vehicle(vin).organisation
        except NotFound:
            return None

    # -- cases ------------------------------------------------------------------------------

    def open_case(
        self,
        vin: str,
        problem_key: str,
        title: str,
        severity: Severity,
        actor: Actor,
        *,
        source: str = "manual",
        alert: AlertDetails | None = None,
        recall_id: str | None = None,
    ) -> tuple[Case, bool]:
        """The open case of the vehicle for the problem (opened now, or the one that was
        open, which an alert attaches to); whether it was opened now. NotFound for a VIN
        that is not registered."""
        check_problem_key(problem_key)
        vehicle = self._vehicles.get_vehicle(vin)
        case, created = self.cases.open_case(
            vin=vin,
            organisation=vehicle.organisation,
            problem_key=problem_key,
            title=title,
            severity=severity,
            source=source,
            actor=actor,
            now_ms=self._clock(),
            alert=alert,
            recall_id=recall_id,
        )
        if created:
            self._emit("case.opened", case, f"case opened: {title}")
        elif alert is not None:
            self._emit("case.alert", case, f"alert again: {alert.message}")
        return case, created

    def open_from_alert(
        self, vin: str, problem_key: str, alert: AlertDetails, title: str | None = None
    ) -> tuple[Case, bool]:
        """For alert sources: open a case for the alert, or attach it to the open one."""
        return self.open_case(
            vin,
            problem_key,
            title or alert.message,
            alert.severity,
            SYSTEM,
            source="alert",
            alert=alert,
        )

    def transition(
        self,
        case_id: str,
        to: CaseState,
        actor: Actor,
        note: str | None = None,
        remedy: str | None = None,
    ) -> Case:
        case = self.cases.transition(case_id, to, actor, self._clock(), note=note, remedy=remedy)
        self._emit("case.transition", case, f"case {case.title}: now {to.value}")
        return case

    def add_note(self, case_id: str, actor: Actor, text: str) -> CaseEvent:
        return self.cases.add_note(case_id, actor, text, self._clock())

    def add_line(
        self,
        case_id: str,
        actor: Actor,
        kind: LineKind,
        description: str,
        quantity: float,
        part_number: str | None = None,
    ) -> CaseLine:
        return self.cases.add_line(
            case_id, actor, kind, description, quantity, part_number, self._clock()
        )

    # -- workshops and appointments ---------------------------------------------------------

    def add_workshop(
        self,
        name: str,
        organisation: str,
        bays: int,
        slot_minutes: int,
        timezone: str,
        hours: Mapping[str, Any],
    ) -> Workshop:
        """BadRequest for bad hours, layout or time zone."""
        if not name.strip():
            raise BadRequest("a workshop needs a name")
        check_name("organisation", organisation)
        check_layout(bays, slot_minutes)
        ws = Workshop(
            id=new_id("ws"),
            name=name.strip(),
            organisation=organisation,
            bays=bays,
            slot_minutes=slot_minutes,
            timezone=check_timezone(timezone),
            hours=parse_hours(hours),
            created_ms=self._clock(),
        )
        return self.bookings.add_workshop(ws)

    def book(
        self, case_id: str, workshop_id: str, start_ms: int, actor: Actor
    ) -> tuple[Appointment, Case]:
        appt, case = self.bookings.book(case_id, workshop_id, start_ms, actor, self._clock())
        self._emit(
            "appointment.booked",
            case,
            f"appointment booked for {case.title}",
            appointment=appt.id,
            workshop=appt.workshop_id,
            start_ms=appt.start_ms,
        )
        return appt, case

    def move(self, appointment_id: str, start_ms: int, actor: Actor) -> Appointment:
        appt = self.bookings.move(appointment_id, start_ms, actor, self._clock())
        case = self.cases.get(appt.case_id)
        self._emit(
            "appointment.moved",
            case,
            f"appointment moved for {case.title}",
            appointment=appt.id,
            workshop=appt.workshop_id,
            start_ms=appt.start_ms,
        )
        return appt

    def cancel(self, appointment_id: str, actor: Actor) -> tuple[Appointment, Case]:
        appt, case = self.bookings.cancel(appointment_id, actor, self._clock())
        self._emit(
            "appointment.cancelled",
            case,
            f"appointment cancelled for {case.title}",
            appointment=appt.id,
            workshop=appt.workshop_id,
            start_ms=appt.start_ms,
        )
        return appt, case

    # -- recalls ----------------------------------------------------------------------------

    def preview_recall(self, f: RecallFilter) -> tuple[list[str], list[str]]:
        """(affected VINs, warnings) of a filter, without creating anything."""
        vins = affected(check_filter(f), self.vehicle_facts())
        return vins, [] if vins else [NO_MATCH_WARNING]

    def create_recall(
        self,
        title: str,
        description: str,
        remedy: str,
        f: RecallFilter,
        actor: Actor,
        fix: SoftwareFix | None = None,
    ) -> tuple[Recall, list[str], list[str]]:
        """The recall with its affected vehicles fixed now; warnings (a filter that matches
        nothing is kept, with a warning: the maker may register the cars later). With `fix`,
        a vehicle is also done once the twin shows that software installed (`sync_recall`)."""
        if not title.strip() or not remedy.strip():
            raise BadRequest("a recall needs a title and a remedy code")
        if fix is not None:
            check_fix(fix)
            if self._catalog is not None and fix.ecu not in self._version_signal:
                known = ", ".join(sorted(self._version_signal))
                raise BadRequest(f"no ECU {fix.ecu!r} reports a software version (known: {known})")
        vins, warnings = self.preview_recall(f)
        recall = Recall(
            new_id("rc"),
            title.strip(),
            description,
            remedy.strip(),
            f,
            "active",
            self._clock(),
            actor.name,
            fix=fix,
        )
        self.recalls.add(recall, vins)
        self.sync_recall(recall)
        self.notifier.emit(
            "recall.created",
            {
                "recall": recall.id,
                "title": recall.title,
                "vehicles": len(vins),
                "summary": f"recall {recall.title}",
            },
            None,
            None,
        )
        return recall, vins, warnings

    def open_recall_cases(self, recall_id: str, actor: Actor) -> int:
        """A case (`recall:<id>`) for each vehicle of the recall not yet done; how many
        were opened now."""
        recall = self.sync_recall(self.recalls.get(recall_id))
        opened = 0
        for rv in self.recalls.vehicles(recall_id, open_only=True):
            case, created = self.open_case(
                rv.vin,
                f"recall:{recall.id}",
                recall.title,
                "warning",
                actor,
                source="recall",
                recall_id=recall.id,
            )
            if created:
                self.recalls.link_case(recall.id, rv.vin, case.id)
                opened += 1
        return opened

    def remind(self, recall_id: str) -> int:
        """Remind the drivers (and subscribers) of every vehicle not yet done; how many
        vehicles were reminded."""
        recall = self.sync_recall(self.recalls.get(recall_id))
        pending = [rv.vin for rv in self.recalls.vehicles(recall_id, open_only=True)]
        for vin in pending:
            organisation = self._vehicles.get_vehicle(vin).organisation
            self.notifier.emit(
                "recall.reminder",
                {
                    "recall": recall.id,
                    "vin": vin,
                    "title": recall.title,
                    "summary": f"recall for your {vin}: {recall.title}; please book a visit",
                },
                vin,
                organisation,
            )
        self.recalls.reminded(recall_id, pending, self._clock())
        return len(pending)

    def sync_recall(self, recall: Recall) -> Recall:
        """Complete the recall's open vehicles whose twin shows its fixing software (at the
        time of that report); the recall. Run before a recall's state is read or acted on: the
        twin is in memory, and only open vehicles are looked at. Without a twin (a scale-out
        API process) nothing changes here; the process that has one completes them."""
        sid = self._version_signal.get(recall.fix.ecu) if recall.fix else None
        if recall.fix is None or sid is None or self._twin is None or self._catalog is None:
            return recall
        now = self._clock()
        done = []
        for rv in self.recalls.vehicles(recall.id, open_only=True):
            value = self._twin.get(rv.vin).get(sid)
            if value is not None and is_fixed(recall.fix, self._decode(sid, value)):
                done.append((rv.vin, max(rv.added_ms, min(value.ts_ms, now))))
        if done:
            self.recalls.complete_by_software(recall.id, done)
        return recall

    def _decode(self, sid: int, value: TwinValue) -> str | None:
        """A twin value of a string signal in its VSS form (the twin keeps JSON text)."""
        if self._catalog is None:
            return None
        try:
            decoded = self._catalog.from_stored(sid, value.num, value.txt)
        except ValueError:
            return None
        return decoded if isinstance(decoded, str) else None

    def vehicle_facts(self) -> Iterator[VehicleFacts]:
        """What recall filters look at, for every registered vehicle."""
        after: str | None = None
        while True:
            page = self._vehicles.list_vehicles(1000, after)
            for v in page:
                software: dict[str, str] = {}
                hardware: dict[str, str] = {}
                if self._twin is not None and self._ota:
                    for sid, value in self._twin.get(v.vin).items():
                        found = self._ota.get(sid)
                        text = self._decode(sid, value) if found is not None else None
                        if found is not None and text is not None:
                            ecu, what = found
                            (software if what == "SoftwareVersion" else hardware)[ecu] = text
                yield VehicleFacts(v.vin, v.model, v.attributes, software, hardware)
            if len(page) < 1000:
                return
            after = page[-1].vin

    # -- notifications ----------------------------------------------------------------------

    def _emit(self, event: str, case: Case, summary: str, **extra: Any) -> None:
        data = {
            "case": case.id,
            "vin": case.vin,
            "state": case.state.value,
            "problem_key": case.problem_key,
            "summary": summary,
            **extra,
        }
        self.notifier.emit(event, data, case.vin, case.organisation)
