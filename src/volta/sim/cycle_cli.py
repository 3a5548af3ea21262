"""`volta sim-cycle`: one vehicle over a speed trace (owned by the physics work)."""

from __future__ import annotations

import typer


def sim_cycle() -> None:
    """Not built yet."""
    raise typer.Exit("sim-cycle is not built yet")
