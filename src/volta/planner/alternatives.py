"""Alternatives to the best plan: other charger sequences nearly as fast.

A driver may prefer a station with a café, or one network, over a few minutes. The best plan's
stops are refused one at a time (as a charger filter would) and the search run again; every
plan with a charger sequence not yet seen and a total time within `within` of the best's is an
alternative. Each refusal is one more search, so a plan with s stops costs s more.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import replace

from volta.planner.plan import Plan, PlanError, TripRequest
from volta.planner.search import SiteIndex, plan_trip

__all__ = ["ALTERNATIVES_WITHIN", "alternatives", "sequence"]

ALTERNATIVES_WITHIN = 0.05  # "close": within 5 % of the best total time


def sequence(plan: Plan) -> tuple[int, ...]:
    """The charger nodes a plan stops at, in order."""
    return tuple(s.site.node for s in plan.stops)


def alternatives(
    index: SiteIndex, req: TripRequest, best: Plan, within: float = ALTERNATIVES_WITHIN,
    limit: int = 2,
) -> list[Plan]:  # fmt: skip
    """Up to `limit` plans through other charger sequences, at most `within` (a fraction) slower
    than `best`, fastest first; none when the best needs no stop."""
    seen = {sequence(best)}
    found: list[Plan] = []
    for stop in best.stops:
        try:
            plan = plan_trip(index, replace(req, no_charge=req.no_charge | {stop.site.node}))
        except PlanError:
            continue
        if sequence(plan) in seen or plan.total_s > best.total_s * (1.0 + within):
            continue
        seen.add(sequence(plan))
        found.append(plan)
    return sorted(found, key=lambda p: p.total_s)[:limit]
