"""Browser tests: Playwright driving Debian's Chromium against a real Volta fed by the
simulator. Never downloads a browser: `scripts/browser.sh` installs Debian's chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from volta.demo_fleet import HISTORY_S as DEMO_HISTORY_S

from .server import Server

if TYPE_CHECKING:  # playwright is imported when a browser test runs, not at collection
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = os.environ.get("VOLTA_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
# Tests never touch tracked files: screenshots go to an ignored folder unless `make screenshots`
# points VOLTA_SCREENSHOTS at docs/screenshots to refresh the README's pictures.
SCREENSHOTS = Path(os.environ.get("VOLTA_SCREENSHOTS") or REPO / "build" / "screenshots")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FLEET_SIZE = 40
# An hour of the demo's evening for the tests; the README's pictures (`make screenshots`) get
# the demo's whole day (`volta.demo_fleet.HISTORY_S`), as a user of `make demo` sees it.
HISTORY_S = DEMO_HISTORY_S if os.environ.get("VOLTA_SCREENSHOTS") else 3600

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def chromium_missing() -> str | None:
    """Why the browser tests cannot run, or None."""
    if not Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} is missing and scripts/browser.sh could not install it"
    return None


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("volta-web"))
    srv.feed_fleet(FLEET_SIZE, history_s=HISTORY_S)
    yield srv
    srv.close()


# Package scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, and tests after tests/web (e.g. tests/api's asyncio.run) need none to be running.
@pytest.fixture(scope="package")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A fresh tab of the package's browser, closed after the test."""
    p = browser_context.new_page()
    yield p
    p.close()


@pytest.fixture(scope="session")
def roadless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without a road network (no `roads`): no road sensing, no trip planner. No
    fleet: the pages' refusals need none."""
    from volta.config import Settings

    data_dir = tmp_path_factory.mktemp("volta-web-roadless")
    srv = Server(data_dir, settings=Settings(data_dir=data_dir, mqtt=None, roads=None))
    yield srv
    srv.close()
