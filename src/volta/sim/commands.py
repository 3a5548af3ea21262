"""The vehicle side of remote commands: a simulated car applies a command to its state.

`serve_commands(fleet, tel, link)` runs between two windows: it takes the commands the link
received (MQTT subscription or HTTP pull), applies each to the fleet's state (`FleetState`) at
the current simulated second and answers with an ack. What a command changes shows in the car's next
telemetry: the car wakes up (if asleep) and reports its full state once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from volta.clock import Clock, wall_ms
from volta.commands.wire import CommandAck, CommandMessage

if TYPE_CHECKING:
    from volta.commands.service import CommandService
    from volta.sim.fleet import Fleet
    from volta.sim.signals import Telemetry
    from volta.sim.state import FleetState

__all__ = ["CommandLink", "InprocCommandLink", "apply_command", "serve_commands"]

CLIMATE_S = 30 * 60  # remote climate runs this long, as most cars limit it
FLASH_S = 10
_REMEMBER = 1024  # ids of recent commands, so a command delivered twice is applied once


class CommandLink(Protocol):
    """How commands reach the simulated cars and their acks get back."""

    def take_commands(self) -> list[CommandMessage]: ...

    def ack(self, vin: str, ack: CommandAck) -> None: ...


def apply_command(
    s: FleetState,
    v: int,
    t: int,
    msg: CommandMessage,
    end_charge: Callable[[int, int], None],
) -> tuple[bool, str | None]:
    """Apply one command to vehicle `v` at second `t`: (succeeded, reason). A stopped charge
    is closed by `end_charge(v, t)` (the fleet's, which records it)."""
    kind = msg.type
    if kind in ("lock", "unlock"):
        s.locked[v] = kind == "lock"
    elif kind == "climate_on":
        value = msg.value if isinstance(msg.value, int | float) else 21.0
        s.setpoint_c[v] = float(value)
        s.climate_until[v] = t + CLIMATE_S
    elif kind == "climate_off":
        s.climate_until[v] = -1
    elif kind == "set_charge_limit":
        if not isinstance(msg.value, int | float) or isinstance(msg.value, bool):
            return False, "set_charge_limit needs a number"
        s.charge_limit[v] = float(msg.value)
        session = s.sessions.get(v)
        if session is not None:  # an open session stops at the new limit
            session.target_soc = min(80.0, float(msg.value)) if session.dc else float(msg.value)
    elif kind == "charge_start":
        if s.charging[v]:
            return True, "already charging"
        if s.driving[v]:
            return False, "the vehicle is driving"
        if not s.cable[v]:
            return False, "no charging cable is connected"
        limit = float(s.charge_limit[v])
        if s.soc(v) >= limit - 0.5:
            return False, f"the battery is already at its charge limit ({limit:g} %)"
        kw = s.drivers[v].home_charger_kw
        if kw <= 0:
            return False, "the connected charger supplies no power"
        s.plug(v, t, dc=False, kw=kw, target=limit, charger="home")
    elif kind == "charge_stop":
        if not s.charging[v]:
            return False, "not charging"
        end_charge(v, t)
    elif kind == "flash_lights":
        s.flash_until[v] = t + FLASH_S
    elif kind != "wake":
        return False, f"unsupported command type {kind!r}"
    return True, None


def serve_commands(
    fleet: Fleet,
    tel: Telemetry,
    link: CommandLink,
    *,
    clock: Clock = wall_ms,
    seen: OrderedDict[str, CommandAck] | None = None,
) -> list[CommandAck]:
    """Apply what `link` received, ack each; returns the acks sent. `seen` (kept by the
    caller across windows) makes a command delivered twice answer with the first result."""
    seen = seen if seen is not None else OrderedDict()
    index = {vin: i for i, vin in enumerate(fleet.vins)}
    sent = []
    for msg in link.take_commands():
        v = index.get(msg.vin)
        if v is None:
            continue  # another fleet's car
        ack = seen.get(msg.id)
        if ack is None:
            now = clock()
            reason: str | None = "expired before the vehicle could apply it"
            ok = False
            if now < msg.expires_ms:
                ok, reason = apply_command(fleet.state, v, fleet.t, msg, fleet.charge_finished)
                # executing wakes the car; it reports everything once in its next batch
                s = fleet.state
                stay = max(fleet.t + fleet.config.awake_s, int(s.climate_until[v]))
                s.awake_until[v] = max(int(s.awake_until[v]), stay)
                tel.was_online[v] = False
            ack = CommandAck(
                id=msg.id, status="succeeded" if ok else "failed", reason=reason, ts=now
            )
            seen[msg.id] = ack
            while len(seen) > _REMEMBER:
                seen.popitem(last=False)
        link.ack(msg.vin, ack)
        sent.append(ack)
    return sent


class InprocCommandLink:
    """The embedded platform's command service, called in-process (`volta demo`): each call
    pulls the open commands of the fleet's cars, as their HTTP pull would."""

    def __init__(self, service: CommandService, vins: list[str]) -> None:
        self.service = service
        self.vins = vins
        self.refused = 0

    def take_commands(self) -> list[CommandMessage]:
        from volta.commands.service import to_message

        return [to_message(c) for vin in self.vins for c in self.service.pending(vin)]

    def ack(self, vin: str, ack: CommandAck) -> None:
        from volta.errors import VoltaError

        try:
            self.service.ack(vin, ack.id, ack.status, ack.reason)
        except VoltaError:  # e.g. it expired meanwhile: the platform has the last word
            self.refused += 1
