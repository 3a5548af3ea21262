"""The OTA campaigns page in a real browser: the list with each campaign's progress, the
selected campaign's progress per wave and failure reasons per hardware variant, and the pause
and resume buttons acting on the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import Page, expect

from tests.ota.otakit import ManualClock, Ota
from volta.ota.rollout import Policy
from volta.ota.runner import CampaignRunner, CampaignSpec, MemoryDirector, images_of
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter

from .test_dashboard import sign_in

pytestmark = pytest.mark.slow

NMC, LFP = "bms-nmc-96s", "bms-lfp-108s"


@pytest.fixture
def campaigns(server: Server) -> Iterator[CampaignRunner]:
    """Campaigns over a fleet of 40 BMSs (a quarter LFP) on an in-process director, shown by
    the shared server while the test runs."""
    clock = ManualClock()
    ota = Ota(clock)
    for variant in (NMC, LFP):
        ota.image.add_image("acme", "bms", variant, "1.1.0", f"bms {variant}".encode())
    fleet = [
        FleetVehicle(
            f"WVOLTA{i:011d}",
            "volta-one",
            "eu",
            (InstalledEcu("BMS", "bms", LFP if i % 4 == 0 else NMC, "1.0.0"),),
        )
        for i in range(40)
    ]
    runner = CampaignRunner(
        None, MemoryDirector(ota.director), images_of(ota.image), lambda: fleet, clock
    )
    policy = Policy(waves=(0.25, 1.0), success_threshold=0.5, failure_threshold=0.4, max_attempts=1)
    bms = runner.create(CampaignSpec("bms-1.1.0", TargetFilter("bms"), "1.1.0", policy), "olga")
    runner.act("bms-1.1.0", "start")
    for vin, car in list(bms.campaign.cars.items()):
        if car.wave == 0:
            lfp = bms.slots[vin].variant == LFP
            runner.report("bms-1.1.0", vin, "downloading")
            runner.report("bms-1.1.0", vin, "installing")
            runner.report(
                "bms-1.1.0",
                vin,
                "failed" if lfp else "succeeded",
                "health check: cell balancing fault" if lfp else "",
            )
    only = TargetFilter("bms", hardware_variants=frozenset({NMC}))
    runner.create(CampaignSpec("bms-nmc-only", only, "1.1.0"), "olga")
    server.platform.campaigns = runner
    try:
        yield runner
    finally:
        server.platform.campaigns = None


def test_an_operator_follows_a_campaign_and_pauses_and_resumes_it(
    page: Page, server: Server, campaigns: CampaignRunner
) -> None:
    view = campaigns.progress("bms-1.1.0")
    assert view["phase"] == "running" and view["released_waves"] == 2
    console = sign_in(page, server, at="#/campaigns/bms-1.1.0")
    expect(page.locator("#c-table tr[data-id]")).to_have_count(2, timeout=10_000)
    expect(page.locator("#d-title")).to_contain_text("bms-1.1.0 · bms 1.1.0")
    expect(page.locator("#d-phase")).to_have_attribute("data-phase", "running")
    first = page.locator('#d-waves tr[data-wave="1"]')
    succeeded = view["waves"][0]["states"]["succeeded"]
    expect(first.locator("td").nth(3)).to_have_text(str(succeeded))
    failing = page.locator(f'#d-failures tr[data-variant="{LFP}"]')
    expect(failing).to_contain_text("health check: cell balancing fault")
    expect(page.locator("#d-failures tr[data-variant]")).to_have_count(1)  # NMC never failed
    page.screenshot(path=str(SCREENSHOTS / "campaigns.png"), full_page=True)
    page.click('#c-detail button[data-action="pause"]')
    expect(page.locator("#d-phase")).to_have_attribute("data-phase", "paused")
    assert campaigns.progress("bms-1.1.0")["phase"] == "paused"
    page.click('#c-detail button[data-action="resume"]')
    expect(page.locator("#d-phase")).to_have_attribute("data-phase", "running")
    assert campaigns.progress("bms-1.1.0")["phase"] == "running"
    # the other campaign, not started yet: its page offers to start it
    page.click('#c-table tr[data-id="bms-nmc-only"]')
    expect(page.locator("#d-phase")).to_have_attribute("data-phase", "paused")
    expect(page.locator('#c-detail button[data-action="resume"]')).to_have_count(0)
    page.click('#c-detail button[data-action="start"]')
    expect(page.locator("#d-phase")).to_have_attribute("data-phase", "running")
    assert campaigns.progress("bms-nmc-only")["released_waves"] == 1
    assert console.errors == []
