"""One simulated fleet-day through the real pipeline, shared by the driver-service tests of
every package (drives, charging, battery, places, stats, timeline, processors): it is built
once per session, the first time a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by the fixtures: a run that needs no fleet-day does not pay for it
    from fastapi.testclient import TestClient

    from tests.servicekit.pipeline import Fed
    from volta.devservices import PrivateNats


@pytest.fixture(scope="session")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    from tests.servicekit.pipeline import feed
    from tests.sim.simrun import fleet_day

    run = feed(fleet_day(), tmp_path_factory.mktemp("fleet"))
    run.services.flush(complete=True)
    yield run
    run.platform.stop()


@pytest.fixture(scope="module")
def fed_client(fed: Fed) -> Iterator[TestClient]:
    """The HTTP API over the fed platform."""
    from fastapi.testclient import TestClient

    from volta.api import create_app

    yield TestClient(create_app(fed.platform))


@pytest.fixture
def private_nats() -> Iterator[PrivateNats]:
    """A NATS server of the test's own (started on a free port, removed after), for tests
    that stop and restart it; skipped only where nats-server is not installed."""
    from volta.devservices import PrivateNats
    from volta.errors import Unavailable

    try:
        nats = PrivateNats()
    except Unavailable as e:
        pytest.skip(str(e))
    with nats:
        yield nats
