"""host.json is tuned for Azure (an idle queue polled once a minute, not every 2 s), the local worker keeps its
fast polling through its own setting, and the re-drive timer does not run on every start-up and scale-out."""

import importlib.util
from datetime import UTC, timedelta

import pytest

from devstack.azurite import PROJECT_ROOT
from devstack.localworker.discovery import TimerFunction, discover
from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.hostconfig import load_host_config, local_polling

HOST_JSON = PROJECT_ROOT / "host.json"


def test_host_json_polls_idle_queues_at_most_once_a_minute_in_azure():
    queues = load_host_config(HOST_JSON, {}).queues
    assert queues.max_polling_interval == timedelta(minutes=1)
    assert queues.batch_size + queues.new_batch_threshold <= 16, "concurrent steps per instance stay bounded"


def test_the_local_worker_polls_every_2_s_unless_told_otherwise():
    config = load_host_config(HOST_JSON, {})
    assert local_polling(config, {}).queues.max_polling_interval == timedelta(seconds=2)
    assert local_polling(config, {"LOCAL_WORKER_MAX_POLLING_SECONDS": "0.5"}).queues.max_polling_interval == \
        timedelta(seconds=0.5)
    fast = load_host_config(HOST_JSON, {"AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:01"})
    assert local_polling(fast, {}).queues.max_polling_interval == timedelta(seconds=1)
    with pytest.raises(WorkerConfigError, match="LOCAL_WORKER_MAX_POLLING_SECONDS"):
        local_polling(config, {"LOCAL_WORKER_MAX_POLLING_SECONDS": "soon"})


def test_the_redrive_timer_does_not_run_on_start_up():
    # A private copy of the module: its FunctionApp can be indexed only once per instance.
    spec = importlib.util.spec_from_file_location("function_app_copy", PROJECT_ROOT / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    discovery = discover(module, {"AUDIT_SCHEDULE": "0 0 6 * * *"}, zone=UTC)
    [redrive] = [timer for timer in discovery.of_type(TimerFunction) if timer.name == "redrive_overdue_builds"]
    assert redrive.run_on_startup is False
