"""The demo's fleet: which fleet a data directory holds, and when its day is.

A data directory gets one fleet the first time `volta demo` runs on it: its seed, size and
start are written to `demo-fleet.json`, and every later start on that directory continues the
same fleet (same cars, same past) instead of laying a second history over the first.

The fleet's first day is planned so that the demo opens on a weekday afternoon whatever the
hour: the drivers' clock runs ahead of the local one (`FleetConfig.day_shift_s`), the fleet
starts `HISTORY_S` before now (that history is sent at once), and a few scenes are staged to
be under way at the moment the demo opens (`volta.sim.showcase`). Sample times stay the real
ones, so the simulated clock never passes the wall clock.

Pure but for `open_fleet`, which reads and writes the file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from volta.errors import ConfigError
from volta.sim.fleet import FleetConfig

__all__ = ["FLEET_FILE", "HISTORY_S", "OPENS_AT_S", "DemoFleet", "open_fleet", "plan"]

FLEET_FILE = "demo-fleet.json"
# The history sent at once on the first start: the drivers' day from 07:15, morning commutes
# included (50 cars: ~80,000 batches, ~24 s of CPU through the embedded platform).
HISTORY_S = 10 * 3600
# The drivers' local time of day when the demo first opens: the evening commute under way,
# cars plugging in at home.
OPENS_AT_S = 17 * 3600 + 15 * 60
_DAY_S = 86_400
_WINDOW_MS = 60_000  # the demo's compute window: the fleet's start is a whole one
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class DemoFleet:
    """The fleet a data directory holds. `start_ms` is a whole minute; `showcase_s` the fleet
    second its scenes are set for (the first start's "now")."""

    vehicles: int
    seed: int
    start_ms: int
    day_shift_s: int
    showcase_s: int

    def config(self) -> FleetConfig:
        # A one-minute window keeps the simulated clock within a minute of the wall clock.
        return FleetConfig(
            vehicles=self.vehicles,
            seed=self.seed,
            start_ms=self.start_ms,
            window_s=_WINDOW_MS // 1000,
            day_shift_s=self.day_shift_s,
            showcase_s=self.showcase_s,
        )


def _weekday(local_ms: int) -> int:
    """0 = Monday (1970-01-01 was a Thursday), as the fleet's plans count."""
    return (local_ms // (_DAY_S * 1000) + 3) % 7


def plan(now_ms: int, vehicles: int, seed: int, utc_offset_s: int) -> DemoFleet:
    """A new fleet whose history ends at `now_ms` on a weekday at `OPENS_AT_S` of its drivers'
    day; `utc_offset_s` is the map's local time minus UTC (`volta.sim.fleet.local_offset_s`)."""
    start_ms = now_ms - HISTORY_S * 1000
    start_ms -= start_ms % _WINDOW_MS
    local_ms = now_ms + utc_offset_s * 1000
    shift_s = (OPENS_AT_S - (local_ms // 1000) % _DAY_S) % _DAY_S
    while _weekday(local_ms + shift_s * 1000) >= 5:  # a weekday: people commute
        shift_s += _DAY_S
    return DemoFleet(
        vehicles=vehicles,
        seed=seed,
        start_ms=start_ms,
        day_shift_s=shift_s,
        showcase_s=(now_ms - start_ms) // 1000,
    )


def open_fleet(
    data_dir: Path, now_ms: int, vehicles: int | None, seed: int | None, utc_offset_s: int
) -> tuple[DemoFleet, bool]:
    """The data directory's fleet and whether it is an earlier one (resumed); a new one is
    planned (50 vehicles, seed 0 unless given) and written. Asking an existing directory for
    another size or seed is a `ConfigError`: that would be a different fleet."""
    path = data_dir / FLEET_FILE
    if not path.exists():
        fleet = plan(now_ms, 50 if vehicles is None else vehicles, seed or 0, utc_offset_s)
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"format": _FORMAT, **asdict(fleet)}, indent=1) + "\n")
        return fleet, False
    try:
        raw = json.loads(path.read_text())
        fleet = DemoFleet(**{k: int(raw[k]) for k in DemoFleet.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} is not a demo fleet file ({e}); move it away") from None
    for name, asked in (("vehicles", vehicles), ("seed", seed)):
        if asked is not None and asked != getattr(fleet, name):
            raise ConfigError(
                f"{data_dir} holds a demo fleet of {fleet.vehicles} vehicles with seed"
                f" {fleet.seed}; start without --{name} to continue it, or use another"
                f" --data-dir for another fleet"
            )
    return fleet, True
