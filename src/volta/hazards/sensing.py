"""Detection and fusion together, for a whole fleet: each car's samples in, hazards out.

`RoadSensing` keeps one `CarState` per car and one `Fusion`; like them it reads no clock and
does no I/O (`now_ms` is passed in). It is what the bus adapter (not built yet, see
docs/hazards.md) calls for each stored batch, what the evaluation against the simulator's
truth runs, and what `bench/hazards.py` measures.
"""

from __future__ import annotations

from collections.abc import Iterable

from volta.hazards.detect import CarState, DetectConfig, detect
from volta.hazards.fusion import Fusion, FusionConfig
from volta.hazards.matching import RoadMatcher
from volta.hazards.model import DropReason, Hazard

__all__ = ["RoadSensing"]


class RoadSensing:
    """Per-car detection feeding one fusion; counts what was dropped and why."""

    def __init__(
        self,
        matcher: RoadMatcher,
        detect_cfg: DetectConfig | None = None,
        fusion_cfg: FusionConfig | None = None,
    ) -> None:
        self.matcher = matcher
        self.detect_cfg = detect_cfg or DetectConfig()
        self.fusion = Fusion(matcher, fusion_cfg)
        self.cars: dict[str, CarState] = {}
        self.dropped: dict[DropReason, int] = {}
        self.reports = 0
        self.speed_bumps = 0
        self.warm_interventions = 0

    def feed(self, car: str, samples: Iterable[tuple[int, str, object]], now_ms: int) -> None:
        """One car's new samples `(ts_ms, VSS path, value)`, in the order the car sent them."""
        state = self.cars.get(car) or CarState(car)
        out = detect(state, samples, self.matcher, now_ms, self.detect_cfg)
        self.cars[car] = out.state
        for reason, n in out.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        self.speed_bumps += out.speed_bumps
        self.warm_interventions += out.warm_interventions
        for r in out.reports:
            self.reports += 1
            self.fusion.add(r, now_ms)
        self.fusion.passed(out.trace)

    def expire(self, now_ms: int) -> list[str]:
        """Let hazards that cars no longer see, or nobody reported lately, go."""
        return self.fusion.expire(now_ms)

    def hazards(self, now_ms: int) -> list[Hazard]:
        """The confirmed hazards, as published (no car, coarse times)."""
        return self.fusion.published(now_ms)

    def drops(self) -> dict[DropReason, int]:
        """Samples (detection) and reports (fusion) dropped, by reason."""
        out = dict(self.dropped)
        for reason, n in self.fusion.dropped.items():
            out[reason] = out.get(reason, 0) + n
        return out
