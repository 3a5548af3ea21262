"""Drives and charges close when the car parks and goes to sleep, without it waking again:
a small simulated fleet fed through the real pipeline, its cars falling silent after each
drive (awake 10 min) or as soon as a charge is done, checked against the simulator's truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.servicekit.pipeline import Fed, feed
from tests.sim.simrun import simulate
from volta.charging.core import Charge
from volta.drives.core import Drive
from volta.processors.processor import SILENT_MS

BOUNDARY_MS = 10_000


@pytest.fixture(scope="module")
def slept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    """Six cars for a day; the platform has analysed what came, nothing flushed as complete."""
    run = feed(simulate(6, 86_400, seed=11), tmp_path_factory.mktemp("sleep"))
    assert run.platform.services is not None
    run.platform.services.flush()
    yield run
    run.platform.stop()


def _pairs(fed: Fed, kind: str) -> list[tuple[Drive | Charge, Any]]:
    """(found, true) for every true item of `kind`, matched by start."""
    truth: list[Any] = fed.day.truth.drives if kind == "drive" else fed.day.truth.charges
    typ: type[Drive] | type[Charge] = Drive if kind == "drive" else Charge
    out: list[tuple[Drive | Charge, Any]] = []
    for t in truth:
        got: list[Drive | Charge] = [*fed.platform.derived.list(kind, typ, vin=t.vin, limit=10_000)]
        near = [g for g in got if abs(g.start_ms - t.start_ms) <= BOUNDARY_MS]
        assert len(near) == 1, (kind, t)
        out.append((near[0], t))
    return out


def test_a_drive_closes_once_the_car_reports_it_parked(slept: Fed) -> None:
    # before any sweep: every drive but those the day's end cut short is closed by "park"
    last = slept.day.batches[-1].ts
    pairs = [(g, t) for g, t in _pairs(slept, "drive") if t.end_ms < last - 5 * 60_000]
    assert len(pairs) >= 10
    assert all(g.final for g, _ in pairs), [g for g, _ in pairs if not g.final]


def test_what_a_sleeping_car_left_open_is_closed_by_the_sweep(slept: Fed) -> None:
    services = slept.platform.services
    assert services is not None
    assert services.sweep(slept.day.sent_ms[-1] + SILENT_MS) > 0
    for kind in ("drive", "charge"):
        pairs = _pairs(slept, kind)
        assert pairs, kind
        for g, t in pairs:
            assert g.final, (kind, g)
            assert abs(g.start_ms - t.start_ms) <= BOUNDARY_MS, (kind, g, t)
            assert abs(g.end_ms - t.end_ms) <= BOUNDARY_MS, (kind, g.end_ms - t.end_ms, t)
