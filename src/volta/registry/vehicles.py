"""The vehicles role: registering vehicles, finding them, and who may see which."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from volta.errors import BadRequest, Conflict, NotFound
from volta.registry.credentials import insert_credential
from volta.registry.database import BUMP, GENERATION, Core, Row, Taken
from volta.registry.model import (
    Enrollment,
    Principal,
    Role,
    Vehicle,
    check_name,
    check_vehicle_field,
)
from volta.wire import is_valid_vin

_VEHICLE_COLUMNS = "vin, model, attributes, created_ms, organisation, name, plate, group_name"
# A vehicle's field → its column ("group" is an SQL keyword).
_COLUMN = {"name": "name", "plate": "plate", "group": "group_name", "model": "model"}


class VehicleBook(Core):
    """`Vehicles` over a `Database`."""

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
        if not is_valid_vin(vin):
            raise BadRequest(
                f"invalid VIN {vin!r}: 17 characters A-Z/0-9 without I, O, Q (ISO 3779)"
            )
        if organisation is not None:
            check_name("organisation", organisation)
        now = self._clock()
        vehicle = Vehicle(
            vin=vin,
            model=model,
            attributes=dict(attributes or {}),
            created_ms=now,
            organisation=organisation,
            name=check_vehicle_field("name", name),
            plate=check_vehicle_field("plate", plate),
            group=check_vehicle_field("group", group),
        )
        try:
            with self._db.transaction() as tx:
                tx.execute(
                    f"INSERT INTO vehicles ({_VEHICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                    (vin, model, json.dumps(vehicle.attributes), now, organisation,
                     vehicle.name, vehicle.plate, vehicle.group),
                )  # fmt: skip
                token = insert_credential(tx, self._key, Role.VEHICLE, vin, now)
                tx.execute(BUMP)  # a technician of `organisation` now sees one more vehicle
        except Taken:
            raise Conflict(f"vehicle {vin} is already registered") from None
        self._known_vins.add(vin)
        return Enrollment(vehicle=vehicle, token=token)

    def get_vehicle(self, vin: str) -> Vehicle:
        with self._db.connection() as c:
            row = c.one(f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE vin = ?", (vin,))
        if row is None:
            raise NotFound(f"vehicle {vin} is not registered")
        return _vehicle(row)

    def list_vehicles(self, limit: int = 1000, after: str | None = None) -> list[Vehicle]:
        with self._db.connection() as c:
            rows = c.rows(
                f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE vin > ? ORDER BY vin LIMIT ?",
                (after or "", limit),
            )
        return [_vehicle(r) for r in rows]

    def vins(self) -> list[str]:
        # The fleet page asks once a second: read again only when the registry changed.
        with self._db.connection() as c:
            row = c.one(GENERATION)
            generation = int(row[0]) if row is not None else None
            if generation is None or self._vins[0] != generation:
                rows = c.rows("SELECT vin FROM vehicles ORDER BY vin")
                self._vins = (generation, [str(r[0]) for r in rows])
        return list(self._vins[1])

    def has_vehicle(self, vin: str) -> bool:
        if vin in self._known_vins:
            return True
        with self._db.connection() as c:
            found = c.one("SELECT 1 FROM vehicles WHERE vin = ?", (vin,)) is not None
        if found:
            self._known_vins.add(vin)
        return found

    def set_organisation(self, vin: str, organisation: str | None) -> Vehicle:
        """Which service organisation looks after a vehicle (None: none)."""
        if organisation is not None:
            check_name("organisation", organisation)
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE vehicles SET organisation = ? WHERE vin = ?", (organisation, vin)
            )
            tx.execute(BUMP)
        if changed == 0:
            raise NotFound(f"vehicle {vin} is not registered")
        return self.get_vehicle(vin)

    def update_vehicle(self, vin: str, fields: Mapping[str, str | None]) -> Vehicle:
        """Set what people call a vehicle (`name`, `plate`, `group`) or its `model`; a field
        given as None or empty text is cleared, one left out is kept. NotFound for a VIN,
        BadRequest for an unknown field or a bad value."""
        clean = {f: check_vehicle_field(f, v) for f, v in fields.items()}
        if clean:
            sets = ", ".join(f"{_COLUMN[f]} = ?" for f in clean)
            with self._db.transaction() as tx:
                changed = tx.execute(
                    f"UPDATE vehicles SET {sets} WHERE vin = ?", (*clean.values(), vin)
                )
            if changed == 0:
                raise NotFound(f"vehicle {vin} is not registered")
        return self.get_vehicle(vin)

    def visible_vehicles(
        self, principal: Principal, limit: int = 1000, after: str | None = None
    ) -> list[Vehicle]:
        """The vehicles a principal may see, by VIN, paged like `list_vehicles`."""
        if principal.sees_all:
            return self.list_vehicles(limit, after)
        candidates = set(principal.vins)
        if principal.vin is not None:
            candidates.add(principal.vin)
        wanted = sorted(v for v in candidates if v > (after or ""))[:limit]
        return [self.get_vehicle(v) for v in wanted if self.has_vehicle(v)]


def _vehicle(row: Row) -> Vehicle:
    return Vehicle(
        vin=row[0],
        model=row[1],
        attributes=json.loads(row[2]),
        created_ms=row[3],
        organisation=row[4],
        name=row[5],
        plate=row[6],
        group=row[7],
    )
