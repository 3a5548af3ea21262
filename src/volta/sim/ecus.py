"""The updatable ECUs of every simulated car, and the signals that report them.

Each car has a telematics unit (the primary, which verifies and installs updates), a BMS, an
infotainment head unit and an ADAS controller, each a `volta.ota.ecu.Ecu` with A/B slots and a
hardware variant. The BMS's variant and software are the component model's
(`volta.sim.health.Components.variant` / `.version`, which the software trouble codes depend
on): an install or a rollback on the BMS is written back there, so the codes follow the
software the car really runs. The other ECUs are drawn from this module's own generator, so a
fleet that never updates keeps every value it had.

The installed software shows as Volta's own VSS signals (`Vehicle.OTA.<ECU>.*`, the catalog's
overlay): `ecu_signals(ecus)` are sent by fleets that simulate updates (`Telemetry(extra=...)`);
the BMS's version and variant are always sent (`signals.HEALTH_SIGNALS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volta.ota.ecu import Ecu
from volta.sim.health import Components
from volta.sim.signals import Extract, SignalSpec
from volta.sim.window import Frame

__all__ = ["ECU_KINDS", "EcuKind", "FleetEcus", "ecu_signals"]

IntArray = NDArray[np.int64]
_REPORT_S = 600  # sent every 10 minutes and whenever the car wakes up (or an ECU reboots)


@dataclass(frozen=True)
class EcuKind:
    """One kind of updatable ECU: its catalog branch, image type, variants and factory software."""

    name: str  # its branch under Vehicle.OTA
    ecu_type: str  # the image repository's ECU type
    variants: tuple[tuple[str, float], ...]  # (hardware variant, share of the fleet)
    version: str  # the software it leaves the factory with


# The BMS's variants and versions are the component model's (volta.sim.health).
ECU_KINDS: tuple[EcuKind, ...] = (
    EcuKind("Telematics", "tcu", (("tcu-lte", 0.9), ("tcu-5g", 0.1)), "4.2.0"),
    EcuKind("BMS", "bms", (), ""),
    EcuKind("Infotainment", "ivi", (("ivi-hd", 0.8), ("ivi-uhd", 0.2)), "7.1.3"),
    EcuKind("ADAS", "adas", (("adas-cam", 0.6), ("adas-radar", 0.4)), "1.9.0"),
)


def serial(kind: EcuKind) -> str:
    """The name the director gives the ECU (`custom.ecu_serial`): its branch under
    Vehicle.OTA, unique within the car, which is what the campaign service's fleet inventory
    reads from the twin (`volta.ota.inventory`) and so what its director targets name."""
    return kind.name


class FleetEcus:
    """The ECUs of N cars (indexed like the fleet), the first of each car its primary."""

    def __init__(self, vins: Sequence[str], seed: int, parts: Components) -> None:
        rng = np.random.default_rng([seed, 0x0EC5])  # its own: no other draw moves
        self.parts = parts
        self.cars: list[list[Ecu]] = [[] for _ in vins]
        for kind in ECU_KINDS:
            if kind.ecu_type == "bms":
                for v in range(len(vins)):
                    self.cars[v].append(
                        Ecu.built(serial(kind), kind.name, "bms", parts.variant[v],
                                  parts.version[v])
                    )  # fmt: skip
                continue
            names = [name for name, _ in kind.variants]
            shares = np.array([share for _, share in kind.variants])
            drawn = rng.choice(len(names), size=len(vins), p=shares / shares.sum()).tolist()
            for v in range(len(vins)):
                self.cars[v].append(
                    Ecu.built(serial(kind), kind.name, kind.ecu_type, names[drawn[v]],
                              kind.version)
                )  # fmt: skip

    def of(self, v: int) -> list[Ecu]:
        """Car v's ECUs (changed in place by its primary)."""
        return self.cars[v]

    def ecu(self, v: int, name: str) -> Ecu:
        """Car v's ECU under `Vehicle.OTA.<name>`."""
        return next(e for e in self.cars[v] if e.name == name)

    def settled(self, v: int) -> None:
        """Car v's ECUs have changed (an install, a rollback): the component model learns what
        the BMS now runs."""
        version = self.ecu(v, "BMS").running.version
        if version is not None:
            self.parts.version[v] = version

    def value(self, v: int, name: str, what: str) -> str:
        """Signal `Vehicle.OTA.<name>.<what>` of car v."""
        ecu = self.ecu(v, name)
        if what == "HardwareVariant":
            return ecu.hardware_variant
        if what == "ActiveSlot":
            return ecu.active
        return ecu.running.version or ""


def _reads(ecus: FleetEcus, name: str, what: str) -> Extract:
    def f(fr: Frame, r: IntArray, c: IntArray) -> NDArray[Any]:
        vid = fr.vid[r].tolist()
        return np.array([ecus.value(v, name, what) for v in vid], dtype=object)

    return f


def ecu_signals(ecus: FleetEcus) -> tuple[SignalSpec, ...]:
    """The ECU signals a fleet that simulates updates sends (beyond the BMS's version and
    variant, which every fleet sends): strings, noise-free, so they draw nothing from the
    telemetry's generator, at seconds other signals already use."""
    out = []
    for kind in ECU_KINDS:
        whats = ("ActiveSlot",) if kind.ecu_type == "bms" else (
            "SoftwareVersion", "HardwareVariant", "ActiveSlot"
        )  # fmt: skip
        for what in whats:
            path = f"Vehicle.OTA.{kind.name}.{what}"
            out.append(
                SignalSpec(path, "string", None, _REPORT_S, _REPORT_S, 0.0, 0,
                           _reads(ecus, kind.name, what))
            )  # fmt: skip
    return tuple(out)
