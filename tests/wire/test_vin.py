"""VINs."""

from __future__ import annotations

import pytest

from volta.wire import is_valid_vin

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
