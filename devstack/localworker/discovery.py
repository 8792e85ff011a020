"""Read the functions and their bindings from a v2-model app module, as the Python worker indexes them.

The module must define exactly one top-level `FunctionApp` (any name; `app` by convention). Its
`get_functions()` is called once: a second call raises a duplicate-function error in azure-functions.
App-setting references (`%NAME%`) in queue names and schedules resolve from the environment, as the host
resolves them. A function that cannot be served is reported and skipped; the others still run.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from types import ModuleType
from typing import Any

from azure.functions.decorators.function_app import FunctionRegister

from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.routes import RouteTemplate, compile_route
from devstack.localworker.schedules import Schedule, parse_schedule

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class QueueFunction:
    name: str
    arg_name: str
    queue_name: str
    connection: str
    user_function: Callable[..., Any]


@dataclass(frozen=True)
class TimerFunction:
    name: str
    arg_name: str
    schedule_text: str
    schedule: Schedule
    run_on_startup: bool
    user_function: Callable[..., Any]


@dataclass(frozen=True)
class HttpFunction:
    name: str
    arg_name: str
    route: RouteTemplate
    methods: frozenset[str]  # empty: every method
    auth_level: str
    user_function: Callable[..., Any]


@dataclass(frozen=True)
class EventGridFunction:
    name: str
    arg_name: str
    user_function: Callable[..., Any]


AppFunction = QueueFunction | TimerFunction | HttpFunction | EventGridFunction


@dataclass
class Discovery:
    """What an app module offers the worker: the functions it can serve and why others were skipped."""

    functions: list[AppFunction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of_type(self, kind: type) -> list[Any]:
        return [function for function in self.functions if isinstance(function, kind)]


def load_app(app_module: str | ModuleType) -> FunctionRegister:
    """The one FunctionApp defined at the top level of `app_module` (a module or its import name)."""
    if isinstance(app_module, str):
        try:
            module = importlib.import_module(app_module)
        except ModuleNotFoundError as error:
            if error.name != app_module.split(".")[0] and error.name != app_module:
                raise
            raise WorkerConfigError(
                f"app module {app_module!r} not found; run from the app's folder or pass --app-dir"
            ) from None
    else:
        module = app_module
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    unique = list({id(app): app for app in apps}.values())
    if not unique:
        raise WorkerConfigError(
            f"{module.__name__} defines no azure.functions.FunctionApp at top level; "
            "add `app = func.FunctionApp()`"
        )
    if len(unique) > 1:
        raise WorkerConfigError(
            f"{module.__name__} defines {len(unique)} FunctionApp instances; keep exactly one"
        )
    return unique[0]


def discover(app_module: str | ModuleType, env: Mapping[str, str], *, zone: tzinfo) -> Discovery:
    """Index the app's functions; `env` resolves `%NAME%` references and `AzureWebJobs.<name>.Disabled`."""
    app = load_app(app_module)
    discovery = Discovery()
    for function in app.get_functions():
        name = function.get_function_name()
        if _truthy(env.get(f"AzureWebJobs.{name}.Disabled", "")):
            discovery.problems.append(
                f"function {name!r} is disabled by AzureWebJobs.{name}.Disabled; skipped"
            )
            continue
        try:
            discovery.functions.append(_index(function, env, zone))
        except WorkerConfigError as error:
            discovery.problems.append(f"function {name!r} skipped: {error}")
    return discovery


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true")


def _plain(value: Any) -> Any:
    """Binding values as JSON would carry them (enums -> their values)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def resolve_settings(text: str, env: Mapping[str, str], *, field: str) -> str:
    """Replace every `%NAME%` in `text` with the app setting NAME; a missing setting is an error."""

    def replace(match: re.Match[str]) -> str:
        setting = match.group(1)
        if setting not in env:
            raise WorkerConfigError(
                f"{field} {text!r} refers to app setting {setting!r}, which is not set; set {setting}"
            )
        return env[setting]

    return _SETTING_REFERENCE.sub(replace, text)


def _index(function: Any, env: Mapping[str, str], zone: tzinfo) -> AppFunction:
    name: str = function.get_function_name()
    user_function = function.get_user_function()
    bindings = [
        {key: _plain(value) for key, value in b.get_dict_repr().items()} for b in function.get_bindings()
    ]
    triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
    if len(triggers) != 1:
        raise WorkerConfigError(f"has {len(triggers)} triggers; a function needs exactly one")
    trigger = triggers[0]
    kind = trigger["type"]
    others = [b for b in bindings if b is not trigger]
    unsupported = [b["type"] for b in others if not (kind == "httpTrigger" and b["type"] == "http")]
    if unsupported:
        raise WorkerConfigError(
            f"binding type(s) {', '.join(unsupported)} are not supported by the local worker"
        )
    arg_name = trigger["name"]
    if kind == "queueTrigger":
        queue = resolve_settings(str(trigger["queueName"]), env, field="queueName").strip().lower()
        if not _QUEUE_NAME.match(queue):
            raise WorkerConfigError(
                f"queueName {queue!r} is not a valid queue name; "
                "use 3-63 lowercase letters, digits and single hyphens"
            )
        return QueueFunction(name, arg_name, queue, str(trigger.get("connection") or ""), user_function)
    if kind == "timerTrigger":
        text = resolve_settings(str(trigger["schedule"]), env, field="schedule")
        schedule = parse_schedule(text, field="schedule", zone=zone)
        return TimerFunction(name, arg_name, text, schedule, bool(trigger.get("runOnStartup")), user_function)
    if kind == "httpTrigger":
        methods = frozenset(str(m).upper() for m in trigger.get("methods") or [])
        unknown = methods - HTTP_METHODS
        if unknown:
            raise WorkerConfigError(f"methods {sorted(unknown)} are not HTTP methods")
        route = compile_route(str(trigger.get("route") or name))
        auth = str(trigger.get("authLevel") or "function").lower()
        return HttpFunction(name, arg_name, route, methods, auth, user_function)
    if kind == "eventGridTrigger":
        return EventGridFunction(name, arg_name, user_function)
    raise WorkerConfigError(f"trigger type {kind!r} is not supported by the local worker")
