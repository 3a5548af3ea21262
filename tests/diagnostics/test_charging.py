"""Charging failures: a charger failing many cars is the charger's (one alert for the
charge-point operator, no case per car); a car failing wherever it charges is the car's."""

from __future__ import annotations

from volta.diagnostics.charging import ChargeFailure, attribute

STATION = (60.1684, 24.9495)
T0 = 1_767_571_200_000
H = 3_600_000


def _at(vin: str, h: int, where: tuple[float, float], jitter: float = 0.0) -> ChargeFailure:
    return ChargeFailure(vin, T0 + h * H, where[0] + jitter, where[1])


def test_one_charger_failing_many_cars_is_the_charger_s_fault() -> None:
    fs = [_at(f"CAR{i}", i, STATION, jitter=i * 2e-5) for i in range(5)]  # within a few m
    att = attribute(fs)
    assert att.causes == ("charger",) * 5
    assert len(att.chargers) == 1 and att.chargers[0].vehicles == 5
    assert att.cars == ()  # no case opened on each car


def test_a_car_failing_at_home_and_at_stations_is_the_car_s_fault() -> None:
    fs = [
        _at("BAD", 1, (60.17, 24.94)),  # home
        _at("BAD", 30, STATION),
        _at("BAD", 50, (60.16, 24.93)),
    ]
    att = attribute(fs)
    assert att.causes == ("car",) * 3
    assert [c.vin for c in att.cars] == ["BAD"] and att.cars[0].sites == 3
    assert att.chargers == ()


def test_two_failing_cars_meeting_at_a_busy_station_do_not_blame_it() -> None:
    fs = [
        _at("A", 1, (60.17, 24.94)),
        _at("A", 5, STATION),
        _at("B", 2, (60.16, 24.93)),
        _at("B", 6, STATION),
    ]
    att = attribute(fs, [_at(f"OK{i}", 3 + i, STATION) for i in range(4)])
    assert att.causes == ("car",) * 4
    assert att.chargers == () and {c.vin for c in att.cars} == {"A", "B"}


def test_a_single_failure_is_undecided_and_the_order_of_the_input_is_kept() -> None:
    fs = [_at("X", 9, (60.0, 24.0)), _at("S1", 1, STATION), _at("S2", 2, STATION)]
    assert attribute(fs).causes == ("undecided", "charger", "charger")


def test_sessions_that_worked_clear_a_station_and_convict_a_car() -> None:
    """The car fails at a station where three other cars charged fine, and at home: the car.
    Another car fails once at a station where the others also failed, and charges fine at
    home: the station."""
    home, other = (60.17, 24.94), (60.16, 24.93)
    fails = [_at("OBC", 1, STATION), _at("OBC", 20, home), _at("OBC", 40, home)]
    fails += [_at("V1", 3, other), _at("V2", 4, other)]
    ok = [_at(f"OK{i}", 2 + i, STATION) for i in range(3)]
    ok += [_at("V1", 30, home, jitter=0.01), _at("OBC", 60, home)]
    att = attribute(fails, ok)
    assert att.causes == ("car", "car", "car", "charger", "charger")
    assert [c.vin for c in att.cars] == ["OBC"] and att.cars[0].failures == 3
    assert [a.vehicles for a in att.chargers] == [2]
