"""Names to places (`volta.planner.gazetteer`): case- and accent-insensitive matching, the
order of preference, namesakes, and the shipped Helsinki extract's named features."""

from __future__ import annotations

import pytest

from volta.geo.osm import default_osm_path
from volta.planner.gazetteer import (
    CHARGER,
    FLEET,
    SAVED,
    AmbiguousPlace,
    Candidate,
    Gazetteer,
    PlaceNotFound,
    normalize,
    osm_places,
    resolve,
    search,
)


def test_names_are_compared_without_case_accents_or_punctuation() -> None:
    assert normalize("  Töölön-tori ") == "toolon tori"
    assert normalize("Straße (M)") == "strasse m"
    assert normalize("!!!") == ""


def test_the_best_match_wins_and_equals_are_ambiguous() -> None:
    book = Gazetteer([
        Candidate("Hakaniemi", "suburb", 60.179, 24.951),
        Candidate("Hakaniemen halli", "marketplace", 60.1789, 24.9507),
        Candidate("Pikku Hakaniemi", "cafe", 60.17, 24.95),
        Candidate("Home Store", "shop", 60.16, 24.94),
        Candidate("Stockmann", "bus_stop", 60.1677, 24.9428),
        Candidate("Stockmann", "department_store", 60.1686, 24.9420),  # 100 m away: one place
        Candidate("Hesburger", "fast_food", 60.1715, 24.9468),
        Candidate("Hesburger", "fast_food", 60.1653, 24.9483),  # 700 m away: another
    ])  # fmt: skip
    assert resolve("HAKANIEMI", book).kind == "suburb"  # exact beats the start of a name
    with pytest.raises(AmbiguousPlace) as e:
        resolve("hakanie", book)  # two names start with it
    assert [c.name for c in e.value.candidates] == ["Hakaniemen halli", "Hakaniemi"]
    assert resolve("halli", book).name == "Hakaniemen halli"  # a word of the name
    assert resolve("stockmann", book).kind == "bus_stop"
    with pytest.raises(AmbiguousPlace, match="'hesburger' names 2 places: Hesburger") as e:
        resolve("hesburger", book)
    assert {(c.lat, c.lon) for c in e.value.candidates} == {(60.1715, 24.9468), (60.1653, 24.9483)}
    with pytest.raises(PlaceNotFound, match="no place named 'kamppi'"):
        resolve("kamppi", book)
    # the vehicle's own places first, then the fleet's, then chargers, then the map
    saved = Gazetteer([
        Candidate("Home", SAVED, 60.2, 24.9),
        Candidate("Home charger", CHARGER, 60.21, 24.91),
        Candidate("Home depot", FLEET, 60.22, 24.92),
    ])  # fmt: skip
    assert resolve("home", saved, book).kind == SAVED
    assert [m.candidate.kind for m in search("hom", book, saved)] == [SAVED, FLEET, CHARGER, "shop"]
    assert resolve("home s", saved, book).name == "Home Store"
    assert search("", book) == []


def test_a_charger_answers_to_its_id_too() -> None:
    book = Gazetteer([Candidate("Kamppi DC", CHARGER, 60.168, 24.931, ("AFDC-12345",))])
    assert resolve("afdc-12345", book).name == "Kamppi DC"


def test_the_helsinki_extract_names_its_streets_landmarks_and_shops() -> None:
    book = osm_places(default_osm_path())
    assert len(book) > 1500
    street = resolve("toolonlahdenkatu", book)
    assert (street.name, street.kind) == ("Töölönlahdenkatu", "street")
    # a street is one place, at a point of the street (ways sharing nodes are joined)
    assert [m.candidate.name for m in search("Mannerheimintie", book)].count("Mannerheimintie") == 1
    museum = resolve("Kiasma", book)
    assert museum.kind == "museum" and museum.lat == pytest.approx(60.172, abs=0.001)
    assert resolve("asema aukio", book).name == "Asema-aukio"
    with pytest.raises(AmbiguousPlace):
        resolve("kiasm", book)  # the museum and a bike station start so


def test_addresses_resolve_as_people_write_them() -> None:
    """Street and house number in either order, with or without postcode and town; the street
    alone is still the street; a number the map lacks names the street's nearest numbers."""
    book = osm_places(default_osm_path())
    station = resolve("Kaivokatu 1", book)
    assert station.kind == "address"
    assert (station.lat, station.lon) == pytest.approx((60.17132, 24.94146), abs=1e-4)
    for written in ("1 Kaivokatu", "kaivokatu 1 helsinki", "Kaivokatu 1, 00100 Helsinki"):
        assert resolve(written, book) == station
    assert resolve("Kaivokatu", book).kind == "street"
    assert resolve("Mannerheimintie 20 B", book).name == "Mannerheimintie 20 B"
    with pytest.raises(PlaceNotFound) as missing:
        resolve("Kaivokatu 99", book)
    known = [c.name for c in missing.value.candidates]
    assert known[:3] == ["Kaivokatu 12", "Kaivokatu 11", "Kaivokatu 10"]
    assert len(known) == len(set(known))  # the shops sharing an address are one address
    with pytest.raises(PlaceNotFound, match=r"^no place named 'Nosuchstreet 5'$"):
        resolve("Nosuchstreet 5", book)
