"""Turn a Storage queue message into the `QueueMessage` a queue-triggered function receives."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from azure.functions.queue import QueueMessage


class UndecodableMessage(ValueError):
    """The message text is not in the app's `messageEncoding`; the function is not called."""


def decode_body(content: str | bytes | None, encoding: str) -> bytes:
    """The message body as bytes: base64-decoded for `base64`, UTF-8 text for `none`."""
    if content is None:
        return b""
    text = content if isinstance(content, bytes) else content.encode("utf-8")
    if encoding == "none":
        return text
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableMessage(
            "message is not valid base64 but host.json extensions.queues.messageEncoding is 'base64': "
            "send base64 text, or set messageEncoding to 'none' for plain-text messages"
        ) from None


def to_function_message(message: Any, body: bytes) -> QueueMessage:
    """A `azure.functions.queue.QueueMessage` (dequeue_count included) from an SDK `QueueMessage`."""
    return QueueMessage(
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        insertion_time=message.inserted_on,
        expiration_time=message.expires_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )
