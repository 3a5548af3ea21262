"""One simulated fleet-day through the real pipeline, shared by the driver-service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.simrun import fleet_day

from .pipeline import Fed, feed


@pytest.fixture(scope="package")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    run = feed(fleet_day(), tmp_path_factory.mktemp("fleet"))
    run.platform.services.flush(complete=True)
    yield run
    run.platform.stop()
