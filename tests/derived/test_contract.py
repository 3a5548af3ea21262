"""The derived-store contract: what every engine must do, with exact outcomes.

Runs against every param of the `opener` fixture (conftest.py): the embedded SQLite file and
PostgreSQL pass it unchanged, so the API reads the same drives, charges and battery health
whichever one the processors write.
"""

from __future__ import annotations

from volta.battery.core import CapacitySample
from volta.charging.core import Charge
from volta.derived.store import DerivedStore
from volta.drives.core import Drive

from .conftest import Opener

VIN_A, VIN_B = "JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002"
T0 = 1_767_571_200_000  # beyond 2**31 on purpose: ms since the epoch
MIN = 60_000


def drive(vin: str, start_min: int, minutes: int = 10, **kw: object) -> Drive:
    start, end = T0 + start_min * MIN, T0 + (start_min + minutes) * MIN
    fields: dict[str, object] = dict(
        id=f"{vin}-{start}", vin=vin, start_ms=start, end_ms=end, final=True,
        start_lat=60.17, start_lon=24.94, end_lat=None, end_lon=None,
        odometer_start_m=1000.0, odometer_end_m=5000.5, distance_m=4000.5, energy_wh=612.25,
        regen_wh=40.0, efficiency_wh_per_km=153.04, avg_speed_kmh=24.0, max_speed_kmh=61.5,
        soc_start=80.0, soc_end=78.5, outside_temp_c=-3.5, start_place="Home",
    )  # fmt: skip
    fields.update(kw)
    return Drive(**fields)  # type: ignore[arg-type]


def charge(vin: str, start_min: int, minutes: int = 60) -> Charge:
    start, end = T0 + start_min * MIN, T0 + (start_min + minutes) * MIN
    return Charge(
        id=f"{vin}-{start}", vin=vin, start_ms=start, end_ms=end, final=False, dc=False,
        lat=60.17, lon=24.94, energy_added_wh=7400.0, energy_stored_wh=None, peak_kw=7.4,
        avg_kw=7.1, soc_from=20.0, soc_to=32.5, outside_temp_c=None,
        curve=[(20.0, 7.4), (32.5, 7.2)], energy_by_slot=[(start, 1850.0)],
        place="Home", place_id="p1", cost=1.23, currency="EUR",
    )  # fmt: skip


def ids(records: list[Drive]) -> list[str]:
    return [r.id for r in records]


# -- writing ---------------------------------------------------------------------------------


def test_records_come_back_exactly_as_written(derived: DerivedStore) -> None:
    d, c = drive(VIN_A, 0), charge(VIN_A, 30)
    cap = CapacitySample(
        id=f"{VIN_A}-1", vin=VIN_A, start_ms=T0, end_ms=T0 + MIN, kind="charge",
        capacity_kwh=71.25, soc_swing=42.0,
    )  # fmt: skip
    derived.upsert("drive", [d])
    derived.upsert("charge", [c])
    derived.upsert("capacity", [cap])
    assert derived.get("drive", Drive, d.id) == d
    assert derived.get("charge", Charge, c.id) == c
    assert derived.list("capacity", CapacitySample, VIN_A) == [cap]
    assert derived.get("drive", Drive, "no-such-id") is None


def test_upsert_replaces_by_kind_and_id_never_duplicates(derived: DerivedStore) -> None:
    first = drive(VIN_A, 0)
    later = drive(VIN_A, 0, minutes=25, final=False)  # the same id, re-detected longer
    derived.upsert("drive", [first])
    derived.upsert("drive", [later])
    assert derived.list("drive", Drive, VIN_A) == [later]
    # the last copy in one call wins too
    derived.upsert("drive", [first, later, first])
    assert derived.list("drive", Drive, VIN_A) == [first]
    # the same id under another kind is another record
    derived.upsert("other", [later])
    assert derived.get("drive", Drive, first.id) == first
    assert derived.get("other", Drive, first.id) == later
    derived.upsert("drive", [])  # nothing to write: nothing changes
    assert derived.list("drive", Drive) == [first]


def test_replace_from_owns_everything_of_the_vehicle_from_its_start_on(
    derived: DerivedStore,
) -> None:
    derived.upsert("drive", [drive(VIN_A, m) for m in (0, 60, 120, 180)])
    derived.upsert("drive", [drive(VIN_B, 120)])
    derived.upsert("charge", [charge(VIN_A, 150)])
    new = [drive(VIN_A, 125, minutes=70)]  # re-detection: two drives were one
    derived.replace_from("drive", VIN_A, T0 + 120 * MIN, new)
    assert ids(derived.list("drive", Drive, VIN_A)) == [new[0].id, drive(VIN_A, 60).id,
                                                       drive(VIN_A, 0).id]  # fmt: skip
    assert ids(derived.list("drive", Drive, VIN_B)) == [drive(VIN_B, 120).id]
    assert len(derived.list("charge", Charge, VIN_A)) == 1  # another kind: untouched
    derived.replace_from("drive", VIN_A, T0, [])  # nothing left from T0 on
    assert derived.list("drive", Drive, VIN_A) == []
    assert len(derived.list("drive", Drive)) == 1


# -- reading ---------------------------------------------------------------------------------


def test_list_is_newest_first_with_ids_breaking_ties_bytewise(derived: DerivedStore) -> None:
    same_start = [drive(VIN_A, 5, id=i) for i in ("a-1", "B-1", "b-1", "A-1")]
    derived.upsert("drive", [drive(VIN_A, 0), drive(VIN_B, 10), *same_start])
    got = ids(derived.list("drive", Drive))
    # sorted as bytes, as SQLite compares text: lower case after upper case
    assert got == [drive(VIN_B, 10).id, "b-1", "a-1", "B-1", "A-1", drive(VIN_A, 0).id]


def test_list_filters_by_vehicle_and_overlap_and_limits(derived: DerivedStore) -> None:
    derived.upsert("drive", [drive(VIN_A, m, minutes=10) for m in (0, 20, 40)])
    derived.upsert("drive", [drive(VIN_B, 20)])
    a = {m: drive(VIN_A, m).id for m in (0, 20, 40)}
    # overlapping [start, end): a record ending exactly at `start` or starting at `end` is out
    window = derived.list("drive", Drive, VIN_A, start_ms=T0 + 10 * MIN, end_ms=T0 + 40 * MIN)
    assert ids(window) == [a[20]]
    assert ids(derived.list("drive", Drive, VIN_A, start_ms=T0 + 9 * MIN)) == [a[40], a[20],
                                                                              a[0]]  # fmt: skip
    assert ids(derived.list("drive", Drive, VIN_A, end_ms=T0 + 21 * MIN)) == [a[20], a[0]]
    assert ids(derived.list("drive", Drive, VIN_A, limit=2)) == [a[40], a[20]]
    assert derived.list("drive", Drive, VIN_A, limit=0) == []
    assert derived.list("drive", Drive, "JHMZZ1A1XRV000009") == []
    assert derived.list("nothing", Drive) == []


def test_paging_with_before_walks_every_record_once(derived: DerivedStore) -> None:
    written = [drive(VIN_A, m) for m in range(0, 250, 10)]
    derived.upsert("drive", written)
    seen: list[str] = []
    before: int | None = None
    while page := derived.list("drive", Drive, VIN_A, limit=7, before_ms=before):
        seen += ids(page)
        before = page[-1].start_ms
    assert seen == [d.id for d in reversed(written)]


# -- across processes ------------------------------------------------------------------------


def test_another_process_reads_what_one_wrote_at_once_and_after_a_reopen(opener: Opener) -> None:
    writer, reader = opener(), opener()
    derived_drive = drive(VIN_A, 0)
    writer.upsert("drive", [derived_drive])
    assert reader.get("drive", Drive, derived_drive.id) == derived_drive
    writer.replace_from("drive", VIN_A, T0, [drive(VIN_A, 1)])
    assert ids(reader.list("drive", Drive, VIN_A)) == [drive(VIN_A, 1).id]
    writer.close()
    reader.close()
    assert ids(opener().list("drive", Drive, VIN_A)) == [drive(VIN_A, 1).id]
