"""After-sales diagnostics: trouble codes and their decoding, DTC events with freeze frames,
predictive rules over a vehicle's history, charging-failure attribution and fleet reliability.

Each module is pure (it reads the samples and times it is given); `volta.processors.diagnostics`
runs them live on the bus and `volta.diagnostics.api` serves them.
"""

from __future__ import annotations

from volta.diagnostics.codes import (
    BATTERY_HOT_CHARGING,
    BMS_COMMUNICATION_LOST,
    BRAKE_PADS_WORN,
    CABIN_SENSOR_INTERMITTENT,
    CELL_IMBALANCE,
    CHARGING_ABORTED,
    DTC_DESCRIPTIONS,
    LOW_VOLTAGE_BATTERY_WEAK,
    TYRE_PRESSURE_LOW,
    WHEEL_SPEED_INTERMITTENT,
)

__all__ = [
    "BATTERY_HOT_CHARGING",
    "BMS_COMMUNICATION_LOST",
    "BRAKE_PADS_WORN",
    "CABIN_SENSOR_INTERMITTENT",
    "CELL_IMBALANCE",
    "CHARGING_ABORTED",
    "DTC_DESCRIPTIONS",
    "LOW_VOLTAGE_BATTERY_WEAK",
    "TYRE_PRESSURE_LOW",
    "WHEEL_SPEED_INTERMITTENT",
]
