from core.orchestration.backoff import poll_delay, retry_delay


def test_poll_delay_grows_by_half_and_is_capped():
    assert [poll_delay(n, initial_seconds=10, max_seconds=40) for n in range(5)] == [10, 15, 22.5, 33.75, 40]


def test_retry_delay_doubles_is_capped_and_never_undercuts_retry_after():
    assert [retry_delay(n, initial_seconds=5, max_seconds=30) for n in range(4)] == [5, 10, 20, 30]
    assert retry_delay(0, initial_seconds=5, max_seconds=30, retry_after_seconds=1200) == 1200
