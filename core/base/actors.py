"""Who did something to a record: a signed-in user or application, a function-key holder, a person at the
command line, or a trigger (a queue message, an Event Grid event). Pure.

An actor is kept as a small dict of strings (``kind``, ``id``, ``name``) in every history entry it causes, in
the build's state (who started the attempt, who cancelled it), in the status document and in completion
events. Its values are clipped and printable, so that no caller can make a history row unstorable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.base.problems import clip

MAX_ACTOR_CHARS = 200


class ActorKind(StrEnum):
    """How the actor reached the app."""

    USER = "user"  # a person signed in with Entra ID (App Service authentication)
    APPLICATION = "application"  # an application (service principal, managed identity) with an Entra ID token
    FUNCTION_KEY = "function-key"  # a caller holding a function key (sign-in off): the key does not say who
    CLI = "cli"  # a person running `python -m core` (the local operator)
    QUEUE = "queue"  # a message on the request queue that no submitter noted
    EVENT_GRID = "eventgrid"  # an Event Grid event (a new snapshot)


@dataclass(frozen=True)
class Actor:
    """``kind`` (ActorKind), ``id`` (an object ID, a message ID, an OS account) and ``name`` (for people)."""

    kind: str
    id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": str(self.kind), "id": clip(self.id, MAX_ACTOR_CHARS), "name": clip(self.name, MAX_ACTOR_CHARS)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> Actor | None:
        """The actor a stored dict describes; None for none (or a dict that is not one)."""
        if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) for k in ("kind", "id", "name")):
            return None
        return cls(str(data["kind"]), str(data["id"]), str(data["name"]))

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.kind})"
