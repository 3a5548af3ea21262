"""Print the route × role table of the API as Markdown, from the app's own route table:
`python -m volta.api.access_table` (docs/security.md carries its output)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from starlette.routing import BaseRoute

from volta.api.auth import route_table
from volta.registry import Role

COLUMNS = (Role.OPERATOR, Role.TECHNICIAN, Role.DRIVER, Role.VEHICLE)


def markdown(routes: Iterable[BaseRoute]) -> str:
    """One row per route and method: who may call it. `own` = only for the vehicles the caller
    may see (technician: its organisation's; driver: assigned; vehicle: itself)."""
    lines = [
        "| Method | Path | " + " | ".join(r.value for r in COLUMNS) + " | audited |",
        "|---|---|" + "---|" * len(COLUMNS) + "---|",
    ]
    rows: list[tuple[str, str, str]] = []
    for info in route_table(routes):
        policy = info.policy
        for method in info.methods:
            if policy is None:
                cells = ["**undeclared**"] * len(COLUMNS)
            elif policy.public:
                cells = ["public"] * len(COLUMNS)
            else:
                cells = [
                    ("own" if policy.vin and role is not Role.OPERATOR else "yes")
                    if role in policy.roles
                    else "—"
                    for role in COLUMNS
                ]
            writes = method not in ("GET", "HEAD", "WS")
            audited = "yes" if writes and (policy is None or policy.audit) else "—"
            row = f"| {method} | `{info.path}` | {' | '.join(cells)} | {audited} |"
            rows.append((info.path, method, row))
    lines += [row for _, _, row in sorted(rows)]
    return "\n".join(lines)


def main() -> None:
    from volta.api import create_app
    from volta.config import Settings
    from volta.platform import Platform

    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Settings(data_dir=Path(tmp), mqtt=None))
        try:
            print(markdown(create_app(platform).routes))
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
