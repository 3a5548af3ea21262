"""Charger files: the real NY AFDC export and Luxembourg OSM stations, and bad rows in each."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from volta.geo.osm import socket_power
from volta.planner.charger_files import (
    load_afdc_csv,
    load_chargers,
    load_ocpi_json,
    load_osm_geojson,
)
from volta.planner.chargers import ChargerFileError

AFDC = Path("/work/shared/data/planner/alt_fuel_stations_NY_2025-02.csv")
LUX = Path("/work/shared/data/chargers/luxembourg_chargy.geojson")
needs_data = pytest.mark.skipif(not AFDC.exists(), reason="shared data not present")


@needs_data
def test_ny_afdc_export_has_528_dc_fast_stations_with_2161_ports() -> None:
    f = load_chargers(AFDC)
    assert len(f.stations) == 4736  # every electric station
    assert f.skipped == 121  # CNG, E85, LPG, biodiesel, renewable diesel
    assert f.rejected == ()
    dc = f.dc_fast()
    assert len(dc) == 528
    assert sum(s.ports for s in dc) == 2161
    tesla = [s for s in dc if s.network == "Tesla"]
    assert len(tesla) == 105 and {s.power_kw for s in tesla} == {250.0}
    assert {s.power_kw for s in dc if s.network == "Electrify America"} == {150.0}
    assert sum(1 for s in dc if s.power_rule == "DC, default") == 277
    assert all(40.4 < s.lat < 45.1 and -79.8 < s.lon < -71.8 for s in f.stations)


@needs_data
def test_afdc_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(tmp_path: Path) -> None:
    with AFDC.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        cols = next(reader)
        rows = [r for r in reader if r[0] == "ELEC"][:3]
    rows[1][cols.index("Latitude")] = "north"
    rows[2][cols.index("EV DC Fast Count")] = "two"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([cols, *rows])
    path = tmp_path / "afdc.csv"
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    f = load_afdc_csv(path)
    assert len(f.stations) == 1
    assert [r.where for r in f.rejected] == ["line 3", "line 4"]
    assert "'north'" in f.rejected[0].reason
    assert "EV DC Fast Count 'two' is not a number" in f.rejected[1].reason


def test_a_file_that_is_not_an_afdc_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ChargerFileError, match="not an AFDC export"):
        load_chargers(path)
    with pytest.raises(ChargerFileError, match="cannot read"):
        load_chargers(tmp_path / "missing.csv")


@needs_data
def test_luxembourg_osm_stations_take_their_power_from_socket_output_tags() -> None:
    f = load_osm_geojson(LUX)
    assert len(f.stations) == 523 and f.rejected == ()
    assert sum(1 for s in f.stations if s.power_kw == 22.0) == 502
    fast = f.dc_fast()
    assert len(fast) == 16  # 160-400 kW, tagged on socket:type2:output
    assert min(s.power_kw for s in fast) == 160.0 and max(s.power_kw for s in fast) == 400.0
    assert all(s.power_rule == "tagged" and s.network == "Chargy" for s in f.stations)


def test_osm_features_with_bad_geometry_are_rejected_by_index(tmp_path: Path) -> None:
    good = {
        "type": "Feature",
        "properties": {"amenity": "charging_station", "socket:ccs:output": "50 kW"},
        "geometry": {"type": "Point", "coordinates": [6.1, 49.6]},
    }
    bad_point = {**good, "geometry": {"type": "Point", "coordinates": [6.1, 123.0]}}
    not_charger = {**good, "properties": {"amenity": "parking"}}
    path = tmp_path / "c.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [good, bad_point, not_charger, 5]})
    )
    f = load_chargers(path)
    assert [s.power_kw for s in f.stations] == [50.0] and f.stations[0].dc
    assert [r.where for r in f.rejected] == ["feature 1", "feature 2", "feature 3"]
    assert "out of range" in f.rejected[0].reason


def test_ocpi_and_openchargemap_json_give_power_per_connector(tmp_path: Path) -> None:
    # hand-written in the published shapes of OCPI 2.2 Location and OpenChargeMap POI
    ocpi = {
        "id": "LOC1",
        "name": "Fastned A2",
        "coordinates": {"latitude": "52.10", "longitude": "5.10"},
        "operator": {"name": "Fastned"},
        "evses": [
            {
                "connectors": [
                    {
                        "standard": "IEC_62196_T2_COMBO",
                        "power_type": "DC",
                        "max_electric_power": 300000,
                    }
                ]
            },
            {
                "connectors": [
                    {
                        "standard": "IEC_62196_T2",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                    }
                ]
            },
        ],
    }
    ocm = {
        "ID": 77,
        "AddressInfo": {"Title": "Town hall", "Latitude": 52.0, "Longitude": 4.9},
        "OperatorInfo": {"Title": "Allego"},
        "Connections": [
            {
                "PowerKW": 11,
                "CurrentTypeID": 20,
                "Quantity": 2,
                "ConnectionType": {"Title": "Type 2"},
            }
        ],
    }
    no_coords = {"id": "LOC2", "evses": [{}]}
    path = tmp_path / "locations.json"
    path.write_text(json.dumps({"data": [ocpi, ocm, no_coords]}))
    f = load_ocpi_json(path)
    a, b = f.stations
    assert (a.station_id, a.power_kw, a.dc, a.ports, a.network) == (
        "ocpi:LOC1",
        300.0,
        True,
        2,
        "Fastned",
    )
    assert (b.station_id, b.power_kw, b.dc, b.ports) == ("ocm:77", 11.0, False, 2)
    assert f.rejected[0].where == "location 2" and f.rejected[0].reason == "no coordinates"


def test_socket_output_tags_take_the_highest_power_and_know_dc_sockets() -> None:
    assert socket_power({"socket:type2:output": "160 kW;350 kW"}) == (350.0, False)
    assert socket_power({"socket:chademo:output": "50kW"}) == (50.0, True)
    assert socket_power({"socket:type2:output": "3700 W"}) == (3.7, False)
    assert socket_power({"socket:type2_combo": "2"}) == (0.0, True)
