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


def _dc(vin: str, h: int, where: tuple[float, float]) -> ChargeFailure:
    return ChargeFailure(vin, T0 + h * H, where[0], where[1], dc=True)


def test_a_fast_charger_and_the_wallboxes_beside_it_are_different_chargers() -> None:
    """Cars failing at a DC station are the station's even though a neighbour's AC wallbox,
    20 m away, charges its car fine all the while."""
    fails = [_dc(f"V{i}", 10 + 5 * i, STATION) for i in range(3)]
    home_ok = [_at("NEXT", 8 + 5 * i, STATION, jitter=2e-4) for i in range(4)]
    att = attribute(fails, home_ok)
    assert att.causes == ("charger",) * 3
    assert len(att.chargers) == 1 and att.chargers[0].vehicles == 3


def test_a_lone_failure_at_the_car_s_own_wallbox_is_the_car_s() -> None:
    """No other car charges there (no charge-point operator to alert), and the car charged
    there fine before: the case goes to the car."""
    home = (60.17, 24.94)
    att = attribute([_at("X", 50, home)], [_at("X", 2, home), _at("X", 26, home)])
    assert att.causes == ("car",)


def test_two_failing_neighbours_do_not_make_their_wallboxes_one_broken_charger() -> None:
    """Two cars with failing on-board chargers live in one building (their wallboxes within
    the GPS noise): each fails again and again at home, A charging fine in between. Each car's own
    repeated failures are its own, one other car failing nearby does not blame a charger."""
    home = (60.17, 24.94)
    fails = [_at("A", h, home) for h in (0, 20, 50, 75)] + [_at("B", h, home) for h in (95, 115)]
    att = attribute(fails, [_at("A", h, home) for h in (25, 45, 100, 120)])
    assert att.causes == ("car",) * 6
    assert att.chargers == ()


def test_the_sessions_nearest_a_failure_say_whether_the_charger_was_broken_then() -> None:
    """A station fails three cars in 20 h, then is repaired: the sessions that went well
    a day or two later do not clear the failures next to each other."""
    fails = [_dc("A", 100, STATION), _dc("B", 110, STATION), _dc("C", 120, STATION)]
    ok = [_dc("OK1", 150, STATION), _dc("OK2", 160, STATION)]
    assert attribute(fails, ok).causes == ("charger",) * 3


def test_several_stations_broken_at_once_are_the_stations_not_the_cars_visiting_them() -> None:
    """Three fast chargers fail for days at the same time (a small town's stations, one bad
    firmware); four cars without a wallbox go from one to the next, failing at each, and charge
    fine at a fourth station in between. A car failing at three places is not the car here:
    every other car fails at those places too, and these cars charge fine elsewhere."""
    a, b, c, d = STATION, (60.1700, 24.9400), (60.1650, 24.9300), (60.1720, 24.9600)
    fails = []
    for k, (vin, places) in enumerate(
        (("W1", (a, b, c)), ("W2", (b, c, a)), ("W3", (c, a, b)), ("W4", (a, b, c)))
    ):
        fails += [_dc(vin, 2 + 10 * j + 3 * k, where) for j, where in enumerate(places)]
    ok = [_dc(f"W{k + 1}", 40 + 5 * k, d) for k in range(4)]
    ok += [_dc(f"OK{k}", h, where) for k, where in enumerate((a, b, c)) for h in (-30, 150)]
    att = attribute(fails, ok)
    assert att.causes == ("charger",) * 12
    assert len(att.chargers) == 3 and all(x.vehicles >= 3 for x in att.chargers)
    assert att.cars == ()


def test_a_failing_car_in_a_building_where_the_neighbours_charge_fine_is_the_car() -> None:
    """Four cars charge at the wallboxes of one building (within the GPS noise). N1's on-board
    charger fails again and again; then N2's fails twice, two hours after one of N1's. N3 and
    N4 charge fine all the while, N2 too before: the building's supply works, both are cars."""
    home = (60.17, 24.94)
    fails = [_at("N1", h, home) for h in (31, 35, 55, 77, 101)]
    fails += [_at("N2", h, home) for h in (75, 80)]
    ok = [_at("N1", h, home) for h in (7, 13)]
    ok += [_at("N2", h, home) for h in (9, 33, 57, 60)]
    ok += [_at("N3", h, home) for h in (7, 31, 55, 60, 104)]
    ok += [_at("N4", h, home) for h in (10, 34, 57, 79, 101)]
    att = attribute(fails, ok)
    assert att.causes == ("car",) * 7
    assert [c.vin for c in att.cars] == ["N1", "N2"]
    assert att.chargers == ()
