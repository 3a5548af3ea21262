"""A hand-made history that diagnostics predict a repair from: a front-left tyre losing air at
8 kPa a day, one batch an hour (pressure, outside air at 20 °C), as the car would send it."""

from __future__ import annotations

from volta.wire import Batch, encode_msgpack

HOUR_MS = 3_600_000
TYRE = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"
AIR = "Vehicle.Exterior.AirTemperature"
DTC_LIST = "Vehicle.Diagnostics.DTCList"


def leaking_tyre(vin: str, end_ms: int, *, hours: int = 30, seq: int = 7 * 10**9) -> list[bytes]:
    """`hours` hourly batches ending at `end_ms`: 240 kPa falling 8 kPa/day (the warning at
    200 kPa some four days on, so the rule's alert is on after a day of points)."""
    out = []
    for h in range(hours):
        ts = end_ms - (hours - 1 - h) * HOUR_MS
        kpa = round(240.0 - 8.0 * h / 24.0)
        batch = Batch(v=1, vin=vin, seq=seq + h, ts=ts, samples=[(0, AIR, 20.0), (0, TYRE, kpa)])
        out.append(encode_msgpack(batch))
    return out


def trouble_code(vin: str, ts_ms: int, codes: list[str], seq: int) -> bytes:
    """One batch reporting the car's active trouble codes (none: cleared)."""
    value: list[bool | int | float | str] = list(codes)
    return encode_msgpack(Batch(v=1, vin=vin, seq=seq, ts=ts_ms, samples=[(0, DTC_LIST, value)]))


def software_version(vin: str, ts_ms: int, ecu: str, version: str, seq: int) -> bytes:
    """One batch reporting the software version installed on one ECU."""
    signal = f"Vehicle.OTA.{ecu}.SoftwareVersion"
    return encode_msgpack(Batch(v=1, vin=vin, seq=seq, ts=ts_ms, samples=[(0, signal, version)]))
