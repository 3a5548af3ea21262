"""The campaign state machine: waves that advance or halt on their own, operator actions,
timeouts, retries with back-off, and reports that do not fit."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volta.errors import BadRequest, Conflict
from volta.ota.campaign import Campaign, Campaigns
from volta.ota.rollout import Effects, Phase, Policy, Progress

T0 = 1_800_000_000_000
LENIENT = Policy(failure_threshold=1.0)  # never halts: for tests of other rules


def vins(n: int) -> list[str]:
    return [f"WVOLTA{i:011d}" for i in range(n)]


def started(n: int, policy: Policy | None = None, now_ms: int = T0) -> tuple[Campaign, Effects]:
    campaign = Campaign("c1", vins(n), policy or Policy(), rand=lambda: 0.0)
    return campaign, campaign.start(now_ms)


def succeed(campaign: Campaign, vin: str, now_ms: int = T0) -> Effects:
    effects = campaign.report(vin, "downloading", now_ms)
    effects += campaign.report(vin, "installing", now_ms)
    return effects + campaign.report(vin, "succeeded", now_ms)


def fail(campaign: Campaign, vin: str, now_ms: int = T0) -> Effects:
    return campaign.report(vin, "downloading", now_ms) + campaign.report(
        vin, "failed", now_ms, "health check: boot loop"
    )


@pytest.mark.parametrize(
    ("cars", "ends"),
    [(1000, [10, 100, 500, 1000]), (50, [1, 5, 25, 50]), (3, [1, 2, 3, 3]), (1, [1, 1, 1, 1])],
)
def test_waves_release_1_10_50_100_percent_and_at_least_one_car(cars: int, ends: list[int]) -> None:
    assert Policy().wave_ends(cars) == ends


def test_start_assigns_the_first_wave_only() -> None:
    campaign, effects = started(1000)
    assert effects == Effects(assign=tuple(vins(1000)[:10]))
    assert campaign.phase is Phase.RUNNING
    assert campaign.cars[vins(1000)[10]].state is Progress.WAITING


def test_next_wave_is_released_when_the_success_threshold_is_met() -> None:
    campaign, _ = started(1000)
    first = vins(1000)[:10]
    for vin in first[:9]:
        assert succeed(campaign, vin).assign == ()  # 9 of 10 is below 95 %
    effects = succeed(campaign, first[9])
    assert effects.assign == tuple(vins(1000)[10:100])
    assert campaign.wave == 1


def test_campaign_halts_itself_above_the_failure_threshold() -> None:
    campaign, _ = started(1000)
    for vin in vins(1000)[:10]:
        succeed(campaign, vin)
    second = vins(1000)[10:100]  # 100 cars released now; 5 % of them is 5
    for vin in second[:5]:
        fail(campaign, vin)
    assert (campaign.phase, campaign.wave) == (Phase.RUNNING, 1)  # 5 of 100 is not above 5 %
    succeed(campaign, second[5])
    effects = fail(campaign, second[6])
    assert campaign.phase is Phase.HALTED
    assert campaign.halt_reason == (
        "wave 2: 6 of 100 vehicles failing, above the failure threshold of 5%"
    )
    # the failing car, then every car not installing: retrying (0-4, 6) or not started (7-)
    assert effects.withdraw == (second[6], *second[:5], *second[7:])
    assert campaign.cars[vins(1000)[500]].state is Progress.WITHDRAWN
    assert campaign.tick(T0 + 10**9).assign == ()  # no retry, no wave after a halt


def test_pause_holds_the_next_wave_until_resume() -> None:
    campaign, _ = started(100, LENIENT)
    campaign.pause(T0)
    assert succeed(campaign, vins(100)[0]).assign == ()
    assert campaign.phase is Phase.PAUSED
    assert campaign.resume(T0).assign == tuple(vins(100)[1:10])


def test_policy_can_pause_after_each_wave() -> None:
    campaign, _ = started(100, Policy(pause_after_each_wave=True))
    assert succeed(campaign, vins(100)[0]) == Effects()
    assert campaign.phase is Phase.PAUSED
    assert campaign.resume(T0).assign == tuple(vins(100)[1:10])


def test_cancel_withdraws_every_car_that_has_not_started() -> None:
    campaign, _ = started(100, LENIENT)
    succeed(campaign, vins(100)[0])  # releases cars 1..9
    campaign.report(vins(100)[1], "downloading", T0)
    effects = campaign.cancel(T0)
    assert effects.withdraw == tuple(vins(100)[2:10])
    assert campaign.cars[vins(100)[1]].state is Progress.DOWNLOADING  # finishes on its own
    assert campaign.report(vins(100)[2], "downloading", T0) == Effects()
    assert campaign.ignored.entries[-1].reason == "'downloading' does not follow 'withdrawn'"


def test_install_that_never_reports_times_out_into_a_retry() -> None:
    campaign, _ = started(1, LENIENT)
    vin = vins(1)[0]
    campaign.report(vin, "downloading", T0)
    timeout = LENIENT.install_timeout_ms
    assert campaign.tick(T0 + timeout - 1) == Effects()
    assert campaign.tick(T0 + timeout) == Effects(withdraw=(vin,))
    car = campaign.cars[vin]
    assert car.state is Progress.RETRY_WAIT
    assert car.reason == "no report for 7200 s (install timeout)"


def test_failed_attempts_are_retried_with_growing_back_off_then_given_up() -> None:
    campaign, _ = started(1, LENIENT)
    vin = vins(1)[0]
    now = T0
    for attempt, delay_ms in ((1, 30_000), (2, 60_000)):  # base 60 s * 2**k, jitter 0.5
        fail(campaign, vin, now)
        car = campaign.cars[vin]
        assert (car.state, car.attempts, car.retry_at_ms) == (
            Progress.RETRY_WAIT,
            attempt,
            now + delay_ms,
        )
        assert campaign.tick(now + delay_ms - 1) == Effects()
        assert campaign.tick(now + delay_ms) == Effects(assign=(vin,))
        now += delay_ms
    fail(campaign, vin, now)
    car = campaign.cars[vin]
    assert (car.state, car.attempts, car.reason) == (
        Progress.FAILED,
        3,
        "health check: boot loop",
    )
    assert campaign.phase is Phase.COMPLETED


def test_retried_car_that_succeeds_no_longer_counts_as_failing() -> None:
    campaign, _ = started(1000, Policy(failure_threshold=0.5))
    first = vins(1000)[:10]
    for vin in first[:4]:
        fail(campaign, vin)
    for vin in first[4:]:
        succeed(campaign, vin)
    campaign.tick(T0 + 30_000)  # the four are assigned again
    for vin in first[:4]:
        effects = succeed(campaign, vin, T0 + 30_000)
    assert campaign.phase is Phase.RUNNING
    assert effects.assign == tuple(vins(1000)[10:100])


def test_campaign_completes_when_every_car_is_done() -> None:
    campaign, _ = started(3)
    for vin in vins(3):
        succeed(campaign, vin)
    assert campaign.phase is Phase.COMPLETED


@pytest.mark.parametrize(
    ("vin_index", "state", "reason"),
    [
        (0, "succeeded", "'succeeded' does not follow 'assigned'"),
        (0, "installing", "'installing' does not follow 'assigned'"),
        (0, "exploded", "'exploded' does not follow 'assigned'"),
        (0, "rolled_back", "'rolled_back' does not follow 'assigned'"),
        (500, "downloading", "'downloading' does not follow 'waiting'"),
    ],
)
def test_report_out_of_order_is_recorded_and_ignored(
    vin_index: int, state: str, reason: str
) -> None:
    campaign, _ = started(1000)
    vin = vins(1000)[vin_index]
    before = campaign.cars[vin]
    assert campaign.report(vin, state, T0 + 5) == Effects()
    assert campaign.cars[vin] == before
    ignored = campaign.ignored.entries[-1]
    assert (ignored.at_ms, ignored.vin, ignored.state, ignored.reason) == (
        T0 + 5,
        vin,
        state,
        reason,
    )


def test_report_from_a_car_outside_the_campaign_is_recorded_and_ignored() -> None:
    campaign, _ = started(10)
    assert campaign.report("WVOLTA99999999999", "succeeded", T0) == Effects()
    assert campaign.ignored.entries[-1].reason == "the vehicle is not in this campaign"


def test_a_flood_of_bad_reports_is_counted_and_memory_stays_bounded() -> None:
    campaign, _ = started(10)
    for i in range(25_000):
        campaign.report(f"WVOLTA9{i:010d}", "succeeded", T0 + i)
    assert campaign.ignored.total == 25_000
    assert len(campaign.ignored.entries) == 10_000
    assert campaign.ignored.entries[0].at_ms == T0 + 15_000


def test_report_for_an_unknown_campaign_is_recorded_and_ignored() -> None:
    campaigns = Campaigns()
    campaign, _ = started(10)
    campaigns.add(campaign)
    assert campaigns.report("c-none", vins(10)[0], "succeeded", T0) == Effects()
    assert [(i.campaign_id, i.reason) for i in campaigns.ignored.entries] == [
        ("c-none", "unknown campaign")
    ]
    assert campaigns.report("c1", vins(10)[0], "downloading", T0) == Effects()
    assert campaign.cars[vins(10)[0]].state is Progress.DOWNLOADING


def test_rolled_back_after_a_failure_changes_nothing() -> None:
    campaign, _ = started(1, LENIENT)
    vin = vins(1)[0]
    fail(campaign, vin)
    before = campaign.cars[vin]
    assert campaign.report(vin, "rolled_back", T0) == Effects()
    assert campaign.cars[vin] == before
    assert campaign.ignored.total == 0


def test_campaign_matching_no_vehicle_is_refused() -> None:
    with pytest.raises(BadRequest, match="c1: its filter matches no vehicle"):
        Campaign("c1", [], Policy())


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"waves": (0.1, 0.5)}, "the last wave must be 1.0"),
        ({"waves": (0.5, 0.1, 1.0)}, "shares must grow"),
        ({"failure_threshold": 1.5}, "failure_threshold 1.5 is not between 0 and 1"),
        ({"max_attempts": 0}, "must be > 0"),
    ],
)
def test_bad_policy_is_refused(policy: dict[str, object], reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        Policy(**policy)  # type: ignore[arg-type]


def test_operator_actions_out_of_turn_are_conflicts() -> None:
    campaign, _ = started(10)
    with pytest.raises(Conflict, match="has started already"):
        campaign.start(T0)
    with pytest.raises(Conflict, match="c1 is running; only a paused one resumes"):
        campaign.resume(T0)
    campaign.cancel(T0)
    with pytest.raises(Conflict, match="c1 is cancelled; cannot pause"):
        campaign.pause(T0)
    with pytest.raises(Conflict, match="cancelled already"):
        campaign.cancel(T0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 29),
            st.sampled_from(["downloading", "installing", "succeeded", "failed", "rolled_back"]),
            st.integers(0, 3 * 3_600_000),
        ),
        max_size=120,
    ),
    st.floats(0.0, 1.0),
)
def test_kept_counts_equal_a_recount_whatever_the_reports(
    reports: list[tuple[int, str, int]], failure_threshold: float
) -> None:
    campaign, _ = started(30, Policy(failure_threshold=failure_threshold))
    now = T0
    for index, state, step_ms in reports:
        now += step_ms
        campaign.report(vins(30)[index], state, now)
        campaign.tick(now)
        recount = Counter(car.state for car in campaign.released())
        assert campaign.counts() == {state: n for state, n in recount.items() if n}
