"""Road sensing checked against the simulator's truth: figures per kind of hazard.

A simulated fleet drives the Helsinki graph with every kind of hazard on; its telemetry (the
VSS samples, with noise and late batches) goes through `RoadSensing` batch by batch; what is
published each minute is compared with the truth. `python -m volta.hazards.evaluation
[VEHICLES HOURS]` prints the figures (docs/hazards.md quotes them). Shared by
`tests/hazards/test_against_truth.py` and `bench/hazards_week.py`; the server never imports it
(it runs the simulator).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from volta.geo.distance import haversine_m
from volta.geo.osm import load_roads
from volta.hazards.detect import DetectConfig
from volta.hazards.matching import RoadMatcher
from volta.hazards.model import Hazard, Kind
from volta.hazards.sensing import RoadSensing
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import ADAS_SIGNALS, Telemetry
from volta.sim.surface import EVERY_HAZARD
from volta.sim.truth import HazardTruth, Truth

START_MS = 1_774_396_800_000  # 2026-03-25T00:00Z: below freezing at night, thawing by day
MATCH_M = {Kind.POTHOLE: 25.0, Kind.ROUGH_ROAD: 80.0, Kind.SLIPPERY: 100.0, Kind.SLOWDOWN: 50.0}
_TRUTH_KIND = {
    Kind.POTHOLE: "pothole",
    Kind.ROUGH_ROAD: "rough_road",
    Kind.SLIPPERY: "ice",
    Kind.SLOWDOWN: "slowdown",
}


@dataclass
class Seen:
    """A published hazard over the run: when first and last published, where."""

    hazard: Hazard
    first_ms: int
    last_ms: int


@dataclass
class Figures:
    """The evaluation's outcome."""

    vehicles: int
    hours: float
    samples: int
    seconds: float
    seen: dict[str, Seen] = field(default_factory=dict)
    truth: Truth = field(default_factory=Truth)
    drops: dict[str, int] = field(default_factory=dict)
    start_ms: int = START_MS
    _passes: dict[tuple[tuple[str, ...], float], dict[int, list[tuple[int, str]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def published(self, kind: Kind) -> list[Seen]:
        return [s for s in self.seen.values() if s.hazard.kind == kind]

    def truths(self, kind: str) -> list[HazardTruth]:
        return [h for h in self.truth.hazards if h.kind == kind]

    def passed_by(
        self, kinds: tuple[str, ...], min_value: float = 0.0
    ) -> dict[int, list[tuple[int, str]]]:
        """hazard id -> [(ts, vin)] of the cars that met it (with an event value, e.g. a jolt
        in m/s², of at least `min_value`)."""
        out = self._passes.get((kinds, min_value))
        if out is None:  # a week of a large fleet has millions of events: sorted out once
            out = defaultdict(list)
            for e in self.truth.events:
                if e.kind in kinds and e.value >= min_value:
                    out[e.hazard_id].append((e.ts_ms, e.vin))
            self._passes[(kinds, min_value)] = out
        return out


def _dist(s: Seen, h: HazardTruth) -> float:
    return float(haversine_m(s.hazard.lat, s.hazard.lon, h.lat, h.lon))


def run(
    vehicles: int = 30,
    hours: float = 24.0,
    seed: int = 3,
    start_ms: int = START_MS,
    progress: Callable[[int, Figures], None] | None = None,
) -> Figures:
    """Simulate, sense and record every hazard published, minute by minute (`progress` is
    called with the simulated second and the figures so far after each minute)."""
    t_start = time.perf_counter()
    config = FleetConfig(
        vehicles=vehicles,
        seed=seed,
        start_ms=start_ms,
        window_s=60,
        pothole_per_km=3.0,
        faults=FaultRates(0.0, 0.0),
        surface=EVERY_HAZARD,
    )
    graph = load_roads()  # the shipped Helsinki extract
    fleet = Fleet(config, graph)
    tel = Telemetry(fleet.vins, seed, extra=ADAS_SIGNALS)
    sensing = RoadSensing(RoadMatcher(graph))
    end_s = int(hours * 3600)
    fig = Figures(vehicles, hours, 0, 0.0, start_ms=start_ms)
    while fleet.t < end_s:
        batches = tel.batches(fleet.step(end_s))
        now = fleet.start_ms + fleet.t * 1000
        for b in batches:
            fig.samples += len(b.samples)
            sensing.feed(b.vin, [(b.ts + off, str(p), v) for off, p, v in b.samples], now)
        sensing.expire(now)
        for h in sensing.hazards(now):
            s = fig.seen.get(h.hazard_id)
            if s is None:
                fig.seen[h.hazard_id] = Seen(h, now, now)
            else:
                s.hazard, s.last_ms = h, now
        if progress is not None:
            progress(fleet.t, fig)
    fig.truth = fleet.finish()
    fig.drops = {str(k): v for k, v in sensing.drops().items()}
    fig.seconds = time.perf_counter() - t_start
    return fig


_MET_BY = {
    Kind.POTHOLE: ("pothole", "pothole_straddled"),
    Kind.SLIPPERY: ("ice",),
    Kind.SLOWDOWN: ("slowdown",),
}
# A pothole counts as met by a car that felt it: a jolt the detector is meant to see (weaker
# ones, a pothole crept over near a junction, are rough road or nothing by design). With city
# trips of a few km many passes are at the start or end of a drive, at a crawl.
_FELT = {Kind.POTHOLE: DetectConfig().pothole_min}


def _cars(fig: Figures, h: HazardTruth, kinds: tuple[str, ...], min_value: float = 0.0) -> int:
    """Distinct cars that met hazard h (during its episode, for ice and slow-downs)."""
    met = fig.passed_by(kinds, min_value).get(h.hazard_id, [])
    end = h.end_ms or 2**62
    return len({v for ts, v in met if h.start_ms <= ts < end or h.start_ms == 0})


def _same_way(s: Seen, h: HazardTruth) -> bool:
    """Whether a published hazard stands on the direction of travel of the true one (a queue
    stands on one carriageway; the truth's -1 and the hazard's None are both directions)."""
    a, b = s.hazard.direction_deg, h.heading_deg
    return a is None or b < 0 or abs((a - b + 180.0) % 360.0 - 180.0) <= 90.0


def _during(s: Seen, h: HazardTruth) -> bool:
    """Whether a published hazard was up at some time of h's episode (or 30 min after)."""
    end = (h.end_ms or 2**62) + 1_800_000
    return h.start_ms == 0 or (s.first_ms < end and s.last_ms >= h.start_ms)


def _matches(s: Seen, h: HazardTruth, r: float) -> bool:
    return _dist(s, h) <= r and _during(s, h) and _same_way(s, h)


def precision_recall(fig: Figures, kind: Kind, min_cars: int = 3) -> tuple[float, float, int, int]:
    """(precision, recall, published, truths met by >= min_cars distinct cars; all truths of
    rough road, whose passes the simulator does not record)."""
    all_truths = fig.truths(_TRUTH_KIND[kind])
    truths = all_truths
    if kind in _MET_BY:
        felt = _FELT.get(kind, 0.0)
        truths = [h for h in truths if _cars(fig, h, _MET_BY[kind], felt) >= min_cars]
    pub = fig.published(kind)
    r = MATCH_M[kind]
    good = sum(1 for s in pub if any(_matches(s, h, r) for h in all_truths))
    found = sum(1 for h in truths if any(_matches(s, h, r) for s in pub))
    precision = good / len(pub) if pub else 1.0
    recall = found / len(truths) if truths else 1.0
    return precision, recall, len(pub), len(truths)


def location_errors(fig: Figures, kind: Kind) -> list[float]:
    """Distance from each true hazard found to the nearest published one."""
    out = []
    for h in fig.truths(_TRUTH_KIND[kind]):
        d = [_dist(s, h) for s in fig.published(kind)]
        if d and min(d) <= MATCH_M[kind]:
            out.append(min(d))
    return out


def bumps_published(fig: Figures) -> int:
    """Published hazards at a speed bump that no real hazard explains."""
    others = [h for h in fig.truth.hazards if h.kind != "speed_bump"]
    n = 0
    for bump in fig.truths("speed_bump"):
        for s in fig.seen.values():
            if _dist(s, bump) <= 15.0 and not any(
                _dist(s, o) <= MATCH_M[s.hazard.kind] for o in others
            ):
                n += 1
    return n


@dataclass(frozen=True)
class IceEpisode:
    """One ice episode as sensed: when the third car passed, was confirmed, melted, expired."""

    hazard_id: int
    third_car_ms: int
    confirmed_ms: int | None
    melted_ms: int  # 0: still frozen at the end (or melted in its last 30 minutes)
    expired_ms: int | None  # None: still published at the end; before melted_ms: no longer
    # published when it melted (nobody had reported it for the fresh window)


def ice_episodes(fig: Figures) -> list[IceEpisode]:
    """Ice episodes met by at least three distinct cars, with the sensing's timing."""
    # a car that crept over the ice without one intervention could not feel it
    engaged = fig.passed_by(("ice",), min_value=1.0)
    end_ms = fig.start_ms + int(fig.hours * 3_600_000)
    out = []
    for h in fig.truths("ice"):
        cars: dict[str, int] = {}
        for ts, vin in sorted(engaged.get(h.hazard_id, [])):
            if h.start_ms <= ts and (h.end_ms == 0 or ts < h.end_ms):
                cars.setdefault(vin, ts)
        if len(cars) < 3:
            continue
        third = sorted(cars.values())[2]
        near = [s for s in fig.published(Kind.SLIPPERY) if _dist(s, h) <= MATCH_M[Kind.SLIPPERY]]
        end = h.end_ms or 2**62
        confirmed = min((s.first_ms for s in near if h.start_ms <= s.first_ms < end), default=None)
        # a melt less than 30 minutes before the run's end cannot be judged yet: still frozen
        melted = h.end_ms if h.end_ms and h.end_ms <= end_ms - 1_800_000 else 0
        expired = None
        if melted:
            up = [s for s in near if s.first_ms < melted and s.last_ms >= h.start_ms]
            last = max((s.last_ms for s in up), default=melted)
            expired = last if last < end_ms - 60_000 else None
        out.append(IceEpisode(h.hazard_id, third, confirmed, melted, expired))
    return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def report(fig: Figures) -> str:
    lines = [
        f"{fig.vehicles} vehicles, {fig.hours:g} h from {_iso(fig.start_ms)} on the Helsinki graph:"
        f" {fig.samples:,} samples, {fig.seconds:.1f} s",
    ]
    for kind in Kind:
        p, r, n_pub, n_truth = precision_recall(fig, kind)
        err = location_errors(fig, kind)
        med = f"{statistics.median(err):.1f} m" if err else "-"
        lines.append(
            f"{kind}: published {n_pub}, truths met by >= 3 cars {n_truth}:"
            f" precision {p:.2f}, recall {r:.2f}, median location error {med}"
        )
    lines.append(
        f"speed bumps published: {bumps_published(fig)} of {len(fig.truths('speed_bump'))}"
    )
    for e in ice_episodes(fig):
        conf = (
            f"{(e.confirmed_ms - e.third_car_ms) / 60_000:.1f} min after the 3rd car"
            if e.confirmed_ms is not None
            else "never confirmed"
        )
        melt = (
            "still frozen at the end"
            if not e.melted_ms
            else "still published at the end"
            if e.expired_ms is None
            else f"expired {(e.expired_ms - e.melted_ms) / 60_000:.1f} min after melting"
            if e.expired_ms >= e.melted_ms
            else "no longer published when it melted"
        )
        lines.append(f"ice {e.hazard_id}: confirmed {conf}; {melt}")
    lines.append(f"dropped: {fig.drops}")
    return "\n".join(lines)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    hours = float(sys.argv[2]) if len(sys.argv) > 2 else 24.0
    fig = run(n, hours)
    print(report(fig))
