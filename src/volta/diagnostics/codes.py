"""Diagnostic trouble codes Volta knows, with its own descriptions.

Codes follow the SAE J2012 / ISO 15031-6 structure (letter for the system: P powertrain,
C chassis, B body, U network; then a digit, 0 = generic, 1 = manufacturer-specific). The
descriptions are Volta's own words: the public DTC lists found are GPL-licensed, so none is
copied here. Both the vehicles (the simulator) and the cloud (alerts, diagnostics) read this
one table; a maker adds its own with a description file (`volta.diagnostics.decode`).
"""

from __future__ import annotations

TYRE_PRESSURE_LOW = ("C1A00", "C1A01", "C1A02", "C1A03")  # front left, front right, rear l, r
LOW_VOLTAGE_BATTERY_WEAK = "B1A10"
CELL_IMBALANCE = "P1B10"
BATTERY_HOT_CHARGING = "P1B20"
CHARGING_ABORTED = "P1C01"
BRAKE_PADS_WORN = "C1B20"
BMS_COMMUNICATION_LOST = "U1A40"
WHEEL_SPEED_INTERMITTENT = "C1B05"
CABIN_SENSOR_INTERMITTENT = "B1A30"

DTC_DESCRIPTIONS: dict[str, str] = {
    "C1A00": "Tyre pressure low, front left",
    "C1A01": "Tyre pressure low, front right",
    "C1A02": "Tyre pressure low, rear left",
    "C1A03": "Tyre pressure low, rear right",
    LOW_VOLTAGE_BATTERY_WEAK: "12 V battery weak: resting voltage below 12.0 V",
    CELL_IMBALANCE: "HV battery cell voltages differ by more than 100 mV",
    BATTERY_HOT_CHARGING: "HV battery over 55 °C while DC charging: charge power reduced",
    CHARGING_ABORTED: "Charging session aborted",
    BRAKE_PADS_WORN: "Front brake pads worn to the replacement limit",
    BMS_COMMUNICATION_LOST: "Lost communication with the battery management system",
    WHEEL_SPEED_INTERMITTENT: "Wheel speed sensor signal intermittent",
    CABIN_SENSOR_INTERMITTENT: "Cabin temperature sensor signal intermittent",
}
