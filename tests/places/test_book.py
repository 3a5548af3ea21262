"""The place book's contract on every engine (`book_opener` in conftest.py): what the API
writes is what the processors tag with, in the same process or another, on SQLite in the data
dir or on PostgreSQL.
"""

from __future__ import annotations

import msgspec
import pytest

from volta.errors import NotFound
from volta.places.core import Place, Tariff
from volta.places.store import PlaceBook

from .conftest import BookOpener
from .synth import LAT, LON

VIN, OTHER = "JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002"
FLAT = Tariff(price_per_kwh=0.25, currency="EUR")


def place(name: str, vin: str | None = None, *, dlat: float = 0.0, **kw: object) -> Place:
    return Place(id="", name=name, lat=LAT + dlat, lon=LON, radius_m=100, vin=vin, **kw)  # type: ignore[arg-type]


def test_put_gives_an_id_get_and_list_return_the_place_as_written(book: PlaceBook) -> None:
    home = book.put(place("Home", VIN, tariff=FLAT))
    assert home.id and home.tariff == FLAT and home.vin == VIN
    assert book.get(home.id) == home
    again = book.put(msgspec.structs.replace(home, name="Home sweet home"))
    assert again.id == home.id
    assert book.list() == [again]
    with pytest.raises(NotFound):
        book.get("nope")


def test_list_orders_and_filters_by_vehicle(book: PlaceBook) -> None:
    depot = book.put(place("Depot", dlat=0.01))
    work = book.put(place("Work", VIN, dlat=0.02))
    home = book.put(place("Home", VIN))
    theirs = book.put(place("Home", OTHER))
    assert book.list() == [depot, home, work, theirs]  # fleet-wide first, then by vehicle, name
    assert book.list(VIN) == [depot, home, work]
    assert book.list(VIN, fleet=False) == [home, work]


def test_delete_returns_the_place_and_a_missing_one_is_not_found(book: PlaceBook) -> None:
    home = book.put(place("Home", VIN))
    version = book.version
    assert book.delete(home.id) == home
    assert book.list() == [] and book.version == version + 1
    with pytest.raises(NotFound):
        book.delete(home.id)
    assert book.version == version + 1  # nothing changed: no new version


def test_each_change_makes_one_new_version_and_a_new_tagger(book: PlaceBook) -> None:
    assert book.version == 0
    t0 = book.tagger()
    assert book.tagger() is t0  # no change: the same labeller
    assert t0.label(VIN, LAT, LON).name is None
    home = book.put(place("Home", VIN))
    t1 = book.tagger()
    assert book.version == t1.version == 1
    assert t1.label(VIN, LAT, LON).place_id == home.id
    book.put(place("Work", dlat=0.02))
    assert book.tagger().version == 2


def test_another_process_sees_each_change_at_its_next_look(book_opener: BookOpener) -> None:
    api, processors = book_opener(), book_opener()
    before = processors.tagger()
    home = api.put(place("Home", VIN, tariff=FLAT))
    after = processors.tagger()
    assert after.version == before.version + 1
    assert after.label(VIN, LAT, LON).place_id == home.id
    assert processors.get(home.id) == home
    assert processors.tagger() is after  # and only once
    api.delete(home.id)
    assert processors.list() == [] and processors.tagger().label(VIN, LAT, LON).name is None


def test_writes_from_two_processes_both_stay(book_opener: BookOpener) -> None:
    a, b = book_opener(), book_opener()
    home = a.put(place("Home", VIN))
    work = b.put(place("Work", VIN, dlat=0.02))  # b has not looked since a's write
    depot = a.put(place("Depot"))
    assert a.list() == b.list() == [depot, home, work]
    assert a.tagger().label(VIN, LAT + 0.02, LON).place_id == work.id
    assert b.tagger().label(VIN, LAT, LON).place_id == home.id
    with pytest.raises(NotFound):
        b.delete("nope")
    assert b.delete(home.id) == home
    assert a.list() == [depot, work]


def test_places_outlive_the_process(book_opener: BookOpener) -> None:
    first = book_opener()
    home = first.put(place("Home", VIN, tariff=FLAT))
    first.close()
    again = book_opener()
    assert again.list() == [home] and again.version == 0
    assert again.tagger().get(home.id) == home
