"""VINs and telemetry topics."""

from __future__ import annotations

import pytest

from volta.wire import is_valid_vin, telemetry_topic, vin_from_topic

VIN = "JHMZZ1A1XRV000001"


@pytest.mark.parametrize("vin", [VIN, "WVWZZZ1KZ6W000003", "1HGCM82633A004352", "0" * 17])
def test_valid_vins_are_accepted(vin: str) -> None:
    assert is_valid_vin(vin)


@pytest.mark.parametrize(
    "vin",
    [
        "",
        "ABC",
        VIN[:16],
        VIN + "1",
        "JHMZZ1A1XRV00000I",
        "JHMZZ1A1XRV00000O",
        "JHMZZ1A1XRV00000Q",
        VIN.lower(),
        "JHMZZ1A1XRV00000-",
        "JHMZZ1A1XRV00000\u00c4",
        VIN + "\n",
    ],
)
def test_invalid_vins_are_refused(vin: str) -> None:
    assert not is_valid_vin(vin)


def test_check_digit_is_not_required() -> None:
    # Position 9 is "X" here, which is not this VIN's North-American check digit.
    assert is_valid_vin("JHMZZ1A1XRV000002")


def test_telemetry_topic_round_trips() -> None:
    assert telemetry_topic(VIN) == f"volta/v1/{VIN}/telemetry"
    assert vin_from_topic(telemetry_topic(VIN)) == VIN
    assert vin_from_topic(telemetry_topic(VIN, "test/abc"), "test/abc") == VIN


@pytest.mark.parametrize(
    "topic",
    [
        f"volta/v1/{VIN}/events",
        f"volta/v1/{VIN}/telemetry/x",
        f"volta/v2/{VIN}/telemetry",
        f"x/volta/v1/{VIN}/telemetry",
        "volta/v1/+/telemetry",
        "volta/v1//telemetry",
        "volta/v1/ABC/telemetry",
        f"volta/v1/{VIN}/{VIN}/telemetry",
    ],
)
def test_other_topics_give_no_vin(topic: str) -> None:
    assert vin_from_topic(topic) is None


def test_topic_under_another_prefix_gives_no_vin() -> None:
    assert vin_from_topic(telemetry_topic(VIN), "test/abc") is None
