"""Places, nearest roads and tariffs: the pure core, with numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from volta.charging.core import detect_charges
from volta.errors import BadRequest
from volta.places.core import Place, Tagger, Tariff, TouWindow, distance_m
from volta.places.roads import RoadNames, road_names
from volta.places.store import PlaceBook, SQLitePlaces
from volta.places.tag import tag_charge
from volta.stats.core import Period, summarise

from .synth import LAT, LON, charge_cols

VIN = "JHMZZ1A1XRV000001"
OTHER = "JHMZZ1A1XRV000002"
NIGHT = Tariff(
    price_per_kwh=0.20,
    currency="EUR",
    timezone="Europe/Helsinki",
    windows=[TouWindow(start="22:00", end="07:00", price_per_kwh=0.05)],
)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).astimezone(UTC).timestamp() * 1000)


def test_time_of_use_windows_wrap_midnight_in_local_time() -> None:
    # January: Helsinki is UTC+2
    assert NIGHT.price_at(_ms("2026-01-05T21:59:00+02:00")) == 0.20
    assert NIGHT.price_at(_ms("2026-01-05T22:00:00+02:00")) == 0.05
    assert NIGHT.price_at(_ms("2026-01-06T03:00:00+02:00")) == 0.05
    assert NIGHT.price_at(_ms("2026-01-06T07:00:00+02:00")) == 0.20
    # July: UTC+3, the window follows local time
    assert NIGHT.price_at(_ms("2026-07-01T19:30:00+00:00")) == 0.05
    assert NIGHT.price_at(_ms("2026-07-01T18:30:00+00:00")) == 0.20


@pytest.mark.parametrize(
    ("tariff", "reason"),
    [
        (Tariff(price_per_kwh=0.2, currency="EUR", timezone="Mars/Olympus"), "time zone"),
        (Tariff(price_per_kwh=0.2, currency="EUR", timezone="America"), "time zone"),  # a dir
        (Tariff(price_per_kwh=-1, currency="EUR"), "price_per_kwh"),
        (Tariff(price_per_kwh=0.2, currency="euro"), "ISO 4217"),
        (
            Tariff(
                price_per_kwh=0.2,
                currency="EUR",
                windows=[TouWindow(start="22:10", end="06:00", price_per_kwh=0.1)],
            ),
            "quarter-hour",
        ),
        (
            Tariff(
                price_per_kwh=0.2,
                currency="EUR",
                windows=[TouWindow(start="25:00", end="06:00", price_per_kwh=0.1)],
            ),
            "HH:MM",
        ),
    ],
)
def test_a_bad_tariff_is_refused_with_its_reason(tariff: Tariff, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        tariff.validate()


def test_a_charge_across_the_night_window_costs_what_each_hour_costs() -> None:
    """11 kW from 21:30 to 23:30 Helsinki time: 0.5 h at 0.20 + 1.5 h at 0.05 = 1.925 EUR
    (the end, between the last "on" and the first "off" sample, is placed by the energy stored
    between them: exactly here)."""
    start, end = _ms("2026-01-05T21:30:00+02:00"), _ms("2026-01-05T23:30:00+02:00")
    [charge] = detect_charges(VIN, charge_cols(start, end, 11.0), 2**62)
    assert sum(wh for _, wh in charge.energy_by_slot) == pytest.approx(charge.energy_added_wh)
    home = Place(id="h", name="Home", lat=LAT, lon=LON, radius_m=50, vin=VIN, tariff=NIGHT)
    tagged = tag_charge(charge, Tagger([home]))
    expected = 5.5 * 0.20 + 16.5 * 0.05
    assert tagged.place == "Home" and tagged.place_id == "h"
    assert tagged.currency == "EUR"
    assert tagged.cost == pytest.approx(expected, abs=1e-4)
    flat = msgspec_replace(home, tariff=Tariff(price_per_kwh=0.30, currency="SEK"))
    assert tag_charge(charge, Tagger([flat])).cost == pytest.approx(
        charge.energy_added_wh / 1000 * 0.30, abs=1e-4
    )


def msgspec_replace(p: Place, **kw: object) -> Place:
    import msgspec

    return msgspec.structs.replace(p, **kw)


def test_stats_add_up_the_cost_per_currency() -> None:
    start = _ms("2026-01-05T12:00:00+00:00")
    cols = charge_cols(start, start + 3_600_000, 7.0)
    [c] = detect_charges(VIN, cols, 2**62)
    home = Place(id="h", name="Home", lat=LAT, lon=LON, radius_m=50, tariff=NIGHT)
    priced = tag_charge(c, Tagger([home]))
    unpriced = tag_charge(c, Tagger([]))
    [row] = summarise([], [priced, priced, unpriced], Period.DAY)
    assert row.charge_cost == {"EUR": pytest.approx(2 * priced.cost)}  # type: ignore[operator]
    assert row.uncosted_charges == 1


def test_the_vehicles_own_place_wins_then_the_nearest() -> None:
    fleet = Place(id="f", name="Depot", lat=LAT, lon=LON, radius_m=500)
    mine = Place(id="m", name="Home", lat=LAT + 0.001, lon=LON, radius_m=300, vin=VIN)
    theirs = Place(id="t", name="Their home", lat=LAT, lon=LON, radius_m=300, vin=OTHER)
    near = Place(id="n", name="Gate", lat=LAT + 0.0035, lon=LON, radius_m=200)
    tagger = Tagger([fleet, mine, theirs, near])
    assert tagger.label(VIN, LAT, LON).name == "Home"  # own place, though Depot is nearer
    assert tagger.label(OTHER, LAT, LON).name == "Their home"
    assert tagger.label("X", LAT, LON).name == "Depot"
    # 389 m north: inside Depot (500 m) and Gate (200 m); Gate's centre is nearer
    assert distance_m(LAT + 0.0035, LON, LAT, LON) == pytest.approx(389, abs=1)
    assert tagger.label("X", LAT + 0.0035, LON).place_id == "n"
    assert tagger.label(VIN, None, LON).name is None


def test_outside_every_place_the_nearest_named_road_stands_in() -> None:
    # two straight roads 1 km long: A along a parallel, B 200 m north of it
    roads = RoadNames.from_ways(
        [
            ("A street", [LAT, LAT], [LON, LON + 0.018]),
            ("B road", [LAT + 0.0018] * 2, [LON, LON + 0.018]),
        ]
    )
    tagger = Tagger([], roads)
    # the middle of road A, far (500 m) from either of its vertices: densified points find it
    assert tagger.label(VIN, LAT + 0.0003, LON + 0.009).name == "A street"
    assert tagger.label(VIN, LAT + 0.0014, LON + 0.009).name == "B road"
    assert tagger.label(VIN, LAT + 0.0003, LON + 0.009).place_id is None
    assert roads.nearest(LAT + 0.01, LON + 0.009) is None  # > 150 m from both


def test_helsinki_points_get_their_street_names() -> None:
    roads = road_names()
    # Mannerheimintie by the Parliament House; the Esplanade; Aleksanterinkatu
    assert roads.nearest(60.1725, 24.9335) == "Mannerheimintie"
    assert roads.nearest(60.1679, 24.9480) == "Pohjoisesplanadi"
    assert roads.nearest(60.1686, 24.9410) == "Aleksanterinkatu"


def test_places_persist_and_a_missing_map_only_costs_the_addresses(tmp_path: Path) -> None:
    book = PlaceBook(
        SQLitePlaces(tmp_path / "p.sqlite"), osm_path=str(tmp_path / "missing.osm.pbf")
    )
    home = book.put(Place(id="", name="Home", lat=LAT, lon=LON, radius_m=50, tariff=NIGHT))
    assert home.id and book.version == 1
    t = book.tagger()
    assert t.roads is None and t.version == 1
    assert t.label(VIN, LAT, LON).name == "Home" and t.label(VIN, LAT + 0.01, LON).name is None
    book.close()
    again = PlaceBook(SQLitePlaces(tmp_path / "p.sqlite"), roads=False)
    assert again.list() == [home]
    again.delete(home.id)
    assert again.list() == [] and again.tagger().places == ()


def test_many_fleet_places_find_what_a_scan_of_all_of_them_finds() -> None:
    """Fleet-wide places are looked up in a KD-tree: same answer as checking every one."""
    rng = np.random.default_rng(3)
    places = [
        Place(
            id=f"p{i}", name=f"P{i}", lat=LAT + rng.uniform(-0.2, 0.2),
            lon=LON + rng.uniform(-0.4, 0.4), radius_m=float(rng.uniform(50, 3000)),
        )
        for i in range(500)
    ]  # fmt: skip
    tagger = Tagger(places)
    for lat, lon in zip(
        LAT + rng.uniform(-0.2, 0.2, 300), LON + rng.uniform(-0.4, 0.4, 300), strict=True
    ):
        holding = [(distance_m(lat, lon, p.lat, p.lon), p) for p in places]
        inside = [(d, p) for d, p in holding if d <= p.radius_m]
        expected = min(inside, key=lambda x: x[0])[1] if inside else None
        assert tagger.place(VIN, float(lat), float(lon)) == expected
