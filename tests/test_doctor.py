"""`volta doctor`: one plain line per engine, failing ones say what to do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.pgkit import ADMIN_URL, RunDatabase
from volta.cli import _register_all, app
from volta.config import Settings
from volta.doctor import Finding, diagnose
from volta.store import migrations
from volta.store.postgres_store import Server


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A database of its own: the doctor checks the `public` schema, which store tests use."""
    db = RunDatabase(ADMIN_URL)
    yield db.ensure()
    db.drop()


def test_embedded_defaults_are_healthy(tmp_path: Path) -> None:
    findings = diagnose(Settings(data_dir=tmp_path, store="duckdb", bus="memory", mqtt=None))
    assert [f.ok for f in findings] == [True] * 9
    where = {f.component: f.detail for f in findings}
    for component in ("registry", "derived", "places", "hazards", "diagnostics", "commands"):
        name = f"{component}.sqlite"
        assert where[component].startswith(
            f"SQLite at {tmp_path.resolve() / name} (not created yet"
        )
    assert "VOLTA_DERIVED=postgresql://… for no shared disk" in where["derived"]


@pytest.mark.services
def test_unmigrated_postgres_is_reported_with_the_fix_then_healthy(pg_url: str) -> None:
    settings = Settings(store=pg_url, bus="memory", mqtt=None)
    store = diagnose(settings)[0]
    assert store == Finding(
        "store", False, f"{Server(pg_url).where}: no Volta schema yet: run `volta migrate`"
    )
    Server(pg_url).migrate()
    store = diagnose(settings)[0]
    assert store.ok and f"schema version {migrations.latest_version()} (current)" in store.detail


def test_unreachable_engines_fail_in_plain_words_without_secrets() -> None:
    settings = Settings(
        store="postgresql://volta:s3cret@127.0.0.1:1/volta",
        bus="nats://volta:s3cret@127.0.0.1:1",
        mqtt="mqtt://127.0.0.1:1",
    )
    findings = [f for f in diagnose(settings) if f.component in ("store", "bus", "mqtt")]
    assert [(f.component, f.ok) for f in findings] == [
        ("store", False), ("bus", False), ("mqtt", False)
    ]  # fmt: skip
    assert findings[0].detail.startswith("PostgreSQL at 127.0.0.1:1/volta is unavailable")
    assert findings[1].detail.startswith("NATS at 127.0.0.1:1 is unavailable")
    assert findings[2].detail == "broker at 127.0.0.1:1 is unreachable: Connection refused"
    assert not any("s3cret" in f.detail for f in findings)


def test_volta_doctor_exits_nonzero_when_something_is_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register_all()
    monkeypatch.setenv("VOLTA_STORE", "duckdb")
    monkeypatch.setenv("VOLTA_MQTT", "mqtt://127.0.0.1:1")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL  mqtt" in result.output and "ok    bus" in result.output


def test_doctor_looks_in_the_data_dir_it_is_given_and_names_who_holds_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register_all()
    for name in ("VOLTA_STORE", "VOLTA_BUS", "VOLTA_MQTT", "VOLTA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = Settings(data_dir=tmp_path).duckdb_path
    free = CliRunner().invoke(app, ["doctor", "--data-dir", str(tmp_path)])
    assert free.exit_code == 0 and f"DuckDB at {path.resolve()}: not created yet" in free.output
    holder = subprocess.Popen(  # a running `volta serve` or demo, as DuckDB sees it
        [sys.executable, "-c", HOLD_DUCKDB, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        held = CliRunner().invoke(app, ["doctor", "--data-dir", str(tmp_path)])
    finally:
        holder.communicate("")  # closing its stdin lets it go
    assert held.exit_code == 1
    assert f"FAIL  store     the DuckDB store {path.resolve()} is in use by another process" in (
        held.output
    )
    assert f"(PID {holder.pid}," in held.output


HOLD_DUCKDB = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('holding', flush=True);"
    " sys.stdin.read()"
)


@pytest.mark.services
def test_scale_out_parts_on_postgresql_say_where_they_live_and_their_schema(
    pg_url: str, tmp_path: Path
) -> None:
    from volta.derived.postgres import PostgresDerivedStore

    settings = Settings(
        data_dir=tmp_path, store="duckdb", bus="memory", mqtt=None, registry=pg_url,
        derived=pg_url, places=pg_url, hazards=pg_url, diagnostics=pg_url, registry_key="ab" * 32,
        session_key="cd" * 32,
    )  # fmt: skip
    where = Server(pg_url).where
    found = {f.component: f for f in diagnose(settings)}
    assert all(f.ok for f in found.values()), found
    assert found["derived"].detail == (
        f"{where}, schema volta_derived: not created yet (made on first open)"
    )
    assert found["places"].detail.startswith(f"{where}, schema volta_places: not created yet")
    assert found["hazards"].detail.startswith(f"{where}, schema volta_hazards: not created yet")
    assert found["diagnostics"].detail.startswith(
        f"{where}, schema volta_diagnostics: not created yet"
    )
    assert found["registry"].detail.endswith("keys from VOLTA_REGISTRY_KEY and VOLTA_SESSION_KEY")
    PostgresDerivedStore(pg_url).close()  # a processors process opened it: migrated
    derived = diagnose(settings)[2]
    assert derived == Finding(
        "derived", True, f"{where}, schema volta_derived: version 1 (current)"
    )
    assert not any(tmp_path.iterdir()), "the doctor made nothing in the data dir"


def test_an_unknown_engine_for_the_derived_store_or_places_fails_with_the_choices(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, derived="mysql://u:pw@h/db", places="redis://h")
    found = {f.component: f for f in diagnose(settings)}
    assert found["derived"] == Finding(
        "derived", False,
        "unsupported VOLTA_DERIVED engine 'mysql': 'sqlite' or postgresql://user@host:port/db",
    )  # fmt: skip
    assert not found["places"].ok and "VOLTA_PLACES engine 'redis'" in found["places"].detail
