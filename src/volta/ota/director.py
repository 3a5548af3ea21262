"""The director: what each vehicle must install now, as per-vehicle signed targets.

All vehicles share the director's root (offline keys); each vehicle has its own targets,
snapshot and timestamp, signed online and short-lived. A director target names an image of the
image repository (same path, length and hashes) and, in `custom`, the ECU that must install it
(`ecu_serial`), its `hardware_variant` and the `version`. The vehicle installs only what both
repositories agree on, so a compromised director key alone cannot install anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tuf.api.metadata import TargetFile

from volta.clock import Clock
from volta.ota.keyring import Keyring
from volta.ota.roles import DIRECTOR_LIFETIMES, Lifetimes, Roles, RootChain
from volta.ota.targets import custom_of


@dataclass(frozen=True)
class Assignment:
    """One image for one ECU of a vehicle."""

    ecu_serial: str
    target: TargetFile


class Director:
    """The per-vehicle targets of every vehicle, under one root."""

    def __init__(
        self,
        root: RootChain,
        keyring: Keyring,
        clock: Clock,
        lifetimes: Lifetimes = DIRECTOR_LIFETIMES,
        vehicles: Mapping[str, Roles] | None = None,
    ) -> None:
        self.root = root
        self.keyring = keyring
        self.lifetimes = lifetimes
        self.clock = clock
        self.vehicles: dict[str, Roles] = dict(vehicles or {})

    @classmethod
    def create(
        cls, keyring: Keyring, clock: Clock, lifetimes: Lifetimes = DIRECTOR_LIFETIMES
    ) -> Director:
        """A new director: root version 1 and no vehicle yet."""
        root = RootChain.create(keyring.public, keyring.signers["root"], lifetimes.root, clock)
        return cls(root, keyring, clock, lifetimes)

    def vehicle(self, vin: str) -> Roles:
        """The roles of `vin`, created (with empty targets) on first use."""
        roles = self.vehicles.get(vin)
        if roles is None:
            roles = Roles(self.root, self.keyring.signers, self.lifetimes, self.clock)
            roles.publish()
            self.vehicles[vin] = roles
        return roles

    def assign(self, vin: str, assignments: Sequence[Assignment]) -> None:
        """Make `assignments` what `vin` must install now (replacing earlier ones)."""
        roles = self.vehicle(vin)
        targets: dict[str, TargetFile] = {}
        for a in assignments:
            target = TargetFile(a.target.length, dict(a.target.hashes), a.target.path)
            target.unrecognized_fields["custom"] = {
                **custom_of(a.target),
                "ecu_serial": a.ecu_serial,
            }
            targets[target.path] = target
        roles.targets.signed.targets = targets
        roles.publish()

    def file(self, vin: str, name: str) -> bytes | None:
        """The metadata file `name` of `vin` (None for a vehicle the director does not know)."""
        roles = self.vehicles.get(vin)
        return roles.metadata_file(name) if roles is not None else None
