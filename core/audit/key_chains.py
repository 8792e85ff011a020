"""The disk encryption sets an audit step reads, and the key chain behind each (I/O, through
`core.policy.facts` and `core.policy.key_facts`).

Each set, vault, key version and role read is made once per audit: a step starts from the answers its
audit's earlier steps read (its key rows, `core.audit.pages`, read only when the step first needs a set)
and hands back the answers it read itself (`new_reads`), which its decision writes as its own key row.
Every read counts against the reads the step reserved from the subscription's ARM budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.audit.pages import KeyReads
from core.azure.arm import ARM_ERRORS, Arm, classify
from core.policy.facts import read_disk_encryption_set
from core.policy.key_facts import Reads as KeyFactReads
from core.policy.key_facts import read_key_chain
from core.policy.keychain import KeyChain

log = logging.getLogger(__name__)
NOT_FOUND = "notFound"


def _nothing_read() -> KeyReads:
    return KeyReads({}, {})


class KeyChains:
    """The sets and key chains of one step, by lower-case DES ID; `earlier()` gives the audit's answers so far."""

    def __init__(self, earlier: Callable[[], KeyReads] = _nothing_read) -> None:
        self.earlier = earlier
        self.chains: dict[str, KeyChain] = {}
        self._skipped: set[str] = set()
        self._known: KeyReads | None = None
        self._reader: KeyFactReads | None = None
        self._sets: dict[str, dict[str, Any] | None] = {}  # sets this step read from ARM

    def _answers(self) -> KeyReads:
        if self._known is None:
            self._known = self.earlier()
        return self._known

    def disk_encryption_set(self, arm: Arm, key: str, des_id: str) -> tuple[dict[str, Any] | None, int]:
        """The set (None: not found) and the ARM reads it took (0: an earlier step read it); ARM errors
        propagate."""
        known = self._answers()
        if key in known.kept:
            return known.kept[key], 0
        if known.refused.get(key) == NOT_FOUND:
            return None, 0
        body = read_disk_encryption_set(arm, des_id)
        self._sets[key] = body
        return body, 1

    def read(self, arm: Arm, sets: Mapping[str, dict[str, Any] | None]) -> int:
        """Read the chain of each set in `sets` not read yet in this step; the ARM reads made."""
        made = 0
        for key, body in sets.items():
            if body is None or key in self.chains or key in self._skipped:
                continue
            if self._reader is None:
                known = self._answers()
                self._reader = KeyFactReads(arm, dict(known.kept), dict(known.refused))
            before = self._reader.made
            try:
                self.chains[key] = read_key_chain(self._reader, body)
            except ARM_ERRORS as error:
                failure = classify(error)
                self._skipped.add(key)
                log.warning("audit: cannot read the key chain of %s (%s: %s); its key health is skipped",
                            body.get("id"), failure.code, failure.message)
            made += self._reader.made - before
        return made

    def new_reads(self) -> KeyReads:
        """The answers this step read from ARM (not those of earlier steps)."""
        known = self._known or KeyReads({}, {})
        kept = {key: body for key, body in self._sets.items() if body is not None}
        refused = {key: NOT_FOUND for key, body in self._sets.items() if body is None}
        if self._reader is not None:
            kept.update((key, body) for key, body in self._reader.kept.items() if key not in known.kept)
            refused.update((key, mark) for key, mark in self._reader.refusals().items()
                           if key not in known.refused)
        return KeyReads(kept, refused)
