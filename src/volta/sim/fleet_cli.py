"""`volta simulate`: a fleet on real roads (owned by the fleet work)."""

from __future__ import annotations

import typer


def simulate() -> None:
    """Not built yet."""
    raise typer.Exit("simulate is not built yet")
