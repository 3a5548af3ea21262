"""Commands that only read the registry create nothing and say where they looked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app


@pytest.mark.parametrize("group", ["vehicles", "tokens", "users"])
def test_a_list_without_a_registry_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, group: str
) -> None:
    _register_all()
    nowhere = tmp_path / "volta-data"
    result = CliRunner().invoke(app, [group, "list", "--data-dir", str(nowhere)])
    assert result.exit_code == 1
    error = json.loads(result.output.strip().splitlines()[-1])
    assert error["error"] == "NotFound"
    assert f"no registry in {nowhere.resolve()}" in error["message"]
    assert not nowhere.exists()


def test_a_list_of_an_existing_registry_prints_its_vehicles(tmp_path: Path) -> None:
    _register_all()
    runner = CliRunner()
    added = runner.invoke(
        app, ["vehicles", "add", "JHMZZ1A1XRV000001", "--data-dir", str(tmp_path)]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["vehicles", "list", "--data-dir", str(tmp_path)])
    assert listed.exit_code == 0
    assert [json.loads(line)["vin"] for line in listed.output.splitlines()] == ["JHMZZ1A1XRV000001"]
