"""The simulated car as a command target: each command changes the car's state, physics and
telemetry; without commands the simulation is exactly what it was."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from volta.clock import wall_ms
from volta.commands.wire import CommandAck, CommandMessage
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import Telemetry
from volta.wire import Batch

from .simkit import Given, SimCar, fleet_config, helsinki

LIMIT = "Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit"
HAZARD = "Vehicle.Body.Lights.Hazard.IsSignaling"
CABIN = "Vehicle.Cabin.HVAC.AmbientAirTemperature"


class Collect:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def send(self, batches: Sequence[Batch]) -> None:
        self.batches.extend(batches)

    def close(self) -> None:
        return None

    def values(self, vin: str, path: str) -> list[object]:
        return [v for b in self.batches if b.vin == vin for _, p, v in b.samples if p == path]


def pinned(vehicles: int, seed: int) -> FleetConfig:
    """A fleet starting at a fixed time, 2026-01-05 04:00 UTC (cold, dark: the same physics on
    every run); only command expiry looks at the wall clock."""
    return replace(fleet_config(vehicles, seed), start_ms=1_767_585_600_000)


def msg(vin: str, kind: str, value: object = None, ttl_s: int = 300) -> CommandMessage:
    n = wall_ms()
    return CommandMessage(
        id=str(uuid.uuid4()),
        vin=vin,
        type=kind,
        value=value,
        issued_ms=n,
        expires_ms=n + ttl_s * 1000,
    )


def park_at_home(car: SimCar, v: int, soc: float) -> None:
    """Vehicle v parked, plugged in at home, not going anywhere, at `soc` percent."""
    s = car.fleet.state
    if s.charging[v]:
        car.fleet.end_charge(v, car.fleet.t)
    s.drivers[v] = replace(s.drivers[v], home_charger_kw=7.4)
    s.next_dep[v] = np.iinfo(np.int64).max // 4
    s.queue[v].clear()
    pack, j = s.pack_of(v)
    pack.energy_kwh[j] = soc / 100.0 * pack.capacity_kwh[j]
    pack.soc_pct[j] = soc
    s.cable[v] = True


def serve(car: SimCar, *messages: CommandMessage) -> list[CommandAck]:
    acks: list[CommandAck] = []
    return car.serve(list(messages), lambda vin, a: acks.append(a)) and acks


def test_a_charge_limit_stops_charging_and_charge_start_resumes() -> None:
    out = Collect()
    car = SimCar.start(pinned(vehicles=3, seed=5), out)
    vin, v = car.fleet.vins[0], 0
    park_at_home(car, v, 50.0)
    assert [a.status for a in serve(car, msg(vin, "set_charge_limit", 55))] == ["succeeded"]
    assert [a.reason for a in serve(car, msg(vin, "charge_stop"))] == ["not charging"]
    [start] = serve(car, msg(vin, "charge_start"))
    assert start.status == "succeeded" and car.fleet.state.charging[v]
    car.run(2 * 3600)
    assert not car.fleet.state.charging[v]  # stopped at the limit, cable still in
    assert 54.5 <= car.fleet.state.soc(v) <= 55.5
    assert car.fleet.state.cable[v]
    assert out.values(vin, LIMIT)[-1] == 55

    [again] = serve(car, msg(vin, "charge_start"))  # at the limit: nothing to do
    assert again.status == "failed" and "charge limit" in (again.reason or "")
    serve(car, msg(vin, "set_charge_limit", 80))
    [resumed] = serve(car, msg(vin, "charge_start"))
    assert resumed.status == "succeeded"
    car.run(600)
    assert car.fleet.state.charging[v] and car.fleet.state.soc(v) > 55.5
    [stopped] = serve(car, msg(vin, "charge_stop"))
    assert stopped.status == "succeeded" and not car.fleet.state.charging[v]
    assert sum(c.vin == vin for c in car.fleet.truth.charges) == 2  # two sessions recorded


def test_remote_climate_heats_the_cabin_and_draws_power() -> None:
    runs = []
    for climate in (False, True):
        out = Collect()
        # January in Helsinki, before dawn: cold, so the HVAC has work to do
        car = SimCar.start(pinned(vehicles=2, seed=9), out)
        vin = car.fleet.vins[0]
        park_at_home(car, 0, 70.0)
        car.fleet.state.cable[0] = False
        if climate:
            assert serve(car, msg(vin, "climate_on", 24))[0].status == "succeeded"
        else:
            assert serve(car, msg(vin, "wake"))[0].status == "succeeded"
        car.run(1200)
        runs.append((car.fleet.state.energy(0), car.fleet.state.cabin_c[0], out.values(vin, CABIN)))
    (e_off, cabin_off, _), (e_on, cabin_on, seen_on) = runs
    assert e_on < e_off - 0.05  # kWh the heating took
    assert cabin_on > cabin_off + 5.0
    last = seen_on[-1] if seen_on else None
    assert isinstance(last, float) and last > cabin_off + 5.0  # and the car reports it


def test_flash_and_lock_show_in_the_very_next_batch_of_an_asleep_car() -> None:
    out = Collect()
    car = SimCar.start(pinned(vehicles=2, seed=3), out)
    vin = car.fleet.vins[1]
    park_at_home(car, 1, 60.0)
    car.fleet.state.cable[1] = False
    car.fleet.state.parked_since[1] = -(10**6)
    car.run(900)
    sent_before = len(out.batches)
    assert serve(car, msg(vin, "flash_lights"), msg(vin, "unlock"))[1].status == "succeeded"
    car.run(60)
    fresh = [b for b in out.batches[sent_before:] if b.vin == vin]
    assert fresh, "the command woke the car"
    first = {p: v for _, p, v in fresh[0].samples}
    assert first[HAZARD] is True
    assert first["Vehicle.Cabin.Door.Row1.DriverSide.IsLocked"] is False


def test_an_expired_or_repeated_command_is_not_applied_twice() -> None:
    car = SimCar.start(pinned(vehicles=1, seed=1), Collect())
    vin = car.fleet.vins[0]
    old = msg(vin, "unlock", ttl_s=-1)
    [ack] = serve(car, old)
    assert ack.status == "failed" and "expired" in (ack.reason or "")
    assert car.fleet.state.locked[0]
    lock = msg(vin, "set_charge_limit", 60)
    first = serve(car, lock)
    car.fleet.state.charge_limit[0] = 90  # changed since (e.g. by the driver in the car)
    assert serve(car, lock) == first  # delivered again: answered again, not re-applied
    assert car.fleet.state.charge_limit[0] == 90
    assert serve(car, msg("ZZZZZZZZZZZZZZZZZ", "lock")) == []  # not one of ours


def test_without_commands_the_simulation_is_unchanged() -> None:
    def day(serve_empty: bool) -> list[Batch]:
        config = pinned(vehicles=4, seed=2)
        fleet = Fleet(config, helsinki())
        tel = Telemetry(fleet.vins, config.seed)
        out: list[Batch] = []
        car = SimCar(fleet, tel, Collect())
        while fleet.t < 4 * 3600:
            if serve_empty:
                car.serve([], lambda vin, a: None)
            out += tel.batches(fleet.step(4 * 3600))
        return out

    assert day(False) == day(True)


def test_given_link_acks_through_the_callable() -> None:
    acks: list[tuple[str, CommandAck]] = []
    link = Given([msg("X" * 17, "wake")], lambda vin, a: acks.append((vin, a)))
    assert len(link.take_commands()) == 1 and link.take_commands() == []
    link.ack("X" * 17, CommandAck(id="i", status="succeeded"))
    assert acks[0][0] == "X" * 17
