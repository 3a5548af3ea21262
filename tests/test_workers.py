"""Scale-out wiring that needs no server: which engines admit workers, session ids, the
settings a worker inherits, the API twin fed from bus events, the supervisor's restarts."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from volta.assembly import worker_client_id
from volta.bus import (
    STORED_ALL,
    MemoryBus,
    StoredGroup,
    publish_stored,
    stored_subject,
)
from volta.cli import _register_all, app
from volta.clock import wall_ms
from volta.config import Settings
from volta.errors import ConfigError
from volta.ingest.mqtt import MqttTransport
from volta.platform import Platform
from volta.store.base import AcceptedBatch
from volta.supervisor import Supervisor, settings_env
from volta.wire import owned_shards
from volta.workers import GatewayWorker, check_scale_out

PG = "postgresql://volta:s3cret@db:5432/volta"


def scale_out(
    store: str = PG, bus: str = "nats://nats:4222", mqtt: str | None = "mqtt://broker:1883"
) -> Settings:
    """Settings that can be shared by several workers (PostgreSQL, NATS, an MQTT broker)."""
    return Settings(store=store, bus=bus, mqtt=mqtt)


def test_scale_out_settings_are_accepted() -> None:
    check_scale_out(scale_out(), 4)


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (scale_out(store="duckdb"), "DuckDB store admits only one writing process"),
        (scale_out(bus="memory"), "VOLTA_BUS=nats://"),
        (scale_out(mqtt=None), "VOLTA_MQTT"),
    ],
)
def test_engines_that_cannot_be_shared_are_refused_with_the_reason(
    settings: Settings, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        check_scale_out(settings, 2)


def test_zero_workers_is_refused() -> None:
    with pytest.raises(ConfigError, match="1 to 64"):
        check_scale_out(scale_out(), 0)


def test_serve_with_workers_on_the_embedded_store_exits_2_and_says_why(tmp_path: Path) -> None:
    _register_all()
    result = CliRunner().invoke(
        app,
        ["serve", "--workers", "2", "--data-dir", str(tmp_path), "--mqtt", "mqtt://x:1883"],
        env={"VOLTA_STORE": "duckdb"},
    )
    assert result.exit_code == 2
    assert "DuckDB" in result.output and "postgresql" in result.output


@pytest.mark.parametrize(
    ("args", "env", "reason"),
    [
        (["--workers", "2"], {}, "--api-only runs no workers"),
        ([], {"VOLTA_STORE": "duckdb"}, "DuckDB store admits only one writing process"),
        ([], {"VOLTA_BUS": "memory"}, "VOLTA_BUS=nats://"),
    ],
)
def test_serve_api_only_refuses_what_it_cannot_run_with_the_reason(
    tmp_path: Path, args: list[str], env: dict[str, str], reason: str
) -> None:
    _register_all()
    result = CliRunner().invoke(
        app,
        ["serve", "--api-only", "--data-dir", str(tmp_path), *args],
        env={"VOLTA_STORE": PG, "VOLTA_BUS": "nats://nats:4222", **env},
    )
    assert result.exit_code == 2
    assert reason in result.output
    assert not any(tmp_path.iterdir()), "refused before anything was made"


def test_each_worker_has_its_own_persistent_session() -> None:
    s = Settings(mqtt_client_id="gw")
    assert [worker_client_id(s, i) for i in range(3)] == ["gw-0", "gw-1", "gw-2"]


def test_a_worker_subscribes_to_its_shards_and_drops_the_others() -> None:
    transport = MqttTransport(
        lambda *a: None,  # type: ignore[arg-type]
        url="mqtt://127.0.0.1:1",
        topic_prefix="volta/v1/",
        client_id="gw-1",
        shared_group="fleet",
        shards=owned_shards(1, 2),
    )
    odd = [f"volta/v1/+/telemetry/{k}" for k in range(1, 64, 2)]
    # Cars from before the shards still reach one worker of the group.
    assert transport.topic_filters == [*odd, "$share/fleet/volta/v1/+/telemetry"]
    assert transport.foreign_filters == [f"volta/v1/+/telemetry/{k}" for k in range(0, 64, 2)]


def test_one_process_subscribes_to_every_shard() -> None:
    transport = MqttTransport(
        lambda *a: None,  # type: ignore[arg-type]
        url="mqtt://127.0.0.1:1",
        topic_prefix="volta/v1",
        client_id="gw",
    )
    assert transport.topic_filters == ["volta/v1/+/telemetry/+", "volta/v1/+/telemetry"]
    assert transport.foreign_filters == []


@pytest.mark.parametrize(("index", "workers"), [(2, 2), (-1, 2), (0, 65), (0, 0)])
def test_a_worker_outside_the_shards_is_refused(index: int, workers: int) -> None:
    with pytest.raises(ConfigError, match=r"worker index|--workers"):
        GatewayWorker(scale_out(), index, workers=workers)


def test_more_workers_than_shards_are_refused() -> None:
    with pytest.raises(ConfigError, match="1 to 64"):
        check_scale_out(scale_out(), 65)


def test_a_bad_shared_group_is_refused() -> None:
    with pytest.raises(ConfigError, match="shared-subscription group"):
        MqttTransport(
            lambda *a: None,  # type: ignore[arg-type]
            url="mqtt://127.0.0.1:1",
            topic_prefix="volta/v1",
            client_id="gw-0",
            shared_group="a/b",
        )


def test_a_worker_inherits_the_parents_settings_through_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parent = scale_out().model_copy(update={"mqtt_shared_group": "g7", "commit_max_delay_ms": 5})
    for name, value in settings_env(parent).items():
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child.model_dump() == parent.model_dump()


def test_the_api_process_counts_its_own_http_batches_once(tmp_path: Path) -> None:
    # Following the workers, its gateway's commits also come back through the bus.
    shift = [0]
    platform = Platform(
        Settings(data_dir=tmp_path, mqtt=None),
        clock=lambda: wall_ms() + shift[0],
        require_registered=False,
        follow_workers=True,
    )
    try:
        vin = "JHMZZ1A1XRV000001"
        body = {"v": 1, "vin": vin, "seq": 1, "ts": wall_ms(),
                "samples": [[0, "Vehicle.Speed", 42.0]]}  # fmt: skip
        (result,) = platform.gateway.ingest_many([(vin, msgspec.json.encode(body))])
        assert result.accepted == 1
        assert platform.twin.get(vin)  # the twin has it
        shift[0] = 1000  # the second of the commit is now a full one
        batches_per_s, samples_per_s = platform.activity.rates()
        assert batches_per_s * 10 == 1 and samples_per_s * 10 == 1
    finally:
        platform.stop()


def test_a_commit_is_announced_in_groups_under_the_size_limit_in_order() -> None:
    bus, got = MemoryBus(), []
    bus.subscribe(STORED_ALL, lambda m: got.append(m.decode(StoredGroup).batches))
    stored = [AcceptedBatch("VIN1", seq, 0, [1] * n, [0] * n, [1.0] * n, [None] * n)
              for seq, n in enumerate([3, 4, 2, 9, 1], start=1)]  # fmt: skip
    publish_stored(bus, stored_subject(0), stored, max_samples=6)
    assert [[e.seq for e in group] for group in got] == [[1], [2, 3], [4], [5]]


def test_the_supervisor_restarts_a_dead_worker_with_its_index_and_stops_all() -> None:
    # Worker 0 exits at once (a crash), worker 1 runs until told to stop.
    def command(index: int) -> list[str]:
        code = "import sys; sys.exit(3)" if index == 0 else "import time; time.sleep(60)"
        return [sys.executable, "-c", code]

    supervisor = Supervisor(2, Settings(), command=command, stop_timeout_s=5)
    supervisor.start()
    try:
        deadline = time.monotonic() + 10
        while supervisor.restarts[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.restarts[0] >= 2  # crashing in a loop: restarted, with back-off
        assert supervisor.restarts[1] == 0
        survivor = supervisor.procs[1]
        assert survivor is not None and survivor.poll() is None
    finally:
        supervisor.stop()
    assert survivor.poll() is not None  # stopped, not left behind
