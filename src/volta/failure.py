"""How a command that answers in JSON ends on an error: the error as JSON on stderr, exit 1.

The commands that print JSON for scripts (`volta vehicles …`, `volta users …`, `volta tokens
…`, `volta vehicles provision`, `volta ota …`) fail the same way, so a script reads one shape.
"""

from __future__ import annotations

import json
from typing import NoReturn

import typer

from volta.errors import VoltaError


def fail(exc: VoltaError | OSError) -> NoReturn:
    """End the command: `{"error": class name, "message": reason}` on stderr, exit code 1."""
    typer.echo(json.dumps({"error": type(exc).__name__, "message": str(exc)}), err=True)
    raise typer.Exit(1)
