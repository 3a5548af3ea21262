"""Which alerts open a service case, under which problem key: the alert log's and the
predictive rules' names for one fault meet in one key, so they share one case."""

from __future__ import annotations

from volta.diagnostics.vehicle import AlertChange
from volta.registry import AlertFacts
from volta.service.cases import check_problem_key
from volta.service.intake import problem_of_alert, problem_of_prediction

VIN = "JHMZZ1A1XRV000001"
SIGNAL = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"


def facts(kind: str, key: str, severity: str = "warning") -> AlertFacts:
    return AlertFacts(VIN, kind, key, severity, SIGNAL, 180.0, f"{kind} {key}", 1_000)


def test_alerts_that_need_a_workshop_get_a_problem_key_and_low_charge_does_not() -> None:
    keys = {
        (k, key): p.key if (p := problem_of_alert(facts(k, key))) else None
        for k, key in [
            ("dtc", "P0A80"),
            ("tyre_pressure", "front-left"),
            ("low_voltage_battery", ""),
            ("battery_fade", ""),
            ("low_soc", ""),
        ]
    }
    assert keys == {
        ("dtc", "P0A80"): "dtc:P0A80",
        ("tyre_pressure", "front-left"): "tyre:front-left",
        ("low_voltage_battery", ""): "lv_battery",
        ("battery_fade", ""): "battery_fade",
        ("low_soc", ""): None,
    }


def test_a_malformed_trouble_code_still_opens_a_case_with_a_valid_key() -> None:
    p = problem_of_alert(facts("dtc", "P0A80 <bad> ✓", "critical"))
    assert p is not None and p.key == "dtc:P0A80-bad-"
    assert check_problem_key(p.key) == p.key
    assert p.alert.severity == "critical" and p.alert.message == "dtc P0A80 <bad> ✓"


def test_a_predicted_leak_and_the_low_pressure_alert_of_that_tyre_are_one_problem() -> None:
    on = AlertChange(VIN, "tyre_leak", "Front-left", True, 5_000, "losing 8 kPa/day")
    predicted = problem_of_prediction(on)
    alerted = problem_of_alert(facts("tyre_pressure", "front-left"))
    assert predicted is not None and alerted is not None and predicted.key == alerted.key
    assert predicted.alert.kind == "predicted_tyre_leak" and predicted.alert.since_ms == 5_000
    off = AlertChange(VIN, "tyre_leak", "Front-left", False, 6_000, "")
    assert problem_of_prediction(off) is None
    pairs = [("lv_battery", "lv_battery"), ("pad_wear", "brake_pads")]
    pairs += [("cell_imbalance", "cell_imbalance"), ("battery_hot", "battery_hot")]
    for kind, key in pairs:
        p = problem_of_prediction(AlertChange(VIN, kind, "x y", True, 1, "m"))
        assert p is not None and p.key == key
