"""Charger files in the formats people have: the NREL AFDC CSV export, OCPI `Location` and
OpenChargeMap JSON, and OpenStreetMap `amenity=charging_station` as GeoJSON.

Every loader keeps the good rows and reports each bad one with where it is and why; a file that
cannot be read at all raises `ChargerFileError`. `load_chargers` picks the loader by content.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from volta.geo.osm import socket_power
from volta.planner.chargers import (
    AC_KW_BY_LEVEL,
    AC_MAX_KW,
    DC_KW_DEFAULT,
    ChargerFile,
    ChargerFileError,
    Rejected,
    Station,
    afdc_power_kw,
)

__all__ = ["load_afdc_csv", "load_chargers", "load_ocpi_json", "load_osm_geojson"]


class _BadRow(ValueError):
    """One row is unusable; the loader records it and goes on."""


def _coordinate(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        raise _BadRow(f"latitude/longitude {lat!r}, {lon!r} are not numbers") from None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        raise _BadRow(f"latitude/longitude {la}, {lo} out of range")
    if la == 0.0 and lo == 0.0:
        raise _BadRow("latitude/longitude 0, 0 (not geocoded)")
    return la, lo


def _count(value: str, column: str) -> int:
    text = value.strip()
    if not text:
        return 0
    try:
        n = int(float(text))
    except ValueError:
        raise _BadRow(f"{column} {value!r} is not a number") from None
    if n < 0:
        raise _BadRow(f"{column} {n} is negative")
    return n


def load_afdc_csv(path: Path) -> ChargerFile:
    """Electric stations of an AFDC export (UTF-8 with BOM); other fuels are skipped.

    The export has no kW column: power follows `afdc_power_kw` (network and connector rule).
    """
    stations: list[Station] = []
    rejected: list[Rejected] = []
    skipped = 0
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ChargerFileError(f"cannot read charger file {path}: {exc}") from exc
    with fh:
        reader = csv.DictReader(fh)
        needed = {"Fuel Type Code", "Latitude", "Longitude", "EV DC Fast Count", "ID"}
        if not needed <= set(reader.fieldnames or ()):
            missing = ", ".join(sorted(needed - set(reader.fieldnames or ())))
            raise ChargerFileError(f"{path}: not an AFDC export (missing column(s) {missing})")
        end = 1  # line of the header; a quoted field may span lines, so track the record's start
        for row in reader:
            start, end = end + 1, reader.line_num
            if row.get("Fuel Type Code") != "ELEC":
                skipped += 1
                continue
            try:
                stations.append(_afdc_station(row))
            except _BadRow as exc:
                rejected.append(Rejected(f"line {start}", str(exc)))
    return ChargerFile(tuple(stations), tuple(rejected), skipped)


def _afdc_station(row: Mapping[str, str]) -> Station:
    lat, lon = _coordinate(row["Latitude"], row["Longitude"])
    dc = _count(row.get("EV DC Fast Count", ""), "EV DC Fast Count")
    l2 = _count(row.get("EV Level2 EVSE Num", ""), "EV Level2 EVSE Num")
    l1 = _count(row.get("EV Level1 EVSE Num", ""), "EV Level1 EVSE Num")
    if dc + l2 + l1 == 0:
        raise _BadRow("no charging ports (DC, Level 2 and Level 1 counts are all empty)")
    network = row.get("EV Network", "").strip() or "Non-Networked"
    connectors = tuple(sorted(row.get("EV Connector Types", "").split()))
    kw, rule = afdc_power_kw(network, connectors, dc, l2)
    return Station(
        station_id=f"afdc:{row['ID'].strip()}",
        name=row.get("Station Name", "").strip(),
        lat=lat,
        lon=lon,
        power_kw=kw,
        dc=dc > 0,
        ports=dc if dc > 0 else l2 + l1,
        connectors=connectors,
        network=network,
        power_rule=rule,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ChargerFileError(f"cannot read charger file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ChargerFileError(f"{path}: not JSON: {exc}") from exc


def _each(items: list[Any], label: str, parse: Callable[[Any], Station]) -> ChargerFile:
    stations: list[Station] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise _BadRow(f"expected an object, got {type(item).__name__}")
            stations.append(parse(item))
        except _BadRow as exc:
            rejected.append(Rejected(f"{label} {i}", str(exc)))
        except (KeyError, TypeError, ValueError) as exc:
            rejected.append(Rejected(f"{label} {i}", f"malformed: {exc!r}"))
    return ChargerFile(tuple(stations), tuple(rejected), 0)


def load_osm_geojson(path: Path) -> ChargerFile:
    """`amenity=charging_station` points of a GeoJSON FeatureCollection with OSM tags.

    Power: the highest `socket:*:output`; untagged sockets get 50 kW if DC, else 22 kW (a Type 2
    post); any socket above 43 kW is DC (see AC_MAX_KW).
    """
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise ChargerFileError(f"{path}: not a GeoJSON FeatureCollection")
    return _each(data["features"], "feature", _osm_station)


def _osm_station(feature: dict[str, Any]) -> Station:
    props = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    if props.get("amenity") != "charging_station":
        raise _BadRow(f"amenity {props.get('amenity')!r} is not charging_station")
    if geometry.get("type") != "Point":
        raise _BadRow(f"geometry {geometry.get('type')!r} is not a Point")
    lon, lat = geometry["coordinates"][:2]
    lat, lon = _coordinate(lat, lon)
    tags = {str(k): str(v) for k, v in props.items()}
    kw, dc = socket_power(tags)
    rule = "tagged" if kw > 0 else ("DC, untagged" if dc else "AC, untagged")
    kw = kw or (DC_KW_DEFAULT if dc else 22.0)
    connectors = tuple(
        sorted({k.split(":")[1] for k in tags if k.count(":") == 1 and k.startswith("socket:")})
    )
    return Station(
        station_id=str(feature.get("id") or props.get("@id") or f"osm:{lat:.6f},{lon:.6f}"),
        name=tags.get("name", ""),
        lat=lat,
        lon=lon,
        power_kw=kw,
        dc=dc or kw > AC_MAX_KW,
        ports=_count(tags.get("capacity", ""), "capacity") or 1,
        connectors=connectors,
        network=tags.get("network") or tags.get("brand") or tags.get("operator") or "",
        power_rule=rule,
    )


def load_ocpi_json(path: Path) -> ChargerFile:
    """OCPI 2.2 `Location` objects (a list, or `{"data": [...]}`) or OpenChargeMap POIs.

    OCPI gives each connector's `max_electric_power` in W (else voltage × amperage); OpenChargeMap
    gives `PowerKW` per connection. A site without any power gets AC 7.2 kW or DC 50 kW.
    """
    data = _read_json(path)
    items = data.get("data") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ChargerFileError(f"{path}: expected a list of OCPI Locations or OpenChargeMap POIs")
    return _each(items, "location", _ocpi_or_ocm_station)


def _ocpi_or_ocm_station(item: dict[str, Any]) -> Station:
    if "AddressInfo" in item:
        return _ocm_station(item)
    coords = item.get("coordinates")
    if not isinstance(coords, dict):
        raise _BadRow("no coordinates")
    lat, lon = _coordinate(coords.get("latitude"), coords.get("longitude"))
    kws: list[float] = []
    dc = False
    standards: set[str] = set()
    evses = item.get("evses") or []
    for evse in evses:
        for c in evse.get("connectors") or []:
            standards.add(str(c.get("standard", "")))
            is_dc = c.get("power_type") == "DC"
            dc = dc or is_dc
            if c.get("max_electric_power"):
                kws.append(float(c["max_electric_power"]) / 1000.0)
            elif c.get("max_voltage") and c.get("max_amperage"):
                phases = 3 if c.get("power_type") == "AC_3_PHASE" else 1
                kws.append(float(c["max_voltage"]) * float(c["max_amperage"]) * phases / 1000.0)
    if not evses:
        raise _BadRow("no EVSEs")
    operator = item.get("operator") or {}
    return _site(
        f"ocpi:{item.get('id', '')}", str(item.get("name", "")), lat, lon, kws, dc,
        len(evses), standards, str(operator.get("name", "")),
    )  # fmt: skip


def _ocm_station(item: dict[str, Any]) -> Station:
    address = item["AddressInfo"]
    lat, lon = _coordinate(address.get("Latitude"), address.get("Longitude"))
    connections = item.get("Connections") or []
    if not connections:
        raise _BadRow("no Connections")
    kws = [float(c["PowerKW"]) for c in connections if c.get("PowerKW")]
    # OpenChargeMap CurrentTypeID: 10 AC single phase, 20 AC three phase, 30 DC
    dc = any(c.get("CurrentTypeID") == 30 for c in connections)
    standards = {str((c.get("ConnectionType") or {}).get("Title", "")) for c in connections}
    ports = sum(int(c.get("Quantity") or 1) for c in connections)
    operator = str((item.get("OperatorInfo") or {}).get("Title", ""))
    return _site(
        f"ocm:{item.get('ID', '')}", str(address.get("Title", "")), lat, lon, kws, dc, ports,
        standards, operator,
    )  # fmt: skip


def _site(
    station_id: str, name: str, lat: float, lon: float, kws: list[float], dc: bool, ports: int,
    standards: set[str], network: str,
) -> Station:  # fmt: skip
    kw = max(kws) if kws else (DC_KW_DEFAULT if dc else AC_KW_BY_LEVEL["level2"])
    return Station(
        station_id=station_id,
        name=name,
        lat=lat,
        lon=lon,
        power_kw=kw,
        dc=dc or kw > AC_MAX_KW,
        ports=ports,
        connectors=tuple(sorted(s for s in standards if s)),
        network=network,
        power_rule="tagged" if kws else ("DC, untagged" if dc else "AC, untagged"),
    )


def load_chargers(path: Path) -> ChargerFile:
    """Any supported charger file: AFDC by a .csv suffix, else the JSON's shape decides."""
    if path.suffix.lower() == ".csv":
        return load_afdc_csv(path)
    data = _read_json(path)
    if isinstance(data, dict) and "features" in data:
        return load_osm_geojson(path)
    return load_ocpi_json(path)
