"""Call a user function the way the Python worker does, with one log line at start and one at the end.

Arguments go by binding name; a parameter named `context` gets a `func.Context`. Coroutine functions
run to completion on a fresh event loop. Log lines carry the function name, invocation id, the trigger's
identifying details (message id, dequeue count...) and the duration, never the payload.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func

log = logging.getLogger("devstack.localworker")


class LocalContext(func.Context):
    """The `context` argument: invocation id and function name (no tracing or retry context locally)."""

    def __init__(self, invocation_id: str, function_name: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return ""

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def invoke(
    function_name: str,
    user_function: Callable[..., Any],
    arguments: Mapping[str, Any],
    *,
    reason: str,
    details: str = "",
) -> Any:
    """Run `user_function(**arguments)`, log start and end, and return its result; exceptions propagate."""
    invocation_id = str(uuid.uuid4())
    kwargs = dict(arguments)
    if "context" in inspect.signature(user_function).parameters and "context" not in kwargs:
        kwargs["context"] = LocalContext(invocation_id, function_name)
    suffix = f", {details}" if details else ""
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s%s)", function_name, reason, invocation_id, suffix)
    started = time.monotonic()
    outcome = "Failed"
    try:
        result = user_function(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        outcome = "Succeeded"
        return result
    finally:
        duration_ms = (time.monotonic() - started) * 1000
        log.info(
            "Executed 'Functions.%s' (%s, Id=%s%s, Duration=%dms)",
            function_name,
            outcome,
            invocation_id,
            suffix,
            duration_ms,
        )


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
