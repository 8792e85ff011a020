"""Serve one queue-triggered function: poll its queue, run messages in a small pool, settle each one.

Settling follows the Storage extension's QueueProcessor:
- a message already dequeued more than maxDequeueCount times (its worker died mid-run) goes straight to
  `<queue>-poison` without a call;
- success deletes the message;
- failure makes it visible again after `visibilityTimeout`, or, once its dequeue count has reached
  `maxDequeueCount`, copies it (same text) to `<queue>-poison`, created if missing, and deletes it.

While a function runs, the worker holds the message invisible for its lease (the host uses 10 minutes) and
renews the lease at half-time, so a long run is not redelivered while a dead worker's message comes back
once its lease runs out. Polling an empty queue backs off exponentially from 100 ms to maxPollingInterval.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient

from devstack.localworker.discovery import QueueFunction
from devstack.localworker.hostconfig import MIN_POLLING_INTERVAL, QueueOptions
from devstack.localworker.invocation import invoke
from devstack.localworker.messages import UndecodableMessage, decode_body, to_function_message

log = logging.getLogger("devstack.localworker")
POISON_SUFFIX = "-poison"


@dataclass
class _Lease:
    """A message this worker holds invisible; `pop_receipt` changes with every renewal."""

    message_id: str
    pop_receipt: str
    renew_at: float
    lock: threading.Lock
    settled: bool = False


def poll_delays(minimum: float, maximum: float) -> list[float]:
    """The waits between polls of an empty queue: doubling from `minimum`, capped at `maximum`."""
    delays, delay = [], minimum
    while delay < maximum:
        delays.append(delay)
        delay *= 2
    delays.append(maximum)
    return delays


class QueueListener:
    """Polls `function.queue_name` and invokes `function` for each message; see the module docstring."""

    def __init__(
        self,
        function: QueueFunction,
        service: QueueServiceClient,
        options: QueueOptions,
        *,
        lease: timedelta,
        stopping: threading.Event,
    ) -> None:
        self.function = function
        self.options = options
        self.queue: QueueClient = service.get_queue_client(function.queue_name)
        self.poison: QueueClient = service.get_queue_client(function.queue_name + POISON_SUFFIX)
        self._lease_seconds = max(1, int(lease.total_seconds()))
        self._release_seconds = int(options.visibility_timeout.total_seconds())
        self._stopping = stopping
        self._in_flight = 0
        self._leases: dict[str, _Lease] = {}
        self._condition = threading.Condition()
        self._pool = ThreadPoolExecutor(
            max_workers=options.batch_size + options.new_batch_threshold,
            thread_name_prefix=f"queue-{function.name}",
        )
        self._threads: list[threading.Thread] = []
        self._settled_all = threading.Event()  # set once stopping and the pool has drained

    @property
    def in_flight(self) -> int:
        """Messages received by this worker and not yet settled."""
        with self._condition:
            return self._in_flight

    def prepare(self) -> None:
        """Create the trigger queue if it does not exist, as the host does."""
        with contextlib.suppress(ResourceExistsError):
            self.queue.create_queue()

    def approximate_count(self) -> int:
        """The queue's approximate message count (invisible messages included)."""
        return int(self.queue.get_queue_properties().approximate_message_count or 0)

    def start(self) -> None:
        for target, name in ((self._poll, "poll"), (self._renew_leases, "lease")):
            thread = threading.Thread(target=target, name=f"{name}-{self.function.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        """Wait for in-flight messages to settle; call after setting the stop event."""
        for thread in self._threads[:1]:
            thread.join()
        self._pool.shutdown(wait=True)
        self._settled_all.set()
        for thread in self._threads[1:]:
            thread.join()

    # Polling ---------------------------------------------------------------------------------------

    def _poll(self) -> None:
        delays = poll_delays(
            MIN_POLLING_INTERVAL.total_seconds(), self.options.max_polling_interval.total_seconds()
        )
        empty_polls = 0
        while not self._stopping.is_set():
            with self._condition:
                while self._in_flight > self.options.new_batch_threshold and not self._stopping.is_set():
                    self._condition.wait(0.5)
            if self._stopping.is_set():
                break
            try:
                messages = self._receive()
            except AzureError as error:
                log.warning("Polling queue %r failed: %s", self.function.queue_name, error)
                messages = []
            if messages:
                empty_polls = 0
                for message in messages:
                    self._dispatch(message)
                continue
            self._stopping.wait(delays[min(empty_polls, len(delays) - 1)])
            empty_polls += 1

    def _receive(self) -> list[Any]:
        count = self.options.batch_size
        try:
            pages = self.queue.receive_messages(
                messages_per_page=count, max_messages=count, visibility_timeout=self._lease_seconds
            )
            return list(pages)
        except ResourceNotFoundError:
            log.warning("Queue %r disappeared; creating it again", self.function.queue_name)
            self.prepare()
            return []

    def _dispatch(self, message: Any) -> None:
        lease = _Lease(
            message.id, message.pop_receipt, time.monotonic() + self._lease_seconds / 2, threading.Lock()
        )
        with self._condition:
            self._in_flight += 1
            self._leases[message.id] = lease
        self._pool.submit(self._handle, message, lease)

    # Handling one message -------------------------------------------------------------------------

    def _handle(self, message: Any, lease: _Lease) -> None:
        try:
            self._process(message, lease)
        except Exception:
            log.exception("Settling message %s of queue %r failed", message.id, self.function.queue_name)
        finally:
            with self._condition:
                self._in_flight -= 1
                self._leases.pop(message.id, None)
                self._condition.notify_all()

    def _process(self, message: Any, lease: _Lease) -> None:
        name, dequeue_count = self.function.name, message.dequeue_count
        max_dequeue = self.options.max_dequeue_count
        if dequeue_count > max_dequeue:
            log.warning(
                "Message %s of queue %r was dequeued %d times (maxDequeueCount %d) without completing; "
                "moving it to %r without calling %s",
                message.id,
                self.function.queue_name,
                dequeue_count,
                max_dequeue,
                self.poison.queue_name,
                name,
            )
            self._settle(lease, lambda receipt: self._to_poison(message, receipt))
            return
        succeeded = self._run(message)
        if succeeded:
            self._settle(lease, lambda receipt: self.queue.delete_message(message.id, receipt))
        elif dequeue_count >= max_dequeue:
            log.warning(
                "Message %s has reached maxDequeueCount of %d. Moving message to queue %r.",
                message.id,
                max_dequeue,
                self.poison.queue_name,
            )
            self._settle(lease, lambda receipt: self._to_poison(message, receipt))
        else:
            self._settle(
                lease,
                lambda receipt: self.queue.update_message(
                    message.id, receipt, visibility_timeout=self._release_seconds
                ),
            )

    def _run(self, message: Any) -> bool:
        details = f"MessageId={message.id}, DequeueCount={message.dequeue_count}"
        try:
            body = decode_body(message.content, self.options.message_encoding)
        except UndecodableMessage as error:
            log.error("Function %r not called for message %s: %s", self.function.name, message.id, error)
            return False
        argument = to_function_message(message, body)
        try:
            invoke(
                self.function.name,
                self.function.user_function,
                {self.function.arg_name: argument},
                reason=f"New queue message detected on '{self.function.queue_name}'.",
                details=details,
            )
        except Exception:
            log.exception("Function %r failed (%s)", self.function.name, details)
            return False
        return True

    def _to_poison(self, message: Any, receipt: str) -> None:
        try:
            self.poison.send_message(message.content)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                self.poison.create_queue()
            self.poison.send_message(message.content)
        self.queue.delete_message(message.id, receipt)

    def _settle(self, lease: _Lease, action: Any) -> None:
        """Run `action(pop_receipt)` under the lease lock so a renewal cannot change the receipt meanwhile."""
        with lease.lock:
            lease.settled = True
            try:
                action(lease.pop_receipt)
            except ResourceNotFoundError:
                # The lease ran out and another worker (or this one) took the message: it is theirs now.
                log.warning(
                    "Message %s of queue %r was no longer held by this worker when settling; "
                    "its lease (LOCAL_WORKER_MESSAGE_LEASE_SECONDS=%d) may have expired",
                    lease.message_id,
                    self.function.queue_name,
                    self._lease_seconds,
                )

    # Lease renewal --------------------------------------------------------------------------------

    def _renew_leases(self) -> None:
        tick = min(1.0, self._lease_seconds / 4)
        while not self._settled_all.wait(tick):
            with self._condition:
                due = [lease for lease in self._leases.values() if time.monotonic() >= lease.renew_at]
            for lease in due:
                self._renew(lease)

    def _renew(self, lease: _Lease) -> None:
        with lease.lock:
            if lease.settled:
                return
            try:
                receipt = self.queue.update_message(
                    lease.message_id, lease.pop_receipt, visibility_timeout=self._lease_seconds
                )
            except AzureError as error:
                log.warning("Renewing the lease on message %s failed: %s", lease.message_id, error)
                lease.renew_at = time.monotonic() + 1
                return
            lease.pop_receipt = receipt.pop_receipt
            lease.renew_at = time.monotonic() + self._lease_seconds / 2
