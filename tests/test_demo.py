"""`volta demo` as a new user meets it: options that work, one clear line when it cannot start."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from volta.cli import _register_all, app


def _demo_options() -> set[str]:
    _register_all()
    group = typer.main.get_command(app)
    demo = group.commands["demo"]  # type: ignore[attr-defined]
    return {opt for p in demo.params for opt in p.opts}


def test_demo_has_no_speedup_that_would_date_samples_in_the_future() -> None:
    # A faster clock sends samples from the future, which the gateway refuses (ts_in_future).
    assert "--speedup" not in _demo_options()
    result = CliRunner().invoke(app, ["demo", "--speedup", "60"])
    assert result.exit_code == 2 and "No such option" in result.output
