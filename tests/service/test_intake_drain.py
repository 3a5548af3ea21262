"""Nothing the case intake queued is lost quietly: predictions queued when the embedded
platform stops open their cases before it closes (found after a restart on the same data dir),
one whose case could not be written waits for the next sync, and what a stop could not open in
time is counted and logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import VIN, make_settings
from tests.service.leak import leaking_tyre
from volta.clock import wall_ms
from volta.diagnostics.vehicle import AlertChange
from volta.ingest.inproc import InProcessTransport
from volta.platform import Platform
from volta.registry import AlertChanges
from volta.service.casebook import CaseQuery
from volta.service.intake import CaseIntake


def _cases(platform: Platform) -> list[tuple[str, str]]:
    assert platform.service is not None
    found = platform.service.cases.find(CaseQuery(vin=VIN, active=False))
    return sorted((c.problem_key, c.state.value) for c in found)


def test_a_prediction_queued_when_the_platform_stops_has_its_case_after_a_restart(
    tmp_path: Path,
) -> None:
    platform = Platform(make_settings(tmp_path))
    platform.start()
    try:
        platform.registry.add_vehicle(VIN, "Model V", organisation="north")
        results = InProcessTransport(platform.gateway).publish_many(
            [(VIN, p) for p in leaking_tyre(VIN, wall_ms() - 60_000)]
        )
        assert all(r.accepted for r in results)
        # stopped at once: the alert watch's timer (every 10 s) has not opened it yet
    finally:
        platform.stop()
    again = Platform(make_settings(tmp_path))
    try:
        assert _cases(again) == [("tyre:front-left", "open")]
    finally:
        again.stop()
    assert platform.intake is not None
    assert (platform.intake.opened, platform.intake.dropped, platform.intake.queued) == (1, 0, 0)


class _Desk:
    """A service desk whose database fails while `failing`."""

    def __init__(self) -> None:
        self.failing = False
        self.opened: list[tuple[str, str]] = []

    def open_from_alert(self, vin: str, key: str, alert: Any) -> tuple[None, bool]:
        if self.failing:
            raise OSError("database is down")
        self.opened.append((vin, key))
        return None, True


def _leak(tyre: str) -> AlertChange:
    return AlertChange(VIN, "tyre_leak", tyre, True, 1_000, "losing 8 kPa/day")


def test_a_prediction_whose_case_failed_waits_for_the_next_sync() -> None:
    desk = _Desk()
    intake = CaseIntake(desk)  # type: ignore[arg-type]
    intake.predicted([_leak("Front-left"), _leak("Rear-right")])
    desk.failing = True
    with pytest.raises(OSError):
        intake.sync(AlertChanges())
    assert intake.queued == 2
    desk.failing = False
    intake.sync(AlertChanges())
    assert desk.opened == [(VIN, "tyre:front-left"), (VIN, "tyre:rear-right")]
    assert intake.queued == 0


def test_what_a_stop_cannot_open_in_time_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = _Desk()
    intake = CaseIntake(desk)  # type: ignore[arg-type]
    intake.predicted([_leak("Front-left"), _leak("Rear-right")])
    with caplog.at_level(logging.ERROR, logger="volta.service.intake"):
        assert intake.drain(timeout_s=0.0) == 2
    assert (intake.dropped, intake.queued, desk.opened) == (2, 0, [])
    assert "2 predicted alerts were still queued at the stop" in caplog.text
    # a database that fails at the stop: logged, counted, the stop goes on
    intake.predicted([_leak("Front-left")])
    desk.failing = True
    with caplog.at_level(logging.ERROR, logger="volta.service.intake"):
        assert intake.drain() == 1
    assert intake.dropped == 3 and "database is down" in caplog.text
