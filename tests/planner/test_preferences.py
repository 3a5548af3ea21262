"""The driver's preferences in the search: chargers the filters refuse are passed, never used,
and "prefer fewer stops" trades minutes for stops at the stated price, never more.

Helsinki's real extract with the scaled Kona and seeded DC sites of `test_search`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from volta.geo.osm import load_roads
from volta.planner.alternatives import alternatives, sequence
from volta.planner.energy import edge_energy_wh
from volta.planner.filters import ChargerFilter, connector_kind
from volta.planner.network import RoadNetwork
from volta.planner.plan import NoFeasiblePlan, Plan, PlanError, Site, TripRequest
from volta.planner.scenarios import scaled, seeded_sites, seeded_trips
from volta.planner.search import SiteIndex, plan_trip

from .test_search import KONA, check_consistent

MODEL = scaled(KONA, 0.004)


@pytest.fixture(scope="module")
def index() -> SiteIndex:
    helsinki = RoadNetwork.from_road_graph(load_roads())
    sites = seeded_sites(helsinki, 12, 0.004, seed=1)
    energy = edge_energy_wh(MODEL, helsinki.speed_mps, helsinki.grade, helsinki.length_m)
    return SiteIndex(helsinki, MODEL, sites, energy)


@pytest.fixture(scope="module")
def with_stops(index: SiteIndex) -> list[tuple[TripRequest, Plan]]:
    """Seeded trips (start SoC lowered) whose fastest plan stops twice or more."""
    out = []
    for req in seeded_trips(index.net, 28, 2):
        req = replace(req, start_soc=req.start_soc * 0.5 + 5)
        try:
            plan = plan_trip(index, req)
        except PlanError:
            continue
        if len(plan.stops) >= 2:
            out.append((req, plan))
    assert len(out) >= 6
    return out


def test_refused_chargers_are_never_stops(
    index: SiteIndex, with_stops: list[tuple[TripRequest, Plan]]
) -> None:
    for req, best in with_stops:
        used = frozenset(s.site.node for s in best.stops)
        try:
            other = plan_trip(index, replace(req, no_charge=used))
        except NoFeasiblePlan:
            continue
        check_consistent(other, MODEL)
        assert not {s.site.node for s in other.stops} & used
        assert other.total_s >= best.total_s - 1e-6  # the best had every choice


def test_no_accepted_charger_is_no_plan_with_the_reason(
    index: SiteIndex, with_stops: list[tuple[TripRequest, Plan]]
) -> None:
    req, _ = with_stops[0]
    with pytest.raises(NoFeasiblePlan, match="no charger reachable from"):
        plan_trip(index, replace(req, no_charge=frozenset(int(n) for n in index.nodes)))


def test_fewer_stops_cost_at_most_the_penalty_per_stop_saved(
    index: SiteIndex, with_stops: list[tuple[TripRequest, Plan]]
) -> None:
    penalty = 120.0
    traded = 0
    for req, best in with_stops:
        fewer = plan_trip(index, replace(req, stop_penalty_s=penalty))
        check_consistent(fewer, MODEL)
        saved = len(best.stops) - len(fewer.stops)
        assert saved >= 0
        # the answer reports real minutes: the penalty is a search cost only
        assert fewer.total_s - best.total_s <= penalty * saved + 1.0
        traded += saved > 0 and fewer.total_s > best.total_s + 30
    assert traded >= 1, "no trip traded time for a stop less"


def test_filters_match_power_plug_kinds_of_every_file_and_networks() -> None:
    ccs = Site(1, 150.0, "a", ("J1772COMBO", "CHADEMO"), "Electrify America")
    osm = Site(2, 350.0, "b", ("type2_combo",), "Ionity")
    bare = Site(3, 350.0, "c")  # the OSM extract's own: no sockets or network known
    assert connector_kind("IEC_62196_T2_COMBO") == "ccs" and connector_kind("x") == "other"
    f = ChargerFilter.of(min_power_kw=200)
    assert [f.matches(s) for s in (ccs, osm, bare)] == [False, True, True]
    f = ChargerFilter.of(connectors=["ccs"])
    assert [f.matches(s) for s in (ccs, osm, bare)] == [True, True, False]
    f = ChargerFilter.of(connectors=["chademo"], networks=["electrify america"])
    assert [f.matches(s) for s in (ccs, osm, bare)] == [True, False, False]
    assert f.describe() == "connector chademo, network electrify america"
    assert not ChargerFilter().active and ChargerFilter().matches(bare)


def test_alternatives_are_other_charger_sequences_within_the_stated_margin(
    index: SiteIndex, with_stops: list[tuple[TripRequest, Plan]]
) -> None:
    found = 0
    for req, best in with_stops:
        others = alternatives(index, req, best, within=0.05, limit=2)
        seqs = [sequence(best), *(sequence(p) for p in others)]
        assert len(set(seqs)) == len(seqs) and len(others) <= 2
        totals = [p.total_s for p in others]
        assert totals == sorted(totals)
        for plan in others:
            check_consistent(plan, MODEL)
            assert best.total_s - 1e-6 <= plan.total_s <= best.total_s * 1.05
        found += len(others)
    assert found >= 3, "too few seeded trips had a close alternative"
