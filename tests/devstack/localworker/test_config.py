"""host.json options, TimeSpan parsing, schedules and app-setting resolution (no storage needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devstack.localworker.discovery import resolve_settings
from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.hostconfig import QueueOptions, load_host_config
from devstack.localworker.queue_listener import poll_delays
from devstack.localworker.schedules import CronSchedule, IntervalSchedule, parse_schedule, time_zone
from devstack.localworker.timespan import parse_timespan
from devstack.localworker.worker import message_lease


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:30", timedelta(seconds=30)),
        ("00:00:00.200", timedelta(milliseconds=200)),
        ("01:02:03", timedelta(hours=1, minutes=2, seconds=3)),
        ("1.00:00:00", timedelta(days=1)),
        ("2.03:04", timedelta(days=2, hours=3, minutes=4)),
        ("24:00:00", timedelta(days=24)),  # .NET reads dd:hh:mm once hours overflow
        ("7", timedelta(days=7)),
        ("-00:00:05", timedelta(seconds=-5)),
    ],
)
def test_timespan_forms(text, expected):
    assert parse_timespan(text, field="f") == expected


@pytest.mark.parametrize("text", ["", "30s", "00:60:00", "1:2:3:4", "00:00:xx", "24:24:00"])
def test_timespan_errors_name_the_field(text):
    with pytest.raises(WorkerConfigError, match=r"^visibilityTimeout=.*hh:mm:ss"):
        parse_timespan(text, field="visibilityTimeout")


def test_host_defaults_without_host_json():
    config = load_host_config(None, {})
    assert config.queues == QueueOptions()
    assert config.queues.new_batch_threshold == config.queues.batch_size // 2
    assert config.route_prefix == "api"


def test_host_json_values_case_insensitive_and_env_overrides(tmp_path):
    path = tmp_path / "host.json"
    queues = {"BatchSize": 4, "maxPollingInterval": "00:00:02", "visibilityTimeout": "00:00:30",
              "maxDequeueCount": 7, "messageEncoding": "None"}  # fmt: skip
    path.write_text(
        json.dumps({"version": "2.0", "extensions": {"queues": queues, "http": {"routePrefix": ""}}})
    )
    env = {
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "2",
        "azurefunctionsjobhost__Extensions__Queues__NewBatchThreshold": "1",
    }
    config = load_host_config(path, env)
    assert config.queues == QueueOptions(
        batch_size=4,
        new_batch_threshold=1,
        max_polling_interval=timedelta(seconds=2),
        visibility_timeout=timedelta(seconds=30),
        max_dequeue_count=2,
        message_encoding="none",
    )
    assert config.route_prefix == ""


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ({"batchSize": 0}, r"extensions\.queues\.batchSize=0 is out of range; use 1\.\.32"),
        ({"batchSize": "many"}, r"extensions\.queues\.batchSize='many' is not a whole number"),
        ({"maxDequeueCount": 0}, r"extensions\.queues\.maxDequeueCount=0 is out of range"),
        ({"maxPollingInterval": "00:00:00.050"}, r"maxPollingInterval must be at least"),
        ({"messageEncoding": "utf8"}, r"messageEncoding='utf8'; use 'base64' or 'none'"),
        ({"visibilityTimeout": "soon"}, r"visibilityTimeout='soon' is not a TimeSpan"),
    ],
)
def test_host_json_errors_name_the_field(tmp_path, queues, message):
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"extensions": {"queues": queues}}))
    with pytest.raises(WorkerConfigError, match=message):
        load_host_config(path, {})


def test_missing_and_broken_host_json(tmp_path):
    with pytest.raises(WorkerConfigError, match=r"host\.json not found"):
        load_host_config(tmp_path / "host.json", {})
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(WorkerConfigError, match="not valid JSON"):
        load_host_config(tmp_path / "host.json", {})


def test_project_host_json_is_accepted():
    """The app's own host.json (repository root) loads with the worker's rules."""
    from devstack.azurite import PROJECT_ROOT

    config = load_host_config(PROJECT_ROOT / "host.json", {})
    assert 1 <= config.queues.batch_size <= 32


def test_message_lease_setting():
    assert message_lease({}) == timedelta(minutes=10)
    assert message_lease({"LOCAL_WORKER_MESSAGE_LEASE_SECONDS": "3"}) == timedelta(seconds=3)
    with pytest.raises(WorkerConfigError, match="LOCAL_WORKER_MESSAGE_LEASE_SECONDS"):
        message_lease({"LOCAL_WORKER_MESSAGE_LEASE_SECONDS": "0"})


def test_poll_delays_double_up_to_the_cap():
    assert poll_delays(0.1, 1.0) == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert poll_delays(0.1, 0.1) == [0.1]


START = datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)  # a Monday in January


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/1 * * * * *", datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC)),
        ("30 * * * * *", datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)),
        ("0 */5 * * * *", datetime(2024, 1, 1, 0, 5, tzinfo=UTC)),
        ("0 30 9 * * 1-5", datetime(2024, 1, 1, 9, 30, tzinfo=UTC)),
        ("0 30 9 * January Tuesday", datetime(2024, 1, 2, 9, 30, tzinfo=UTC)),
        ("0 0 * * *", datetime(2024, 1, 1, 0, 0, tzinfo=UTC) + timedelta(days=1)),  # five fields: no seconds
    ],
)
def test_ncrontab_seconds_first(expression, expected):
    schedule = parse_schedule(expression, field="schedule")
    assert isinstance(schedule, CronSchedule)
    assert schedule.first_after(START) == expected


def test_cron_skips_occurrences_missed_while_running():
    schedule = parse_schedule("*/1 * * * * *", field="schedule")
    due = datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert schedule.following(due, due + timedelta(seconds=3.5)) == due + timedelta(seconds=4)


def test_timespan_schedule_runs_at_fixed_intervals():
    schedule = parse_schedule("00:00:10", field="schedule")
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.first_after(START) == START + timedelta(seconds=10)
    due = START + timedelta(seconds=10)
    assert schedule.following(due, due + timedelta(seconds=25)) == due + timedelta(seconds=10)  # overran: now


def test_schedule_in_website_time_zone():
    zone = time_zone({"WEBSITE_TIME_ZONE": "America/New_York"})
    schedule = parse_schedule("0 0 10 * * *", field="schedule", zone=zone)
    assert schedule.first_after(START) == datetime(2024, 1, 1, 15, 0, tzinfo=UTC)
    with pytest.raises(WorkerConfigError, match="WEBSITE_TIME_ZONE='Eastern Standard Time' is not an IANA"):
        time_zone({"WEBSITE_TIME_ZONE": "Eastern Standard Time"})


@pytest.mark.parametrize(
    "expression", ["* * * *", "61 * * * * *", "0 0 * * Foo *", "every minute", "00:00:00"]
)
def test_bad_schedules_are_rejected(expression):
    with pytest.raises(WorkerConfigError, match=r"^schedule="):
        parse_schedule(expression, field="schedule")


def test_app_setting_references_resolve_from_env():
    env = {"QUEUE": "orders", "ENV": "dev"}
    assert resolve_settings("%QUEUE%-%ENV%", env, field="queueName") == "orders-dev"
    assert resolve_settings("plain", env, field="queueName") == "plain"
    with pytest.raises(WorkerConfigError, match="refers to app setting 'MISSING', which is not set"):
        resolve_settings("%MISSING%", env, field="queueName")
