"""Simulator commands: `volta sim-cycle` (one vehicle over a speed trace) and `volta simulate`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the simulator's commands to the `volta` CLI."""
    from volta.sim.cycle_cli import sim_cycle
    from volta.sim.fleet_cli import simulate

    app.command("sim-cycle")(sim_cycle)
    app.command("simulate")(simulate)
