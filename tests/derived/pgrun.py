"""PostgreSQL for the derived-store and places contract suites: one database per test run
(made on first use, dropped after each package that uses it by its conftest, made again by the
next), one schema per store or book, so that runs never see each other's rows."""

from __future__ import annotations

from tests.store.pgkit import ADMIN_URL, RunDatabase

SERVICES_RUN = RunDatabase(ADMIN_URL)
