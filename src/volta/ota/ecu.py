"""`Ecu`: an updatable ECU of a (simulated) vehicle, with an A and a B slot.

An update is written into the slot the ECU is not running from; the ECU then switches to it,
and switches back if the new software fails its health check. The old slot is untouched until
the next update, which is what makes the rollback safe. This is the vehicle's hardware, so its
state changes in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SLOTS = ("A", "B")


@dataclass(frozen=True)
class Slot:
    """What one slot holds: a software version and the SHA-256 of its image."""

    version: str | None = None
    sha256: str | None = None


@dataclass
class Ecu:
    """One ECU: its identity, its hardware variant and its two slots."""

    serial: str
    name: str  # its branch under Vehicle.OTA in the signal catalog: Telematics, BMS, ...
    ecu_type: str  # the image repository's ECU type: tcu, bms, ivi, adas
    hardware_variant: str
    slots: dict[str, Slot] = field(default_factory=lambda: {s: Slot() for s in SLOTS})
    active: str = "A"

    @classmethod
    def built(
        cls, serial: str, name: str, ecu_type: str, hardware_variant: str, version: str
    ) -> Ecu:
        """An ECU as it leaves the factory: `version` in slot A, slot B empty."""
        return cls(serial, name, ecu_type, hardware_variant, {"A": Slot(version), "B": Slot()})

    @property
    def inactive(self) -> str:
        return "B" if self.active == "A" else "A"

    @property
    def running(self) -> Slot:
        return self.slots[self.active]

    def write_inactive(self, slot: Slot) -> None:
        """Install into the slot the ECU is not running from."""
        self.slots[self.inactive] = slot

    def switch(self) -> None:
        """Boot from the other slot (after an install, and again to roll back)."""
        self.active = self.inactive

    def signals(self) -> list[tuple[str, str]]:
        """The ECU's state as Volta's own VSS signals (`Vehicle.OTA.<name>.*`)."""
        branch = f"Vehicle.OTA.{self.name}"
        found = [
            (f"{branch}.HardwareVariant", self.hardware_variant),
            (f"{branch}.ActiveSlot", self.active),
        ]
        if self.running.version is not None:
            found.append((f"{branch}.SoftwareVersion", self.running.version))
        return found
