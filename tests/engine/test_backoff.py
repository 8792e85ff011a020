from core.engine.backoff import poll_delay, retry_delay


def test_poll_delay_grows_by_half_and_is_capped():
    assert [poll_delay(n, initial_seconds=10, max_seconds=40) for n in range(5)] == [10, 15, 22.5, 33.75, 40]


def test_retry_delay_doubles_is_capped_and_never_undercuts_retry_after():
    assert [retry_delay(n, initial_seconds=5, max_seconds=30) for n in range(4)] == [5, 10, 20, 30]
    assert retry_delay(0, initial_seconds=5, max_seconds=30, retry_after_seconds=1200) == 1200


def test_completion_is_planned_from_the_progress_of_the_slowest_region():
    from datetime import UTC, datetime, timedelta

    from core.engine.backoff import COMPLETION_MARGIN_SECONDS, completion_delay

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    before = {"westus": {"state": "Replicating", "progress": 10}, "eastus2": {"state": "Replicating", "progress": 20}}
    now_ = {"westus": {"state": "Replicating", "progress": 30}, "eastus2": {"state": "Completed", "progress": 100}}
    # westus: 20 points in 10 s -> 70 points left = 35 s
    delay = completion_delay(before, t0, now_, t0 + timedelta(seconds=10), min_seconds=2, max_seconds=300)
    assert delay == 35 + COMPLETION_MARGIN_SECONDS
    assert completion_delay(before, t0, now_, t0 + timedelta(seconds=10), min_seconds=2, max_seconds=20) == 20
    assert completion_delay({}, None, now_, t0, min_seconds=2, max_seconds=300) is None  # first poll
    stuck = {"westus": {"state": "Replicating", "progress": 10}}
    assert completion_delay(before, t0, stuck, t0 + timedelta(seconds=10), min_seconds=2, max_seconds=300) is None
    done = {"westus": {"state": "Completed", "progress": 100}}
    assert completion_delay(before, t0, done, t0 + timedelta(seconds=10), min_seconds=2, max_seconds=300) == 2
