"""A simulation run: fleet → telemetry → sender, paced to a speed-up, with a summary.

The clock and the sleep are passed in, so tests run as fast as possible and the demo in real
time with the same code.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from volta.commands.wire import CommandAck
from volta.geo.graph import RoadGraph
from volta.sim.commands import CommandLink, serve_commands
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.senders import Sender
from volta.sim.signals import Telemetry
from volta.sim.truth import Truth
from volta.wire import Batch

__all__ = ["RunSummary", "catch_up_clock", "run"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did."""

    vehicles: int
    simulated_s: int
    simulated_km: float
    drives: int
    charges: int
    batches: int
    samples: int
    wall_s: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "vehicles": self.vehicles,
            "simulated_s": self.simulated_s,
            "simulated_km": round(self.simulated_km, 1),
            "drives": self.drives,
            "charges": self.charges,
            "batches": self.batches,
            "samples": self.samples,
            "wall_s": round(self.wall_s, 3),
        }


def catch_up_clock(
    behind_s: float, clock: Callable[[], float] = time.monotonic
) -> Callable[[], float]:
    """A clock for a paced `run` whose fleet starts `behind_s` seconds in the past.

    `run` paces sample times against its FIRST reading of the clock; that reading lies
    `behind_s` in the past, so the run sends its first `behind_s` simulated seconds at once
    (history for the charts), then every later second as it ends on the wall clock."""
    first = [True]

    def read() -> float:
        if first[0]:
            first[0] = False
            return clock() - behind_s
        return clock()

    return read


# While a paced run waits, the cars look for remote commands this often (wall seconds).
COMMAND_POLL_S = 1.0


def _wait_until(
    target: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    between: Callable[[], object] | None,
) -> None:
    """Sleep until `target` on `clock`; with `between`, wake up every COMMAND_POLL_S for it."""
    while (wait := target - clock()) > 0:
        sleep(wait if between is None else min(wait, COMMAND_POLL_S))
        if between is not None:
            between()


def _paced(
    out: list[Batch],
    sender: Sender,
    start: float,
    start_ms: int,
    batch_s: int,
    speedup: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    between: Callable[[], object] | None = None,
) -> None:
    """Send each batch once its last second has passed on the (scaled) clock, as a car would;
    `between` runs at least every COMMAND_POLL_S while waiting. Batches already due (a run
    catching up with its history) go in one send: one group commit, not one per second."""
    due: list[Batch] = []
    for ts, group in groupby(sorted(out, key=lambda b: b.ts), key=lambda b: b.ts):
        target = start + (ts - start_ms + batch_s * 1000) / 1000 / speedup
        if due and target > clock():  # the next ones must wait: what is due goes now
            sender.send(due)
            due = []
        _wait_until(target, clock, sleep, between)
        due.extend(group)
    if due:
        sender.send(due)


def run(
    config: FleetConfig,
    seconds: int,
    sender: Sender | None,
    *,
    batch_s: int = 10,
    speedup: float = 0.0,
    graph: RoadGraph | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
    on_batches: Callable[[list[Batch]], None] | None = None,
    first_seq: int = 0,
    commands: CommandLink | None = None,
) -> tuple[RunSummary, Truth]:
    """Simulate `seconds` of the fleet; speedup 0 = as fast as possible, 1 = real time.

    `first_seq` is where every vehicle's batch numbering starts: 0 gives byte-identical reruns;
    a run that feeds a platform which may already hold an earlier run's batches passes
    `config.start_ms`: a vehicle sends at most one batch per simulated second, so an earlier
    run that started before this one never reached this run's first seq.

    With `commands` (e.g. an MQTT or HTTP sender made with commands on), the cars apply the
    remote commands it received between two windows and acknowledge them."""
    start = clock()
    fleet = Fleet(config, graph)
    tel = Telemetry(fleet.vins, config.seed, batch_s=batch_s, first_seq=first_seq)
    n_batches = 0
    seen: OrderedDict[str, CommandAck] = OrderedDict()

    def serve() -> None:
        if commands is not None:
            serve_commands(fleet, tel, commands, seen=seen)

    between = serve if commands is not None else None
    while fleet.t < seconds:
        serve()
        # A paced run taking commands keeps to one window at a time: a parked fleet's window
        # may stretch to the next departure (hours), and a command must act on the car's
        # present, in the next window, not after it. (Without commands, windows stretch as in
        # an unpaced run, whose bytes a paced one repeats.)
        short = speedup > 0 and commands is not None
        frame = fleet.step(min(seconds, fleet.t + fleet.window_s) if short else seconds)
        out = tel.batches(frame)
        if speedup > 0 and sender is not None:
            _paced(out, sender, start, fleet.start_ms, batch_s, speedup, clock, sleep, between)
            # A window with nothing to send (every car asleep) still lasts its time: the fleet
            # never runs ahead of the clock, so a command acts on the car's present.
            _wait_until(start + fleet.t / speedup, clock, sleep, between)
        elif sender is not None and out:
            sender.send(out)
        if on_batches is not None and out:
            on_batches(out)
        n_batches += len(out)
        if progress is not None:
            progress(fleet.t)
    rest = tel.flush()
    if sender is not None and rest:
        sender.send(rest)
    if on_batches is not None and rest:
        on_batches(rest)
    n_batches += len(rest)
    if sender is not None:
        sender.close()
    truth = fleet.finish()
    summary = RunSummary(
        vehicles=config.vehicles,
        simulated_s=fleet.t,
        simulated_km=fleet.distance_m() / 1000.0,
        drives=len(truth.drives),
        charges=len(truth.charges),
        batches=n_batches,
        samples=tel.samples_out,
        wall_s=clock() - start,
    )
    return summary, truth
