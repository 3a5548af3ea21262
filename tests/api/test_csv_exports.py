"""CSV downloads a person can open: signal paths, ISO 8601 times and units in columns of their
own, values as words and numbers, and a file name that says whose data it is and when."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tests.servicekit.logbook import a_charge, a_drive
from volta.api.csvfiles import file_name, iso_ms
from volta.charging.core import Charge
from volta.clock import wall_ms

from .conftest import SOC, SPEED, VIN, Api, batch, bearer

CHARGING = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging"
GEAR = "Vehicle.Powertrain.Transmission.SelectedGear"
DTCS = "Vehicle.Diagnostics.DTCList"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _saved_as(disposition: str) -> str:
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=", 1)[1].strip('"')


def test_iso_times_and_file_names() -> None:
    assert iso_ms(1_796_538_064_123) == "2026-12-06T06:21:04.123Z"
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    day = 1_796_515_200_000  # 2026-12-06T00:00:00Z
    assert file_name(VIN, "history", day, day + 86_400_000) == f"volta-{VIN}-history-2026-12-06.csv"
    assert (
        file_name(VIN, "history", day - 5 * 86_400_000, day + 3600_000, "parquet")
        == f"volta-{VIN}-history-2026-12-01_2026-12-06.parquet"
    )
    assert file_name(VIN, "drives", None, day + 1) == f"volta-{VIN}-drives-2026-12-06.csv"


def test_history_csv_has_iso_times_paths_values_and_units(api: Api) -> None:
    t0 = wall_ms() - 60_000
    samples = [
        [0, SPEED, 42.5],
        [0, CHARGING, False],
        [0, GEAR, 126],
        [1000, SOC, 80.25],
        [1000, DTCS, ["P0A80", "C1A02"]],
        [1000, CHARGING, True],
    ]
    assert api.post_batch(batch(samples, ts=t0)).status_code == 200
    end = t0 + 2000
    r = api.client.get(
        f"/v1/vehicles/{VIN}/export", params={"start": t0, "end": end}, headers=bearer(api.operator)
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert _saved_as(r.headers["content-disposition"]) == file_name(VIN, "history", t0, end)
    assert r.text.splitlines()[0] == "time,signal,value,unit,ts_ms"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got = {(row["signal"], row["ts_ms"]): row for row in rows}
    assert len(rows) == len(samples)
    speed = got[(SPEED, str(t0))]
    assert speed["time"] == iso_ms(t0) and speed["value"] == "42.5" and speed["unit"] == "km/h"
    parsed = datetime.fromisoformat(speed["time"].replace("Z", "+00:00"))
    assert int(parsed.timestamp() * 1000) == t0
    assert got[(SOC, str(t0 + 1000))]["unit"] == "percent"
    assert got[(SOC, str(t0 + 1000))]["value"] == "80.25"
    assert got[(CHARGING, str(t0))]["value"] == "false"
    assert got[(CHARGING, str(t0 + 1000))]["value"] == "true"
    assert got[(CHARGING, str(t0))]["unit"] == ""
    assert got[(GEAR, str(t0))]["value"] == "126"  # the VSS value; the dashboard says "P"
    assert got[(DTCS, str(t0 + 1000))]["value"] == '["P0A80", "C1A02"]'


def test_an_empty_history_csv_still_has_its_header(api: Api) -> None:
    r = api.client.get(
        f"/v1/vehicles/{VIN}/export", params={"signals": SPEED}, headers=bearer(api.operator)
    )
    assert r.status_code == 200 and r.text == "time,signal,value,unit,ts_ms\n"


def test_parquet_export_is_named_like_the_csv(api: Api) -> None:
    end = wall_ms()
    r = api.client.get(
        f"/v1/vehicles/{VIN}/export",
        params={"format": "parquet", "end": end, "start": end - 3600_000},
        headers=bearer(api.operator),
    )
    assert r.status_code == 200
    assert _saved_as(r.headers["content-disposition"]) == file_name(
        VIN, "history", end - 3600_000, end, "parquet"
    )


def _dc_charge(start_ms: int) -> Charge:
    return a_charge(
        VIN,
        start_ms,
        dc=True,
        lat=60.1699,
        lon=24.9384,
        energy_added_wh=30_000.0,
        energy_stored_wh=29_100.0,
        peak_kw=75.5,
        avg_kw=60.0,
        soc_from=20.0,
        soc_to=80.0,
        outside_temp_c=-3.0,
        place="Depot",
        cost=7.5,
        currency="EUR",
    )


def test_charges_and_drives_csv_have_iso_times_units_and_cost(api: Api) -> None:
    start = wall_ms() - 7200_000
    api.platform.derived.upsert("charge", [_dc_charge(start)])
    api.platform.derived.upsert("drive", [a_drive(VIN, start - 3600_000)])
    h = bearer(api.operator)

    charges = api.client.get(f"/v1/vehicles/{VIN}/charges", params={"format": "csv"}, headers=h)
    assert charges.status_code == 200
    assert _saved_as(charges.headers["content-disposition"]) == (
        f"volta-{VIN}-charges-{_day(wall_ms())}.csv"
    )
    [row] = list(csv.DictReader(io.StringIO(charges.text)))
    assert row["start"] == iso_ms(start) and row["start_ms"] == str(start)
    assert row["end"] == iso_ms(start + 1800_000)
    assert row["soc_from_pct"] == "20.0" and row["soc_to_pct"] == "80.0"
    assert row["lat_deg"] == "60.1699"
    assert row["cost"] == "7.5" and row["currency"] == "EUR" and row["place"] == "Depot"
    assert row["energy_added_wh"] == "30000.0" and row["peak_kw"] == "75.5"
    assert "curve" not in row and "energy_by_slot" not in row

    drives = api.client.get(
        f"/v1/vehicles/{VIN}/drives",
        params={"format": "csv", "start": start - 86_400_000, "end": start},
        headers=h,
    )
    assert _saved_as(drives.headers["content-disposition"]) == file_name(
        VIN, "drives", start - 86_400_000, start
    )
    assert drives.text.splitlines()[0].startswith("id,vin,start,start_ms,end,end_ms,final")
    [drive] = list(csv.DictReader(io.StringIO(drives.text)))
    assert drive["start"] == iso_ms(start - 3600_000)
    assert drive["soc_start_pct"] == "70.0" and drive["start_lat_deg"] == "60.17"
    assert drive["distance_m"] == "5000.0" and drive["efficiency_wh_per_km"] == "180.0"


def test_both_engines_raw_exports_read_the_same() -> None:
    """DuckDB writes a plain header, PostgreSQL's pyarrow writer quotes every name and text."""
    from volta.api.csvfiles import readable_samples
    from volta.catalog import default_catalog

    catalog = default_catalog()
    speed = catalog.get(SPEED).id
    duck = ["vin,signal_id,ts_ms,num,txt\n", f"{VIN},{speed},1000,42.5,\n"]
    arrow = ['"vin","signal_id","ts_ms","num","txt"\n', f'"{VIN}",{speed},1000,42.5,\n']
    expected = f"time,signal,value,unit,ts_ms\n1970-01-01T00:00:01.000Z,{SPEED},42.5,km/h,1000\n"
    assert "".join(readable_samples(duck, catalog)) == expected
    assert "".join(readable_samples(arrow, catalog)) == expected
