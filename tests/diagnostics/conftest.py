"""The diagnostics state's table on both engines: SQLite in a temp data dir and PostgreSQL (a
schema of its own in the run's database, dropped after; skipped when no server listens)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.derived.pgrun import SERVICES_RUN
from volta.config import Settings
from volta.diagnostics.store import DiagnosticsTable, open_diagnostics_table


@pytest.fixture(scope="module", autouse=True)
def _drop_services_database() -> Iterator[None]:
    yield
    SERVICES_RUN.drop()


def _sqlite(tmp_path: Path) -> Callable[[], DiagnosticsTable]:
    return lambda: open_diagnostics_table(Settings(data_dir=tmp_path))


def _postgresql(tmp_path: Path) -> Callable[[], DiagnosticsTable]:
    url, schema = SERVICES_RUN.ensure(), SERVICES_RUN.new_schema()
    return lambda: open_diagnostics_table(
        Settings(data_dir=tmp_path, diagnostics=url, diagnostics_schema=schema)
    )


ENGINES = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(ENGINES))
def table_opener(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], DiagnosticsTable]]:
    """Opens the table of one engine on one fresh state, as each new process would."""
    make = ENGINES[request.param](tmp_path)
    opened: list[DiagnosticsTable] = []

    def factory() -> DiagnosticsTable:
        opened.append(make())
        return opened[-1]

    yield factory
    for table in opened:
        table.close()
