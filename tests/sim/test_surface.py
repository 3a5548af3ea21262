"""Road-surface hazards in the simulator: off changes nothing, on they follow the weather and
the roads, and their truth says where and when each one was."""

from __future__ import annotations

import numpy as np

from volta.sim.environment import Climate
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import ADAS_SIGNALS, Telemetry
from volta.sim.surface import EVERY_HAZARD, Surface, SurfaceRates
from volta.sim.trips import drive_profile, make_driver, make_places, node_path
from volta.wire import Batch

from .simrun import helsinki

MARCH = 1_774_396_800_000  # 2026-03-25T00:00Z: freezing at night, thawing by day


def _run(rates: SurfaceRates, hours: float = 3.0, seed: int = 4) -> tuple[Fleet, list[Batch]]:
    config = FleetConfig(
        vehicles=6,
        seed=seed,
        start_ms=MARCH + 4 * 3_600_000,
        faults=FaultRates(0.0, 0.0),
        pothole_per_km=3.0,
        surface=rates,
    )
    fleet = Fleet(config, helsinki())
    tel = Telemetry(fleet.vins, seed, extra=ADAS_SIGNALS if rates.on else ())
    out: list[Batch] = []
    while fleet.t < hours * 3600:
        out += tel.batches(fleet.step(int(hours * 3600)))
    fleet.finish()
    return fleet, out


def test_with_surface_off_the_truth_has_only_potholes_and_no_adas_signal_is_sent() -> None:
    fleet, batches = _run(SurfaceRates(), hours=2.0)
    assert {h.kind for h in fleet.truth.hazards} == {"pothole"}
    assert all(h.start_ms == h.end_ms == 0 for h in fleet.truth.hazards)
    assert not any("ADAS" in str(s[1]) for b in batches for s in b.samples)


def test_ice_forms_below_freezing_on_wet_days_and_melts_above() -> None:
    g = helsinki()
    climate = Climate(4, float(np.mean(g.lat)), float(np.mean(g.lon)))
    surface = Surface(g, 4, SurfaceRates(ice_per_km=1.0, wet_p=1.0), climate, MARCH)
    episodes = [h for h in surface.truth(MARCH + 2 * 86_400_000) if h.kind == "ice"]
    assert len(episodes) >= len(surface.ice) * 2  # two frosty nights, every place wet
    for h in episodes:
        assert climate.air_c(h.start_ms) <= -0.5
        if h.end_ms:
            assert climate.air_c(h.end_ms) > 0.5
            assert climate.air_c(h.end_ms - 600_000) <= 0.5  # melted at the first warm step


def test_cars_brake_for_a_speed_bump_and_feel_it() -> None:
    g = helsinki()
    climate = Climate(4, float(np.mean(g.lat)), float(np.mean(g.lon)))
    surface = Surface(g, 4, SurfaceRates(bumps_per_km=0.5), climate, MARCH)
    bump = surface.bumps[0]
    u, v = int(g.src[bump.edge]), int(g.dst[bump.edge])
    path = node_path(g, [g.nearest_node(g.lat[u] + 0.004, g.lon[u]), u, v, 0])
    assert path is not None
    rng = np.random.default_rng(1)
    driver = make_driver(make_places(g, 4), rng)
    edges = g.edges_of(path)
    p = drive_profile(g, path, driver, rng, None, surface.caps(edges, MARCH))
    p = surface.mark(p, edges, "VIN", 0, MARCH)
    bumps = [e for e in surface.events if e.kind == "speed_bump"]
    assert bump.hazard_id in {e.hazard_id for e in bumps}
    for event in bumps:
        sec = (event.ts_ms - MARCH) // 1000
        assert p.speed[sec] <= 3.0
        assert 4.5 <= p.vert_acc[sec] <= 7.0


def test_hazard_world_is_deterministic_and_ice_is_felt_only_while_it_is_there() -> None:
    a, batches = _run(EVERY_HAZARD)
    b, _ = _run(EVERY_HAZARD)
    assert a.truth.events == b.truth.events and a.truth.hazards == b.truth.hazards
    kinds = {e.kind for e in a.truth.events}
    assert {"pothole", "pothole_straddled", "ice"} <= kinds
    episodes = [h for h in a.truth.hazards if h.kind == "ice"]
    for e in (e for e in a.truth.events if e.kind == "ice"):
        assert any(
            h.hazard_id == e.hazard_id
            and h.start_ms <= e.ts_ms
            and (h.end_ms == 0 or e.ts_ms < h.end_ms)
            for h in episodes
        )
    engaged = [s for bt in batches for s in bt.samples if "ADAS" in str(s[1]) and s[2] is True]
    assert engaged
