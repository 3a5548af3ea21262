"""The whole fleet at a glance: position, motion, charge and state of every vehicle, from the
twin, in one columnar response (the dashboard's fleet map polls it once a second)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import msgspec
import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from volta.api.auth import OperatorDep, PlatformDep
from volta.catalog import Catalog
from volta.timeline.core import SILENCE_MS
from volta.twin.state import Twin

router = APIRouter(prefix="/v1/fleet", tags=["fleet"])
FloatArray = NDArray[np.float64]

LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
HEADING = "Vehicle.CurrentLocation.Heading"
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
CHARGING = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging"
GEAR = "Vehicle.Powertrain.Transmission.SelectedGear"
GEAR_DRIVE = 127  # VSS SelectedGear: 127 = Drive, 126 = Park

# A car reports at least every minute while awake, so silence beyond AWAKE_MS means it went to
# sleep (the same threshold as the state timeline's); beyond OFFLINE_MS something is wrong.
AWAKE_MS = SILENCE_MS
OFFLINE_MS = 24 * 3600_000
MOVING_KMH = 0.5


class VehicleState(IntEnum):
    """What a vehicle is doing; the value is its code in `FleetPositions.state`."""

    DRIVING = 0
    CHARGING = 1
    PARKED = 2
    ASLEEP = 3
    OFFLINE = 4
    NEVER_SEEN = 5


@dataclass(frozen=True, slots=True)
class FleetSignals:
    """The catalog ids of the signals the fleet view reads from the twin."""

    lat: int
    lon: int
    heading: int
    speed: int
    soc: int
    charging: int
    gear: int

    @classmethod
    def of(cls, catalog: Catalog) -> FleetSignals:
        g = catalog.get
        return cls(
            g(LAT).id, g(LON).id, g(HEADING).id, g(SPEED).id, g(SOC).id, g(CHARGING).id, g(GEAR).id
        )


class FleetPositions(BaseModel):
    """Columns, one entry per registered vehicle (and any other that reported), in VIN order.
    A vehicle that never reported has only its state; one asleep or offline no speed."""

    now: int = Field(description="server time, ms since the epoch")
    states: list[str] = Field(description="names of the codes used in `state`")
    vin: list[str]
    lat: list[float | None] = Field(description="degrees")
    lon: list[float | None] = Field(description="degrees")
    heading: list[float | None] = Field(description="degrees, 0 = north, clockwise")
    speed: list[float | None] = Field(description="km/h")
    soc: list[float | None] = Field(description="percent")
    state: list[int]
    last_seen: list[int | None] = Field(
        description="newest sample or stored batch, whichever is later, ms since the epoch;"
        " null if never"
    )


def states_of(
    now_ms: int,
    last_ms: NDArray[np.int64],
    speed: FloatArray,
    gear: FloatArray,
    charging: FloatArray,
) -> NDArray[np.int64]:
    """The state of each vehicle from its latest values (NaN = none) and how long ago it
    last spoke (`last_ms` < 0: never)."""
    age = now_ms - last_ms
    driving = (np.nan_to_num(speed) > MOVING_KMH) | (gear == GEAR_DRIVE)
    return np.select(
        [last_ms < 0, age > OFFLINE_MS, age > AWAKE_MS, np.nan_to_num(charging) > 0, driving],
        [
            VehicleState.NEVER_SEEN,
            VehicleState.OFFLINE,
            VehicleState.ASLEEP,
            VehicleState.CHARGING,
            VehicleState.DRIVING,
        ],
        VehicleState.PARKED,
    ).astype(np.int64)


def positions(
    twin: Twin, vins: list[str], ids: FleetSignals, now_ms: int, stored_ms: dict[str, int]
) -> bytes:
    """JSON bytes of `FleetPositions` (10,000 vehicles at 1 Hz: columns, built with numpy). A
    vehicle was last seen at its newest sample or when its last batch was stored
    (`stored_ms`), whichever is later: a batch that arrives late still says the car is awake
    (unless it is history, over 10 minutes old: `volta.ingest.activity.LIVE_MS`).
    Every VIN in `vins` has a row, a vehicle that never reported too."""
    wanted = (ids.lat, ids.lon, ids.heading, ids.speed, ids.soc, ids.gear, ids.charging)
    nothing: list[float | None] = [None] * len(wanted)
    rows: list[list[float | None]] = []
    last: list[int] = []
    for vin in vins:
        values = twin.get(vin)
        if not values:
            rows.append(nothing)
            last.append(stored_ms.get(vin, -1))
            continue
        get = values.get
        rows.append([None if (tv := get(sid)) is None else tv.num for sid in wanted])
        last.append(max(max(tv.ts_ms for tv in values.values()), stored_ms.get(vin, 0)))
    cols = np.array(rows, dtype=np.float64).reshape(len(rows), len(wanted))  # None → NaN
    last_ms = np.array(last, dtype=np.int64)
    state = states_of(now_ms, last_ms, cols[:, 3], cols[:, 5], cols[:, 6])
    # A car that is not awake has no live speed: its last one is history, not motion.
    cols[state >= VehicleState.ASLEEP, 3] = np.nan
    # NaN is written as null
    body = {
        "now": now_ms,
        "states": [s.name.lower().replace("_", " ") for s in VehicleState],
        "vin": vins,
        "lat": cols[:, 0].round(6).tolist(),
        "lon": cols[:, 1].round(6).tolist(),
        "heading": cols[:, 2].round(0).tolist(),
        "speed": cols[:, 3].round(1).tolist(),
        "soc": cols[:, 4].round(1).tolist(),
        "state": state.tolist(),
        "last_seen": [None if t < 0 else t for t in last],
    }
    return msgspec.json.encode(body)


@router.get("/positions", response_model=FleetPositions)
def fleet_positions(principal: OperatorDep, platform: PlatformDep) -> Response:
    """Where every vehicle is and what it is doing (lat, lon, heading, speed, SoC, state,
    last seen). States: driving, charging, parked (awake), asleep (silent over 5 min),
    offline (silent over 24 h), never seen (registered, never reported)."""
    body = positions(
        platform.twin,
        sorted(set(platform.registry.vins()) | set(platform.twin.vehicles())),
        FleetSignals.of(platform.catalog),
        platform.clock(),
        platform.activity.last_seen(),
    )
    return Response(body, media_type="application/json")
