"""Diagnostic trouble codes Volta knows, with its own descriptions.

Codes follow the SAE J2012 / ISO 15031-6 structure (letter for the system: P powertrain,
C chassis, B body, U network; then a digit, 0 = generic, 1 = manufacturer-specific). The
descriptions are Volta's own words: the public DTC lists found are GPL-licensed, so none is
copied here. Both the vehicles (the simulator) and the cloud (alerts) read this one table.
"""

from __future__ import annotations

TYRE_PRESSURE_LOW = ("C1A00", "C1A01", "C1A02", "C1A03")  # front left, front right, rear l, r
LOW_VOLTAGE_BATTERY_WEAK = "B1A10"

DTC_DESCRIPTIONS: dict[str, str] = {
    "C1A00": "Tyre pressure low, front left",
    "C1A01": "Tyre pressure low, front right",
    "C1A02": "Tyre pressure low, rear left",
    "C1A03": "Tyre pressure low, rear right",
    LOW_VOLTAGE_BATTERY_WEAK: "12 V battery weak: resting voltage below 12.0 V",
}
