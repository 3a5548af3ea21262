"""`POST /v1/vehicles/{vin}/trips`: the fastest trip for a vehicle, with its charging stops;
`POST /v1/trips/plan`: the same for a vehicle model, no car (`GET /v1/models` lists them).

The car's registered model gives the energy and the charging curve; where the trip starts and
with how much charge default to the car's last reported position and state of charge. The
road network is the server's OSM extract (`VOLTA_ROADS`) with its charging stations and those
of `VOLTA_CHARGERS`; a server without one answers 503. Every signed-in role that may see the
vehicle may plan for it, the vehicle itself included (its own navigation).

Origin and destination are points or names (`planner.gazetteer`): the vehicle's own saved
places and the fleet's (`volta.places`; never another vehicle's), the chargers, the map's named
features. `GET /v1/vehicles/{vin}/places/search` offers the candidates for a name.

A car's trip is stored and followed live (`planner.watch`); `POST …/trips/{id}/follow` makes one
of its close alternatives the plan followed (the driver's choice over the fastest).

A model's trip is a car's without the car: origin and start SoC are given, the consumption is the
model's physics (no calibration), names are the fleet's places, chargers and map features
(`GET /v1/trips/places`), and nothing is stored (no car to follow). People may plan one; a
vehicle's token may not (it plans as itself).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from volta.api.auth import ALL_ROLES, ANY, VEHICLE_READ, PlatformDep, Policy, allow
from volta.drives.core import Drive
from volta.errors import BadRequest, Conflict, NotFound, Unavailable
from volta.planner.calibration import Calibration, calibrate
from volta.planner.filters import ChargerFilter
from volta.planner.gazetteer import FLEET, SAVED, Candidate, Gazetteer, resolve, search
from volta.planner.service import AMBIENT_C, PlannedTrip, TripPlanner, server_planner
from volta.planner.trips import KIND, TripRecord, route_record
from volta.planner.watch import TripWatch
from volta.platform import Platform
from volta.registry import Principal, Role
from volta.vehicles.model import ModelError, VehicleModel, list_models, load_model

__all__ = ["models_router", "router"]

router = APIRouter(prefix="/v1/vehicles", tags=["trips"])
# Trips without a car: the server's vehicle models and the places they can go.
models_router = APIRouter(tags=["trips"])

CALIBRATION_DRIVES = 200  # the newest drives a car's calibration is learnt from

# Planning stores the trip as the one the vehicle is on (followed live): audited.
PLAN_FOR_VEHICLE = Policy(ALL_ROLES, vin=True)
# Planning for a model is for people (a car plans for itself); it stores nothing: not audited.
PLAN_FOR_MODEL = Policy(frozenset({Role.OPERATOR, Role.TECHNICIAN, Role.DRIVER}), audit=False)

LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


Connector = Literal["ccs", "chademo", "nacs", "type2", "j1772"]  # planner.filters.CONNECTOR_KINDS


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90, description="degrees (WGS84)")
    lon: float = Field(ge=-180, le=180, description="degrees (WGS84)")


PlaceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="a saved place of the vehicle (home) or of the fleet, a charger, a street "
        "or another named place of the map; case and accents do not matter, the start of a "
        "name will do",
        examples=["home"],
    ),
]


class TripOptions(BaseModel):
    """What a trip asks for, with a car or a model: where to and the driver's preferences."""

    destination: Point | PlaceName = Field(description="coordinates or a place's name")
    min_arrival_soc: float = Field(10.0, ge=0, le=100, description="% left at the destination")
    min_charger_soc: float = Field(10.0, ge=0, le=100, description="% left at each charger")
    max_charge_soc: float = Field(
        100.0, gt=0, le=100, description="% a stop charges to at most (e.g. 80 to save time)"
    )
    min_power_kw: float = Field(0.0, ge=0, le=1000, description="stop only at chargers this fast")
    connectors: list[Connector] = Field(
        default_factory=list, max_length=5, description="stop only where one of these plugs is"
    )
    networks: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, max_length=20, description="stop only at these networks' chargers"
    )
    prefer_fewer_stops: bool = Field(
        False, description="take a plan with a stop less unless it is 15 min a stop slower"
    )
    alternatives_within_pct: float = Field(
        5.0, ge=0, le=50, description="also answer other charger sequences this % slower at most"
    )
    ambient_c: float = Field(
        AMBIENT_C,
        ge=-40,
        le=50,
        description="outside temperature, °C (to 1 °C): the cabin's heating or cooling power",
    )
    payload_kg: float = Field(
        0.0, ge=0, le=1500, description="people and luggage aboard, kg (to 10 kg)"
    )


class TripIn(TripOptions):
    """A trip for a car: from where it is with the charge it has, unless told otherwise."""

    origin: Point | PlaceName | None = Field(
        None, description="coordinates or a place's name; default: the vehicle's last position"
    )
    start_soc: float | None = Field(
        None, ge=0, le=100, description="% at departure; default: the vehicle's SoC now"
    )
    calibrated: bool = Field(
        True, description="use the vehicle's own consumption from its finished drives"
    )


class ModelTripIn(TripOptions):
    """A trip for a vehicle model, no car: where it starts and with how much charge are given."""

    model: str = Field(description="one of the server's vehicle models (GET /v1/models)")
    origin: Point | PlaceName = Field(description="coordinates or a place's name")
    start_soc: float = Field(ge=0, le=100, description="% at departure")

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name not in list_models():  # never a path: the server's own models only
            raise ValueError(f"unknown vehicle model {name!r}; known: {', '.join(list_models())}")
        return name


class StopOut(BaseModel):
    name: str
    lat: float
    lon: float
    power_kw: float
    network: str
    connectors: list[str]
    km: float = Field(description="from the origin")
    arrival_soc: float
    charge_min: float
    departure_soc: float


class LegOut(BaseModel):
    distance_km: float
    drive_min: float
    energy_kwh: float
    departure_soc: float
    arrival_soc: float
    geometry: list[tuple[float, float]] = Field(
        description="the road followed, [lon, lat] points (GeoJSON LineString coordinates)"
    )


class PlanOut(BaseModel):
    distance_km: float
    drive_min: float
    charge_min: float
    total_min: float
    energy_kwh: float
    arrival_soc: float
    stops: list[StopOut]
    legs: list[LegOut] = Field(description="legs alternate with stops: len(stops) + 1")
    profile: list[tuple[float, float]] = Field(description="(km from the origin, SoC %)")


class CalibrationOut(BaseModel):
    factor: float = Field(description="the model's energy is multiplied by this for this car")
    drives: int = Field(description="finished drives it is learnt from")
    km: float


class PlaceOut(BaseModel):
    name: str
    kind: str = Field(
        description="saved place (the vehicle's), fleet place, charger, street, or what the map "
        "says the place is (suburb, museum, restaurant, ...)"
    )
    lat: float
    lon: float


class PlaceSearchOut(BaseModel):
    q: str
    candidates: list[PlaceOut] = Field(description="best first")


class PlannedOut(PlanOut):
    """A planned trip, for a car or a model."""

    model: str
    origin: Point
    destination: Point
    origin_place: PlaceOut | None = Field(None, description="what a named origin resolved to")
    destination_place: PlaceOut | None = Field(
        None, description="what a named destination resolved to"
    )
    start_soc: float
    alternatives: list[PlanOut] = Field(
        description="other charger sequences within alternatives_within_pct of this total time"
    )


class TripOut(PlannedOut):
    """A car's planned trip, stored as the one it is on."""

    id: str = Field(description="the stored trip: GET /v1/vehicles/{vin}/trips/{id}")
    vin: str
    calibration: CalibrationOut


class ModelOut(BaseModel):
    name: str = Field(description="what `model` names in POST /v1/trips/plan")
    display_name: str
    usable_kwh: float = Field(description="usable battery energy when new")
    dc_peak_kw: float = Field(description="the model's peak DC charging power")


def _model_of(platform: Platform, vin: str) -> VehicleModel:
    name = platform.registry.get_vehicle(vin).model
    if name is None:
        raise BadRequest(
            f"vehicle {vin} has no model registered, so its energy use is unknown: register it "
            "with one (volta vehicles add VIN --model NAME)"
        )
    try:
        return load_model(name)
    except ModelError as e:  # the registry takes any model name; the planner needs its file
        raise BadRequest(f"vehicle {vin} is registered with a model the planner lacks: {e}") from e


def calibration_of(platform: Platform, vin: str, model: VehicleModel) -> Calibration:
    """The car's calibration from its latest finished drives in the derived store."""
    drives = platform.derived.list("drive", Drive, vin=vin, limit=CALIBRATION_DRIVES)
    return calibrate(model, drives)


def _now(platform: Platform, vin: str, body: TripIn, origin: Point | None) -> tuple[Point, float]:
    """Where the trip starts and with how much charge: the body's, else the car's latest."""
    values = platform.twin.get(vin)

    def latest(path: str) -> float | None:
        v = values.get(platform.catalog.get(path).id)
        return None if v is None else v.num

    if origin is None:
        lat, lon = latest(LAT), latest(LON)
        if lat is None or lon is None:
            raise BadRequest(f"vehicle {vin} has not reported a position yet: give an origin")
        origin = Point(lat=lat, lon=lon)
    soc = body.start_soc if body.start_soc is not None else latest(SOC)
    if soc is None:
        raise BadRequest(f"vehicle {vin} has not reported its state of charge: give start_soc")
    return origin, soc


@router.post("/{vin}/trips", response_model=TripOut)
def plan_trip(
    vin: str,
    body: TripIn,
    principal: Annotated[Principal, allow(PLAN_FOR_VEHICLE)],
    platform: PlatformDep,
) -> TripOut:
    """The fastest trip (driving + charging) to the destination. 422 when a point is more
    than 500 m from the map's roads, when a name means no place or several (the candidates are
    listed) or when no plan exists (the message says why: e.g. no charger reachable with the
    charge left); 503 when the server has no road network."""
    planner = _planner(platform)
    model = _model_of(platform, vin)
    books = _books(platform, vin, planner)
    origin_place, dest_place = (_place(books, p) for p in (body.origin, body.destination))
    origin, soc = _now(platform, vin, body, _point(body.origin, origin_place))
    destination = _point(body.destination, dest_place)
    assert destination is not None  # required by TripIn
    cal = calibration_of(platform, vin, model) if body.calibrated else Calibration()
    places = (origin_place, dest_place)
    trip, planned = _planned(planner, model, body, origin, destination, places, soc, cal.factor)
    out = TripOut(
        id=_trip_id(platform, vin),
        vin=vin,
        calibration=CalibrationOut(
            factor=round(cal.factor, 4), drives=cal.drives, km=round(cal.km, 3)
        ),
        **planned.model_dump(),
    )
    # kept with the points the names meant: a replan under way goes to the same place
    request = body.model_dump(mode="json") | {"destination": destination.model_dump()}
    if origin_place is not None:
        request["origin"] = origin.model_dump()
    _store(platform, request, out, model, cal, trip)
    return out


def _planner(platform: Platform) -> TripPlanner:
    if platform.settings.roads is None:
        raise Unavailable("trip planning needs a road network: start the server with VOLTA_ROADS")
    return server_planner(platform.settings)


def _planned(
    planner: TripPlanner, model: VehicleModel, body: TripOptions, origin: Point, dest: Point,
    places: tuple[PlaceOut | None, PlaceOut | None], soc: float, energy_factor: float = 1.0,
) -> tuple[PlannedTrip, PlannedOut]:  # fmt: skip
    """The trip the body asks for from `origin` with `soc`, and its answer; `places`: what
    the origin's and the destination's names meant."""
    trip = planner.plan(
        model,
        (origin.lat, origin.lon),
        (dest.lat, dest.lon),
        start_soc=soc,
        min_arrival_soc=body.min_arrival_soc,
        min_charger_soc=body.min_charger_soc,
        max_charge_soc=body.max_charge_soc,
        filters=ChargerFilter.of(body.min_power_kw, body.connectors, body.networks),
        prefer_fewer_stops=body.prefer_fewer_stops,
        alternatives_within=body.alternatives_within_pct / 100.0,
        energy_factor=energy_factor,
        ambient_c=body.ambient_c,
        payload_kg=body.payload_kg,
    )
    out = PlannedOut(
        model=model.name,
        origin=origin,
        destination=dest,
        origin_place=places[0],
        destination_place=places[1],
        start_soc=soc,
        alternatives=[_plan_out(alt) for alt in trip.alternatives],
        **_plan_out(trip).model_dump(),
    )
    return trip, out


def _books(platform: Platform, vin: str | None, planner: TripPlanner | None) -> list[Gazetteer]:
    """Where a trip may find a name: the vehicle's own saved places (none without a vehicle)
    and the fleet's (never another vehicle's), then the planner's chargers and the map's named
    features."""
    places = platform.places.list(vin) if vin else [p for p in platform.places.list() if not p.vin]
    saved = Gazetteer(
        Candidate(p.name, SAVED if vin and p.vin == vin else FLEET, p.lat, p.lon) for p in places
    )
    return [saved] if planner is None else [saved, planner.chargers, planner.features]


def _place(books: list[Gazetteer], given: Point | str | None) -> PlaceOut | None:
    """The place a name means (422 when none or several), None for a point or nothing."""
    if not isinstance(given, str):
        return None
    return _place_out(resolve(given, *books))


def _place_out(c: Candidate) -> PlaceOut:
    return PlaceOut(name=c.name, kind=c.kind, lat=c.lat, lon=c.lon)


def _point(given: Point | str | None, place: PlaceOut | None) -> Point | None:
    if place is not None:
        return Point(lat=place.lat, lon=place.lon)
    return given if isinstance(given, Point) else None


@router.get("/{vin}/places/search", response_model=PlaceSearchOut)
def search_places(
    vin: str,
    principal: Annotated[Principal, allow(VEHICLE_READ)],
    platform: PlatformDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="a name or its start")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> PlaceSearchOut:
    """Places a trip of this vehicle can start or end at, by name, best first: its own saved
    places and the fleet's, then (on a server with a road network) the chargers and the map's
    named streets and places. Namesakes within 300 m count once."""
    return _search(platform, vin, q, limit)


def _search(platform: Platform, vin: str | None, q: str, limit: int) -> PlaceSearchOut:
    roads = platform.settings.roads
    planner = server_planner(platform.settings) if roads is not None else None
    found = search(q, *_books(platform, vin, planner), limit=limit)
    return PlaceSearchOut(q=q, candidates=[_place_out(m.candidate) for m in found])


@models_router.get("/v1/models", response_model=list[ModelOut])
def list_vehicle_models(principal: Annotated[Principal, allow(ANY)]) -> list[ModelOut]:
    """The vehicle models this server knows (a trip can be planned for each)."""
    return [
        ModelOut(name=m.name, display_name=m.display_name, usable_kwh=m.usable_kwh_new,
                 dc_peak_kw=m.dc_peak_kw)
        for m in map(load_model, list_models())
    ]  # fmt: skip


@models_router.post("/v1/trips/plan", response_model=PlannedOut)
def plan_model_trip(
    body: ModelTripIn,
    principal: Annotated[Principal, allow(PLAN_FOR_MODEL)],
    platform: PlatformDep,
) -> PlannedOut:
    """The fastest trip for a vehicle model, no car: its physics' consumption, from the origin
    with `start_soc`. Names are the fleet's places, the chargers and the map's named places
    (never a vehicle's own). Nothing is stored. 422 as for a vehicle's trip, and for a model the
    server does not know (the known ones are named)."""
    planner = _planner(platform)
    books = _books(platform, None, planner)
    origin_place, dest_place = (_place(books, p) for p in (body.origin, body.destination))
    origin = _point(body.origin, origin_place)
    destination = _point(body.destination, dest_place)
    assert origin is not None and destination is not None  # required by ModelTripIn
    places = (origin_place, dest_place)
    model = load_model(body.model)
    return _planned(planner, model, body, origin, destination, places, body.start_soc)[1]


@models_router.get("/v1/trips/places", response_model=PlaceSearchOut)
def search_model_trip_places(
    principal: Annotated[Principal, allow(PLAN_FOR_MODEL)],
    platform: PlatformDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="a name or its start")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> PlaceSearchOut:
    """Places a trip without a car (POST /v1/trips/plan) can start or end at, by name, best
    first: the fleet's places, then the chargers and the map's named streets and places."""
    return _search(platform, None, q, limit)


def _plan_out(trip: PlannedTrip) -> PlanOut:
    plan = trip.plan
    stops = [
        StopOut(
            name=s.site.name,
            lat=lat,
            lon=lon,
            power_kw=s.site.power_kw,
            network=s.site.network,
            connectors=list(s.site.connectors),
            km=round(s.km, 3),
            arrival_soc=round(s.arrival_soc, 2),
            charge_min=round(s.charge_s / 60.0, 2),
            departure_soc=round(s.departure_soc, 2),
        )
        for s, (lat, lon) in zip(plan.stops, trip.stop_positions, strict=True)
    ]
    legs = [
        LegOut(
            distance_km=round(leg.distance_m / 1000.0, 3),
            drive_min=round(leg.drive_s / 60.0, 2),
            energy_kwh=round(leg.energy_wh / 1000.0, 3),
            departure_soc=round(leg.departure_soc, 2),
            arrival_soc=round(leg.arrival_soc, 2),
            geometry=[(lon, lat) for lat, lon in line],
        )
        for leg, line in zip(plan.legs, trip.geometry, strict=True)
    ]
    return PlanOut(
        distance_km=round(plan.distance_m / 1000.0, 3),
        drive_min=round(plan.drive_s / 60.0, 2),
        charge_min=round(plan.charge_s / 60.0, 2),
        total_min=round(plan.total_s / 60.0, 2),
        energy_kwh=round(plan.energy_wh / 1000.0, 3),
        arrival_soc=round(plan.arrival_soc, 2),
        stops=stops,
        legs=legs,
        profile=[(round(km, 3), round(s, 2)) for km, s in plan.profile],
    )


def _trip_id(platform: Platform, vin: str) -> str:
    return f"{vin}-{platform.clock()}"


def _store(
    platform: Platform, request: dict[str, object], out: TripOut, model: VehicleModel,
    cal: Calibration, trip: PlannedTrip,
) -> None:  # fmt: skip
    """Keep the trip as the one the vehicle is on (the newest), for the live check."""
    watch = platform.trips
    route = trip.route
    if watch is None or route is None:
        return
    name = platform.registry.get_vehicle(out.vin).model or model.name
    planned_ms = int(out.id.rsplit("-", 1)[1])
    # the alternatives' routes too: the driver may choose to follow one (follow_trip)
    alternatives = [route_record(a.route) for a in trip.alternatives if a.route is not None]
    watch.save(TripRecord(
        id=out.id, vin=out.vin, start_ms=planned_ms, end_ms=planned_ms, model=name,
        energy_factor=cal.factor, request=request, answer=out.model_dump_json().encode(),
        full_wh=route.full_wh, alternatives=alternatives,
        **msgspec.structs.asdict(route_record(route)),
    ))  # fmt: skip


class ReplannedOut(BaseModel):
    total_min: float
    arrival_soc: float
    stops: list[str] = Field(description="charger names, in order")
    stop_soc: list[tuple[float, float]] = Field(description="(arrival, departure) SoC at each")
    replan_ms: float = Field(description="how long planning again took (wall time)")
    error: str | None = Field(description="why no plan exists from where the car is")


class CheckOut(BaseModel):
    checked_ms: int
    sample_ms: int = Field(description="the newest of the position and SoC samples used")
    lat: float
    lon: float
    soc: float
    off_route_m: float
    target_name: str = Field(description="the next stop, or the destination")
    predicted_soc: float = Field(description="% the car will arrive there with")
    planned_soc: float
    as_planned: bool
    message: str
    replanned: ReplannedOut | None = Field(description="the trip from here, when not as planned")


class TripStateOut(BaseModel):
    id: str
    vin: str
    planned_ms: int
    active: bool = Field(description="the trip the vehicle is on (its newest, followed live)")
    status: str = Field(description="active | arrived")
    check: CheckOut | None
    plan: TripOut


def _state(platform: Platform, t: TripRecord, active_ids: set[str]) -> TripStateOut:
    active = t.id in active_ids
    check = None if t.check is None else CheckOut.model_validate(msgspec.to_builtins(t.check))
    return TripStateOut(
        id=t.id, vin=t.vin, planned_ms=t.start_ms, active=active, status=t.status, check=check,
        plan=TripOut.model_validate_json(t.answer),
    )  # fmt: skip


def _watch(platform: Platform) -> TripWatch:
    if platform.trips is None:
        raise Unavailable("trip planning needs a road network: start the server with VOLTA_ROADS")
    return platform.trips


def _active_ids(platform: Platform, vin: str) -> set[str]:
    # a server without roads has no trips followed (nor planned)
    return set() if platform.trips is None else {t.id for t in platform.trips.active(vin)}


def _trip(platform: Platform, vin: str, trip_id: str) -> TripRecord:
    t = platform.derived.get(KIND, TripRecord, trip_id)
    if t is None or t.vin != vin:
        raise NotFound(f"vehicle {vin} has no trip {trip_id}")
    return t


def _on_trip(platform: Platform, vin: str, trip_id: str) -> tuple[TripRecord, TripWatch]:
    """The trip the vehicle is on and its watch: 404 for an unknown trip, 409 for another."""
    t = _trip(platform, vin, trip_id)
    watch = _watch(platform)
    if not any(a.id == t.id for a in watch.active(vin)):
        raise Conflict(f"trip {trip_id} is not the trip vehicle {vin} is on")
    return t, watch


@router.get("/{vin}/trips", response_model=list[TripStateOut])
def list_trips(
    vin: str,
    principal: Annotated[Principal, allow(VEHICLE_READ)],
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[TripStateOut]:
    """The vehicle's planned trips, newest first; the newest (planned within 24 h, not arrived)
    is the one it is on, checked against its reported position and SoC every 10 s."""
    active = _active_ids(platform, vin)
    trips = platform.derived.list(KIND, TripRecord, vin=vin, limit=limit)
    return [_state(platform, t, active) for t in trips]


@router.get("/{vin}/trips/{trip_id}", response_model=TripStateOut)
def get_trip(
    vin: str,
    trip_id: str,
    principal: Annotated[Principal, allow(VEHICLE_READ)],
    platform: PlatformDep,
) -> TripStateOut:
    """One planned trip with its plan and the last live check."""
    return _state(platform, _trip(platform, vin, trip_id), _active_ids(platform, vin))


@router.post("/{vin}/trips/{trip_id}/check", response_model=TripStateOut)
def check_trip(
    vin: str,
    trip_id: str,
    principal: Annotated[Principal, allow(PLAN_FOR_VEHICLE)],
    platform: PlatformDep,
) -> TripStateOut:
    """Check the trip now against the vehicle's latest position and SoC (the watch does it
    every 10 s): where it is, the SoC it will reach its next stop with, and, when that is
    more than 3 points under the plan, the trip planned again from here. 409 when the trip is
    not the one the vehicle is on."""
    t, watch = _on_trip(platform, vin, trip_id)
    checked = watch.check(t, force=True)
    return _state(platform, checked, {checked.id} if checked.status == "active" else set())


class FollowIn(BaseModel):
    alternative: int = Field(
        description="which of the trip's alternatives to follow: its index in the trip's "
        "`plan.alternatives` (GET /v1/vehicles/{vin}/trips/{trip_id}), from 0"
    )


@router.post("/{vin}/trips/{trip_id}/follow", response_model=TripStateOut)
def follow_trip(
    vin: str,
    trip_id: str,
    body: FollowIn,
    principal: Annotated[Principal, allow(PLAN_FOR_VEHICLE)],
    platform: PlatformDep,
) -> TripStateOut:
    """Follow one of the trip's close alternatives instead of the plan followed so far: it
    becomes the trip's plan (stops, SoC, legs), the one the live check compares the car with;
    the plan followed before becomes an alternative (they stay fastest first). The last check
    is dropped; the next one is against the plan now followed. 404 for an unknown trip, 422 for
    an index out of range (the valid ones are named), 409 when the trip is not the one the
    vehicle is on (arrived, or planned over) or was stored without its alternatives' routes."""
    t, watch = _on_trip(platform, vin, trip_id)
    followed = watch.follow(t, body.alternative)
    return _state(platform, followed, {followed.id})
