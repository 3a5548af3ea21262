"""`Periodic`, the loop under the platform's background jobs."""

from __future__ import annotations

import logging
import threading

import pytest

from volta.periodic import Periodic

log = logging.getLogger("test.periodic")


def test_a_failed_run_is_logged_and_the_job_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    third = threading.Event()

    def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a database down for a moment")
        if len(runs) >= 3:
            third.set()

    periodic = Periodic("test-job", lambda: 0.01, job, log, "test: the run failed")
    periodic.start()
    periodic.start()  # a second start starts no second thread
    try:
        assert third.wait(5)
    finally:
        periodic.stop()
    assert not periodic.running
    assert "test: the run failed" in caplog.text
    assert "a database down for a moment" in caplog.text
    done = len(runs)
    threading.Event().wait(0.05)
    assert len(runs) == done  # nothing runs after stop


def test_at_start_runs_at_once_not_after_the_first_interval() -> None:
    first = threading.Event()
    periodic = Periodic("test-job", lambda: 3600.0, first.set, log, "x", at_start=True)
    periodic.start()
    try:
        assert first.wait(5)  # not an hour later
    finally:
        periodic.stop()
    assert [t.name for t in threading.enumerate()].count("test-job") == 0
