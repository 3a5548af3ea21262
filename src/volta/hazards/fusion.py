"""Fusion across cars: reports become a hazard only when k distinct cars agree.

`Fusion` keeps candidate hazards: reports of one kind within a radius of each other. It reads
no clock and does no I/O (every call takes `now_ms`). The rules a user relies on:

- A candidate is confirmed while at least `k` (3) DISTINCT cars reported it within the kind's
  silence window (2 h for ice) and the latest report is fresh (25 min for ice). A car counts
  once however often it reports (its latest report stands), so one car, honest or malicious,
  never confirms or moves a hazard on its own.
- A slow-down concerns one direction of travel: its reports join only reports of cars driving
  the same way (within 90°), only cars driving that way can miss it, and it is published with
  its direction; a queue on one carriageway is never a hazard for the other one.
- Its position is the median of the cars' positions (one vote a car), snapped onto the road:
  more precise than any single report, and robust to a car that is far off.
- Cars whose trace passes it along its road (not across) without reporting it are misses;
  after `misses` distinct cars miss it in a row (or nobody reported it for the silence window)
  it expires: ice melts, queues clear, potholes get fixed.
- Confidence (0..1) grows with the number of cars, falls with the age of the last report,
  the spread of the positions and the misses.
- `changes()` hands out the candidates changed (and the ids gone) since its last call, and
  `restore()` takes them back, so that a process keeps them across a restart
  (`volta.hazards.store`); what they hold names cars and is never published.
- What is published (`Hazard`) carries no car, no trace and times floored to `bucket_ms`; a
  candidate with fewer than k distinct cars is never published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from volta.hazards.matching import M_PER_DEG, RoadMatcher, local_xy
from volta.hazards.model import Candidate, DropReason, Hazard, Kind, Report, Trace

__all__ = ["Fusion", "FusionConfig"]

_MIN = 60_000
_DAY = 86_400_000


def _per_kind(pothole: float, rough: float, slippery: float, slowdown: float) -> dict[Kind, float]:
    return {
        Kind.POTHOLE: pothole,
        Kind.ROUGH_ROAD: rough,
        Kind.SLIPPERY: slippery,
        Kind.SLOWDOWN: slowdown,
    }


@dataclass(frozen=True, slots=True)
class FusionConfig:
    """How many cars confirm, how near reports must be, how long a hazard lives."""

    k: int = 3
    radius_m: dict[Kind, float] = field(default_factory=lambda: _per_kind(15, 100, 130, 40))
    # a candidate forgets reports older than this (and goes when it has none left) ...
    silence_ms: dict[Kind, float] = field(
        default_factory=lambda: _per_kind(14 * _DAY, 30 * _DAY, 2 * 60 * _MIN, 30 * _MIN)
    )
    # ... and is published only while its latest report is at most this old
    fresh_ms: dict[Kind, float] = field(
        default_factory=lambda: _per_kind(14 * _DAY, 30 * _DAY, 25 * _MIN, 10 * _MIN)
    )
    crossing_deg: float = 30.0  # a trace more oblique than this to the road is crossing it
    misses: dict[Kind, float] = field(default_factory=lambda: _per_kind(5, 5, 3, 3))
    settle_ms: int = 3 * _MIN  # a pass counts as a miss only if no report follows this soon
    bucket_ms: int = 15 * _MIN  # published times are floored to this
    future_ms: int = 5 * _MIN
    margin_deg: float = 0.01  # reports this far outside the road graph's box are impossible
    # kinds that concern one direction of travel only (the others hit both: ice, potholes)
    directional: frozenset[Kind] = frozenset({Kind.SLOWDOWN})


@dataclass
class _Candidate:
    hazard_id: str
    kind: Kind
    lat: float
    lon: float
    first_ms: int
    bearing: float  # of the road it lies on (in its direction of travel), degrees
    # car -> (ts_ms, lat, lon, value) of its latest report: one vote a car
    votes: dict[str, tuple[int, float, float, float]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)  # car -> ts of its pass after the last hit
    cell: tuple[int, int] = (0, 0)
    road: tuple[float, float, int] = (0.0, 0.0, -1)  # (lat, lon, edge) snapped, as published

    @property
    def last_ms(self) -> int:
        return max(v[0] for v in self.votes.values())


class Fusion:
    """Candidate and confirmed hazards of one area (one road graph)."""

    def __init__(self, matcher: RoadMatcher, cfg: FusionConfig | None = None) -> None:
        self.m = matcher
        self.cfg = cfg or FusionConfig()
        g = matcher.graph
        self._cell_m = max(self.cfg.radius_m.values())
        self._box = (
            float(g.lat.min()) - self.cfg.margin_deg,
            float(g.lat.max()) + self.cfg.margin_deg,
            float(g.lon.min()) - self.cfg.margin_deg,
            float(g.lon.max()) + self.cfg.margin_deg,
        )
        self._cells: dict[tuple[int, int], list[_Candidate]] = {}
        self._by_id: dict[str, _Candidate] = {}
        self._dirty: set[str] = set()  # changed since the last `changes()`, or gone
        self._next_id = 0
        self.dropped: dict[DropReason, int] = {}
        # what published() gave for (changes so far, minute): map requests cost a look-up
        self._changes = 0
        self._cache: tuple[tuple[int, int], list[Hazard]] = ((-1, -1), [])

    # -- reports ---------------------------------------------------------------------------
    def add(self, report: Report, now_ms: int) -> DropReason | None:
        """Take one report; the reason if it was dropped (counted in `dropped`)."""
        reason = self._check(report, now_ms)
        if reason is not None:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1
            return reason
        bearing = float(self.m.bearing[report.edge])
        c = self._nearest(report.kind, report.lat, report.lon, bearing)
        if c is None:
            c = _Candidate(
                f"h{self._next_id}", report.kind, report.lat, report.lon, report.ts_ms, bearing
            )
            self._next_id += 1
            self._file(c)
            self._by_id[c.hazard_id] = c
        prev = c.votes.get(report.car)
        if prev is None or prev[0] <= report.ts_ms:
            c.votes[report.car] = (report.ts_ms, report.lat, report.lon, report.value)
        # a hit ends the run of misses before it (and a pass of this same car just before)
        c.missed = {
            car: t
            for car, t in c.missed.items()
            if t > report.ts_ms
            and not (car == report.car and t - report.ts_ms <= self.cfg.settle_ms)
        }
        self._relocate(c)
        self._changes += 1
        self._dirty.add(c.hazard_id)
        return None

    def _check(self, r: Report, now_ms: int) -> DropReason | None:
        lat0, lat1, lon0, lon1 = self._box
        if not (lat0 <= r.lat <= lat1 and lon0 <= r.lon <= lon1) or not (
            math.isfinite(r.lat) and math.isfinite(r.lon)
        ):
            return DropReason.BAD_POSITION
        if r.ts_ms > now_ms + self.cfg.future_ms:
            return DropReason.BAD_TIME
        if r.ts_ms < now_ms - self.cfg.silence_ms[r.kind]:
            return DropReason.STALE
        return None

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        x, y = local_xy(lat, lon, self.m.lat0).tolist()
        return math.floor(x / self._cell_m), math.floor(y / self._cell_m)

    def _near(self, lat: float, lon: float) -> list[_Candidate]:
        cx, cy = self._key(lat, lon)
        return [
            c
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for c in self._cells.get((cx + dx, cy + dy), ())
        ]

    def _nearest(self, kind: Kind, lat: float, lon: float, bearing: float) -> _Candidate | None:
        best, best_d = None, self.cfg.radius_m[kind]
        one_way = kind in self.cfg.directional
        for c in self._near(lat, lon):
            if c.kind == kind and not (one_way and _turn(c.bearing, bearing) > 90.0):
                d = _metres(c.lat, c.lon, lat, lon)
                if d <= best_d:
                    best, best_d = c, d
        return best

    def _file(self, c: _Candidate) -> None:
        c.cell = self._key(c.lat, c.lon)
        self._cells.setdefault(c.cell, []).append(c)

    def _unfile(self, c: _Candidate) -> None:
        cell = self._cells[c.cell]
        cell.remove(c)
        if not cell:
            del self._cells[c.cell]

    def _relocate(self, c: _Candidate) -> None:
        lats = [v[1] for v in c.votes.values()]
        lons = [v[2] for v in c.votes.values()]
        self._unfile(c)
        c.lat, c.lon = median(lats), median(lons)
        self._file(c)
        # snapped here, once a report, so that publishing costs no map matching
        m = self.m.match(np.array([c.lat]), np.array([c.lon]), np.array([c.bearing]))[0]
        c.road = (m.lat, m.lon, m.edge) if m is not None else (c.lat, c.lon, -1)

    # -- negative evidence -----------------------------------------------------------------
    def passed(self, trace: Trace) -> None:
        """A car drove here: candidates its trace came near without a report from it are missed."""
        if len(trace.ts_ms) == 0:
            return
        xy = local_xy(trace.lat, trace.lon, self.m.lat0)
        keys = np.unique(np.floor(xy / self._cell_m).astype(np.int64), axis=0).tolist()
        cells = {(x + dx, y + dy) for x, y in keys for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
        seen: set[str] = set()
        for cell in cells & self._cells.keys():
            for c in self._cells[cell]:
                if c.hazard_id in seen:
                    continue
                seen.add(c.hazard_id)
                cxy = local_xy(c.lat, c.lon, self.m.lat0)
                d = np.hypot(xy[:, 0] - cxy[0], xy[:, 1] - cxy[1])
                # half the radius: a car passing on the next road over has not missed it
                close = np.nonzero(d <= 0.5 * self.cfg.radius_m[c.kind])[0]
                if len(close) == 0:
                    continue
                one_way = c.kind in self.cfg.directional
                if not self._along(xy, int(close[0]), c.bearing, one_way):
                    continue
                ts = int(trace.ts_ms[close[0]])
                vote = c.votes.get(trace.car)
                if vote is not None and abs(vote[0] - ts) <= self.cfg.settle_ms:
                    continue
                c.missed[trace.car] = ts
                self._changes += 1
                self._dirty.add(c.hazard_id)

    def _along(
        self, xy: np.typing.NDArray[np.float64], i: int, bearing: float, one_way: bool
    ) -> bool:
        """Whether the trace runs along the road at point i (either way; with `one_way`, in
        the direction `bearing`), not across it."""
        a, b = xy[max(i - 1, 0)], xy[min(i + 1, len(xy) - 1)]
        if a[0] == b[0] and a[1] == b[1]:
            return False
        heading = math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360.0
        if one_way:
            return _turn(heading, bearing) <= self.cfg.crossing_deg
        off = abs((heading % 180.0 - bearing % 180.0 + 90.0) % 180.0 - 90.0)
        return off <= self.cfg.crossing_deg

    def expire(self, now_ms: int) -> list[str]:
        """Drop the candidates nobody reported for the silence window or cars passed by."""
        gone: list[str] = []
        for c in [c for cell in self._cells.values() for c in cell]:
            recent = now_ms - self.cfg.silence_ms[c.kind]
            before = len(c.votes)
            c.votes = {car: v for car, v in c.votes.items() if v[0] >= recent}
            settled = sum(1 for t in c.missed.values() if t <= now_ms - self.cfg.settle_ms)
            if not c.votes or settled >= self.cfg.misses[c.kind]:
                self._unfile(c)
                del self._by_id[c.hazard_id]
                gone.append(c.hazard_id)
                self._changes += 1
                self._dirty.add(c.hazard_id)
            elif len(c.votes) < before:
                self._relocate(c)
                self._dirty.add(c.hazard_id)
        return gone

    # -- keeping across restarts --------------------------------------------------------------
    def changes(self) -> tuple[list[Candidate], list[str], int]:
        """The candidates changed since the last call, the ids of those gone since, and the
        next id to give: what a store must write to hold what this fusion holds."""
        changed = [_record(self._by_id[i]) for i in sorted(self._dirty) if i in self._by_id]
        gone = sorted(i for i in self._dirty if i not in self._by_id)
        self._dirty.clear()
        return changed, gone, self._next_id

    def restore(self, candidates: list[Candidate], next_id: int) -> None:
        """Take back what a store kept (into an empty fusion, before any report)."""
        if self._by_id:
            raise ValueError("restore() needs an empty fusion")
        for r in candidates:
            c = _Candidate(r.hazard_id, r.kind, r.lat, r.lon, r.first_ms, r.bearing,
                           dict(r.votes), dict(r.missed))  # fmt: skip
            self._file(c)
            self._by_id[c.hazard_id] = c
            self._relocate(c)
        self._next_id = max(next_id, self._next_id)
        self._changes += 1

    # -- publication -----------------------------------------------------------------------
    def candidates(self) -> int:
        return sum(len(v) for v in self._cells.values())

    def revision(self, now_ms: int) -> tuple[int, int]:
        """Changes when `published` may: on a change of a candidate, and every minute."""
        return self._changes, now_ms // _MIN

    def published(self, now_ms: int) -> list[Hazard]:
        """Confirmed hazards (k distinct recent cars), without anything that identifies a car.

        Computed once per change and minute: ages and confidences move by the minute."""
        key = self.revision(now_ms)
        if self._cache[0] == key:
            return list(self._cache[1])
        now_ms = key[1] * _MIN
        out: list[Hazard] = []
        b = self.cfg.bucket_ms
        for cell in self._cells.values():
            for c in cell:
                recent = now_ms - self.cfg.silence_ms[c.kind]
                votes = [v for v in c.votes.values() if v[0] >= recent]
                fresh = now_ms - self.cfg.fresh_ms[c.kind]
                if len(votes) < self.cfg.k or max(v[0] for v in votes) < fresh:
                    continue
                lat, lon, edge = c.road
                out.append(
                    Hazard(
                        hazard_id=c.hazard_id,
                        kind=c.kind,
                        lat=round(lat, 5),
                        lon=round(lon, 5),
                        edge=edge,
                        osm_way=int(self.m.graph.osm_way[edge]) if edge >= 0 else 0,
                        confidence=round(self._confidence(c, votes, now_ms), 3),
                        cars=len(votes),
                        first_seen_ms=c.first_ms - c.first_ms % b,
                        last_seen_ms=c.last_ms - c.last_ms % b,
                        value=round(median(v[3] for v in votes), 1),
                        direction_deg=(
                            round(c.bearing, 1) if c.kind in self.cfg.directional else None
                        ),
                    )
                )
        out.sort(key=lambda h: h.hazard_id)
        self._cache = (key, out)
        return list(out)

    def _confidence(
        self, c: _Candidate, votes: list[tuple[int, float, float, float]], now_ms: int
    ) -> float:
        k = self.cfg.k
        many = 1.0 - math.exp(-len(votes) / k)  # 3 cars of k = 3: 0.63, 6: 0.86, 10: 0.96
        age = now_ms - max(v[0] for v in votes)
        recent = math.exp(-max(age, 0) / self.cfg.fresh_ms[c.kind])
        spread = median(_metres(c.lat, c.lon, v[1], v[2]) for v in votes)
        consistent = 1.0 / (1.0 + spread / self.cfg.radius_m[c.kind])
        unseen = 1.0 - len(c.missed) / (self.cfg.misses[c.kind] + 1.0)
        return many * recent * consistent * unseen


def _record(c: _Candidate) -> Candidate:
    return Candidate(c.hazard_id, c.kind, c.lat, c.lon, c.first_ms, c.bearing,
                     dict(c.votes), dict(c.missed))  # fmt: skip


def _turn(a: float, b: float) -> float:
    """The angle between two bearings, 0..180 degrees."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = math.cos(math.radians(lat1))
    return math.hypot((lat2 - lat1) * M_PER_DEG, (lon2 - lon1) * k * M_PER_DEG)
