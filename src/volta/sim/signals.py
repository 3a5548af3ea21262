"""From vehicle state to wire-format v1 telemetry: VSS signals, rates, noise, gaps.

`Telemetry.batches(frame)` turns one fleet window into batches, one per vehicle per
`batch_s` seconds in which the vehicle is online. Every signal has a rate while driving and
one while parked (awake or charging); slow signals are also sent when a car wakes up, and the
charging signals at the second charging starts or stops (a car reports that change as it
happens, as it would notify its driver, not at the next 30 s sample). Values
carry sensor noise and the quantisation of a real bus, and have exactly the VSS datatype
(floats, unsigned integers, booleans, string arrays). Now and then a vehicle loses its
connection: its batches are buffered and sent late, with their original timestamps and their
increasing sequence numbers.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volta.sim.window import Frame
from volta.wire import Batch, Sample

__all__ = ["ADAS_SIGNALS", "HEALTH_SIGNALS", "SIGNALS", "SignalSpec", "Telemetry"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Extract = Callable[[Frame, IntArray, IntArray], NDArray[Any]]


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """One VSS signal the simulator sends. Datatype and unit are those of VSS 6.0."""

    path: str
    datatype: str
    unit: str | None
    drive_period_s: int  # 0: not sent while driving
    park_period_s: int  # 0: not sent while parked/charging
    noise: float  # standard deviation, in the signal's unit
    decimals: int
    extract: Extract
    lo: float = -np.inf
    hi: float = np.inf


def _m(arr_name: str, scale: float = 1.0) -> Extract:
    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        return np.asarray(getattr(fr, arr_name)[r, c], dtype=np.float64) * scale

    return f


def _row(arr_name: str, scale: float = 1.0) -> Extract:
    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        return np.asarray(getattr(fr, arr_name)[r], dtype=np.float64) * scale

    return f


def _tyre(k: int) -> Extract:
    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        return np.asarray(fr.tyre_kpa[r, k], dtype=np.float64)

    return f


def _ambient(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
    return np.full(len(r), fr.ambient_c)


def _charge_rate(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
    return np.asarray(fr.charge_kw[r, c] * 1000.0 / fr.wh_per_km[r], dtype=np.float64)


def _power_in(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
    return np.asarray(-fr.power_w[r, c], dtype=np.float64)  # VSS: > 0 flows into the battery


def _gear(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
    return np.asarray(fr.driving[r, c], dtype=np.float64)  # 1 = forward, 0 = neutral/park


def _selected(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
    return np.where(fr.driving[r, c], 127.0, 126.0)  # VSS: 127 = Drive, 126 = Park


_TB = "Vehicle.Powertrain.TractionBattery."
_AXLE = "Vehicle.Chassis.Axle."
_DOOR = "Vehicle.Cabin.Door."
_HVAC = "Vehicle.Cabin.HVAC.Station.Row1.Driver."
SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("Vehicle.Speed", "float", "km/h", 1, 60, 0.2, 1, _m("speed_mps", 3.6), 0.0),
    SignalSpec(
        "Vehicle.CurrentLocation.Latitude",
        "double",
        "degrees",
        1,
        60,
        1.5e-5,
        6,
        _m("lat"),
        -90,
        90,
    ),
    SignalSpec(
        "Vehicle.CurrentLocation.Longitude",
        "double",
        "degrees",
        1,
        60,
        3.0e-5,
        6,
        _m("lon"),
        -180,
        180,
    ),
    SignalSpec(
        "Vehicle.CurrentLocation.Heading",
        "double",
        "degrees",
        1,
        60,
        0.5,
        1,
        _m("heading"),
        0,
        359.9,
    ),
    SignalSpec("Vehicle.TraveledDistance", "uint32", "m", 1, 60, 0.0, 0, _m("odometer_m"), 0.0),
    SignalSpec(
        "Vehicle.Acceleration.Longitudinal", "float", "m/s^2", 1, 0, 0.05, 2, _m("accel_lon")
    ),
    SignalSpec("Vehicle.Acceleration.Lateral", "float", "m/s^2", 1, 0, 0.05, 2, _m("accel_lat")),
    SignalSpec("Vehicle.Acceleration.Vertical", "float", "m/s^2", 1, 0, 0.08, 2, _m("accel_vert")),
    SignalSpec(_TB + "CurrentPower", "float", "W", 1, 30, 15.0, 0, _power_in),
    SignalSpec(
        _TB + "StateOfCharge.Current", "float", "percent", 5, 60, 0.02, 1, _m("soc_pct"), 0, 100
    ),
    SignalSpec(
        _TB + "StateOfCharge.CurrentEnergy", "float", "kWh", 10, 60, 0.01, 2, _m("energy_kwh"), 0.0
    ),
    SignalSpec(_TB + "NetCapacity", "uint16", "kWh", 600, 600, 0.0, 0, _row("capacity_kwh"), 0.0),
    SignalSpec(
        _TB + "StateOfHealth", "float", "percent", 600, 600, 0.3, 1, _row("soh", 100.0), 0, 100
    ),
    SignalSpec(_TB + "Charging.IsCharging", "boolean", None, 10, 30, 0.0, 0, _m("charging")),
    SignalSpec(
        _TB + "Charging.ChargingPort.AnyPosition.IsChargingCableConnected",
        "boolean",
        None,
        60,
        30,
        0.0,
        0,
        _m("cable"),
    ),
    SignalSpec(_TB + "Charging.ChargeRate", "float", "km/h", 0, 30, 0.0, 1, _charge_rate, 0.0),
    SignalSpec("Vehicle.Powertrain.Transmission.CurrentGear", "int8", None, 10, 60, 0.0, 0, _gear),
    SignalSpec(
        "Vehicle.Powertrain.Transmission.SelectedGear", "int8", None, 10, 60, 0.0, 0, _selected
    ),
    SignalSpec("Vehicle.Exterior.AirTemperature", "float", "Celsius", 60, 60, 0.2, 1, _ambient),
    SignalSpec(
        "Vehicle.Cabin.HVAC.AmbientAirTemperature",
        "float",
        "Celsius",
        60,
        60,
        0.2,
        1,
        _row("cabin_c"),
    ),
    SignalSpec(
        _AXLE + "Row1.Wheel.Left.Tire.Pressure", "uint16", "kPa", 60, 60, 0.8, 0, _tyre(0), 0.0
    ),
    SignalSpec(
        _AXLE + "Row1.Wheel.Right.Tire.Pressure", "uint16", "kPa", 60, 60, 0.8, 0, _tyre(1), 0.0
    ),
    SignalSpec(
        _AXLE + "Row2.Wheel.Left.Tire.Pressure", "uint16", "kPa", 60, 60, 0.8, 0, _tyre(2), 0.0
    ),
    SignalSpec(
        _AXLE + "Row2.Wheel.Right.Tire.Pressure", "uint16", "kPa", 60, 60, 0.8, 0, _tyre(3), 0.0
    ),
    SignalSpec(
        "Vehicle.LowVoltageBattery.CurrentVoltage",
        "float",
        "V",
        60,
        60,
        0.02,
        2,
        _m("lv_volts"),
        0.0,
    ),
    # Actuators that remote commands set (volta.sim.commands). Noise-free, so they draw
    # nothing from the RNG, and sent at seconds the signals above already use: a run
    # without commands keeps every other value and every batch boundary.
    *(
        SignalSpec(f"{_DOOR}{door}.IsLocked", "boolean", None, 60, 60, 0.0, 0, _row("locked"))
        for door in (
            "Row1.DriverSide",
            "Row1.PassengerSide",
            "Row2.DriverSide",
            "Row2.PassengerSide",
        )
    ),
    SignalSpec(
        _TB + "Charging.ChargeLimit", "uint8", "percent", 600, 60, 0.0, 0, _row("charge_limit")
    ),
    SignalSpec(
        _HVAC + "Temperature", "float", "Celsius", 60, 60, 0.0, 1, _row("setpoint_c"), -50, 50
    ),
    SignalSpec(_HVAC + "FanSpeed", "uint8", "percent", 60, 60, 0.0, 0, _row("fan_pct"), 0, 100),
    SignalSpec(
        "Vehicle.Body.Lights.Hazard.IsSignaling", "boolean", None, 60, 60, 0.0, 0, _m("flashing")
    ),
)


def _adas(bit: int) -> Extract:
    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        return np.asarray((fr.adas[r, c].astype(np.int64) & bit) > 0, dtype=np.float64)

    return f


# Sent only by fleets with road-surface hazards on (Telemetry(extra=ADAS_SIGNALS)): ABS, ESC
# and TCS interventions, 1 Hz while driving (volta.sim.surface's bits 1, 2, 4).
ADAS_SIGNALS: tuple[SignalSpec, ...] = tuple(
    SignalSpec(f"Vehicle.ADAS.{name}.IsEngaged", "boolean", None, 1, 0, 0.0, 0, _adas(bit))
    for name, bit in (("ABS", 1), ("ESC", 2), ("TCS", 4))
)


def _health(name: str, k: int = -1) -> Extract:
    """A component signal of `Frame.health` (volta.sim.health): (n,), (n, W) or column k."""

    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        h = fr.health
        if h is None:
            raise ValueError("the frame has no component signals (Fleet.step sets them)")
        arr = getattr(h, name)
        if isinstance(arr, list):
            return np.array([arr[i] for i in r.tolist()], dtype=object)
        if k >= 0:
            return np.asarray(arr[r, k], dtype=np.float64)
        return np.asarray(arr[r, c] if arr.ndim == 2 else arr[r], dtype=np.float64)

    return f


# Component health (volta.sim.health): cell voltages, pack temperature, brake pads and the BMS's
# software. Noise-free here (the fault model adds the sensors' noise from its own generator),
# so they draw nothing from this RNG, and sent at seconds the signals above already use.
_CELL = _TB + "CellVoltage."
_PAD = "Brake.PadWear"
HEALTH_SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(_CELL + "Max", "float", "V", 60, 60, 0.0, 3, _health("cell_max_v")),
    SignalSpec(_CELL + "Min", "float", "V", 60, 60, 0.0, 3, _health("cell_min_v")),
    SignalSpec(_CELL + "IdMax", "uint16", None, 60, 60, 0.0, 0, _health("cell_id_max")),
    SignalSpec(_CELL + "IdMin", "uint16", None, 60, 60, 0.0, 0, _health("cell_id_min")),
    SignalSpec(_TB + "Temperature.Max", "float", "Celsius", 60, 30, 0.0, 1, _health("temp_max_c")),
    SignalSpec(
        _AXLE + "Row1.Wheel.Left." + _PAD,
        "uint8",
        "percent",
        60,
        600,
        0.0,
        0,
        _health("pad_wear_pct", 0),
        0,
        100,
    ),
    SignalSpec(
        _AXLE + "Row1.Wheel.Right." + _PAD,
        "uint8",
        "percent",
        60,
        600,
        0.0,
        0,
        _health("pad_wear_pct", 1),
        0,
        100,
    ),
    SignalSpec(
        "Vehicle.OTA.BMS.SoftwareVersion",
        "string",
        None,
        600,
        600,
        0.0,
        0,
        _health("bms_version"),
    ),
    SignalSpec(
        "Vehicle.OTA.BMS.HardwareVariant",
        "string",
        None,
        600,
        600,
        0.0,
        0,
        _health("bms_variant"),
    ),
)
_ON_CHARGE_CHANGE = frozenset(
    _TB + p for p in ("Charging.IsCharging", "CurrentPower", "StateOfCharge.CurrentEnergy")
)
DTC_COUNT = "Vehicle.Diagnostics.DTCCount"  # uint8
DTC_LIST = "Vehicle.Diagnostics.DTCList"  # string[]
_DTC_PERIOD_S = 60
_INT_TYPES = {"uint8", "uint16", "uint32", "int8", "int16", "int32"}


class Telemetry:
    """Per-vehicle telemetry units of a fleet: sequence numbers, buffers, connectivity."""

    def __init__(
        self,
        vins: list[str],
        seed: int,
        batch_s: int = 10,
        rates: dict[str, tuple[int, int]] | None = None,
        gap_per_hour: float = 0.2,
        gap_mean_s: float = 180.0,
        first_seq: int = 0,
        extra: tuple[SignalSpec, ...] = (),
    ) -> None:
        n = len(vins)
        self.vins = vins
        self.batch_s = batch_s
        self.rng = np.random.default_rng([seed, 0x5167])
        # A car keeps its seq across power cycles; a rerun of the simulator into the same
        # platform must therefore continue above the seqs it sent before (see run()).
        self.seq = [first_seq] * n  # plain lists: touched once per batch, faster than numpy scalars
        self.outage_until_ms = [0] * n
        self.buffers: dict[int, list[Batch]] = {}
        self.was_online = np.zeros(n, dtype=bool)
        self.was_charging = np.zeros(n, dtype=bool)  # at the last second of the last window
        self.soh_bias = self.rng.normal(0.0, 1.0, n)  # each BMS estimates SoH a bit off
        self.gap_p = gap_per_hour * batch_s / 3600.0
        self.gap_mean_s = gap_mean_s
        rates = rates or {}
        for path in rates:
            if path not in {s.path for s in SIGNALS}:
                raise ValueError(f"unknown signal {path!r} in rates")
        self.specs = [
            SignalSpec(
                s.path,
                s.datatype,
                s.unit,
                *rates.get(s.path, (s.drive_period_s, s.park_period_s)),
                s.noise,
                s.decimals,
                s.extract,
                s.lo,
                s.hi,
            )
            for s in (*SIGNALS, *HEALTH_SIGNALS, *extra)
        ]
        self.samples_out = 0

    def batches(self, fr: Frame) -> list[Batch]:
        """Batches released in this window: new ones and late ones whose outage just ended."""
        n, W = fr.online.shape
        bs = self.batch_s
        if W % bs:
            raise ValueError(f"window of {W} s is not a multiple of the batch interval {bs} s")
        nb = W // bs
        out: list[Batch] = []
        # Millions of small tuples, none in a reference cycle: pausing the cyclic GC while they
        # are built halves the cost (it would otherwise rescan them over and over).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            if n:
                self._release(fr, self._samples(fr, nb), nb, out)
        finally:
            if gc_was_on:
                gc.enable()
        self.was_online[:] = False
        self.was_online[fr.vid] = True
        self.was_charging[:] = False
        if W:
            self.was_charging[fr.vid] = fr.charging[:, -1]
        for v in [v for v in self.buffers if self.outage_until_ms[v] <= fr.t0_ms + W * 1000]:
            out.extend(self.buffers.pop(v))
        return out

    def _samples(self, fr: Frame, nb: int) -> list[tuple[int, list[Sample]]]:
        """(row * nb + batch, samples) for every non-empty batch, in row then batch order."""
        n, W = fr.online.shape
        bs = self.batch_s
        drive_batch = np.repeat(fr.driving.reshape(n, nb, bs).any(axis=2), bs, axis=1)
        park_batch = ~drive_batch
        sec = (fr.t0_ms // 1000 + np.arange(W)) % 86_400
        wake = np.zeros((n, W), dtype=bool)
        wake[:, 0] = ~self.was_online[fr.vid]  # a waking car reports everything once
        before = np.concatenate([self.was_charging[fr.vid][:, None], fr.charging[:, :-1]], axis=1)
        flips = fr.charging != before  # charging started or stopped at this second
        masks: dict[tuple[int, int, bool], NDArray[np.bool_]] = {}
        keys_l: list[IntArray] = []
        offs_l: list[IntArray] = []
        paths: list[str] = []
        vals: list[Any] = []
        for s in self.specs:
            key = (s.drive_period_s, s.park_period_s, s.path in _ON_CHARGE_CHANGE)
            mask = masks.get(key)
            if mask is None:
                m = wake | flips if key[2] else wake.copy()
                if s.drive_period_s:
                    m |= drive_batch & (sec % s.drive_period_s == 0)
                if s.park_period_s:
                    m |= park_batch & (sec % s.park_period_s == 0)
                mask = m & fr.online
                masks[key] = mask
            r, c = np.nonzero(mask)
            if len(r) == 0:
                continue
            keys_l.append(r * nb + c // bs)
            offs_l.append((c % bs) * 1000)
            paths += [s.path] * len(r)
            vals += self._values(fr, s, r, c)
        r, c = np.nonzero(fr.online & (wake | (sec % _DTC_PERIOD_S == 0)))
        if len(r):
            for path, get in ((DTC_COUNT, len), (DTC_LIST, list)):
                keys_l.append(r * nb + c // bs)
                offs_l.append((c % bs) * 1000)
                paths += [path] * len(r)
                vals += [get(fr.dtcs[i]) for i in r.tolist()]
        if not keys_l:
            return []
        keys = np.concatenate(keys_l)
        order = np.argsort(keys, kind="stable")
        o = order.tolist()
        pick = itemgetter(*o)
        offs = np.concatenate(offs_l)[order].tolist()
        samples: list[Sample] = (
            list(zip(offs, pick(paths), pick(vals), strict=True))
            if len(o) > 1
            else [(offs[0], paths[0], vals[0])]
        )
        ks = keys[order]
        cuts = (np.flatnonzero(np.diff(ks)) + 1).tolist()
        starts, ends = [0, *cuts], [*cuts, len(ks)]
        return [
            (k, samples[a:b]) for k, a, b in zip(ks[starts].tolist(), starts, ends, strict=True)
        ]

    def _release(
        self, fr: Frame, samples: list[tuple[int, list[Sample]]], nb: int, out: list[Batch]
    ) -> None:
        """Number the window's batches and send them, or hold them while the link is down."""
        vids = fr.vid.tolist()
        draws = self.rng.random(len(samples)).tolist()  # one outage draw per batch
        seq, outage, buffers = self.seq, self.outage_until_ms, self.buffers
        step = self.batch_s * 1000
        for (key, smp), u in zip(samples, draws, strict=True):
            i, b = divmod(key, nb)
            v = vids[i]
            seq[v] += 1
            now = fr.t0_ms + b * step
            batch = Batch(1, self.vins[v], seq[v], now, smp)
            self.samples_out += len(smp)
            if outage[v] <= now and u < self.gap_p:
                dur = min(float(self.rng.exponential(self.gap_mean_s)), 1800.0)
                outage[v] = now + int(dur * 1000)
            if outage[v] > now:
                buffers.setdefault(v, []).append(batch)
            else:
                if v in buffers:
                    out.extend(buffers.pop(v))  # the connection is back: older batches first
                out.append(batch)

    def flush(self) -> list[Batch]:
        """Everything still buffered (end of a run): the connection comes back."""
        out = [b for v in sorted(self.buffers) for b in self.buffers[v]]
        self.buffers.clear()
        return out

    def _values(self, fr: Frame, s: SignalSpec, r: IntArray, c: IntArray) -> list[Any]:
        """Noisy, quantised values of one signal at (row, column) positions, in its VSS type."""
        x = s.extract(fr, r, c)
        if s.datatype == "string":
            return [str(v) for v in x]
        if s.path.endswith("StateOfHealth"):
            x = x + self.soh_bias[fr.vid[r]]
        if s.noise > 0:
            noisy = x + self.rng.normal(0.0, s.noise, len(x))
            if s.path == "Vehicle.Speed":
                noisy = np.where(x > 0, noisy, 0.0)  # a standing car reads exactly 0
            x = noisy
        x = np.clip(x, s.lo, s.hi)
        if s.path.endswith("Heading"):
            x = x % 360.0
        if s.datatype == "boolean":
            out: list[Any] = (x > 0.5).tolist()
            return out
        if s.datatype in _INT_TYPES:
            q = np.floor(x) if s.path == "Vehicle.TraveledDistance" else np.round(x)
            out = q.astype(np.int64).tolist()
            return out
        out = np.round(x, s.decimals).tolist()
        return out
