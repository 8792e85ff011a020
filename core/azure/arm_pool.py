"""One credential and one set of ARM clients per subscription, for the whole process.

A Functions worker process runs many invocations; building a credential and SDK clients per step means
a token request to the identity endpoint (IMDS throttles those) and a new TLS connection every time.
The pool builds each once: the credential caches its token and the bearer-token policy refreshes it
five minutes before it expires; each subscription's clients keep their connection pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential

from core.azure.arm import Arm, build_credential
from core.azure.settings import Settings

# A token is fetched again this long before it expires (what azure-core's bearer policy also allows).
REFRESH_MARGIN_SECONDS = 300


class CachedCredential:
    """One token per scope for the whole process, refreshed `REFRESH_MARGIN_SECONDS` before it expires.

    The identity libraries cache per credential object and let concurrent first callers each ask the
    endpoint; here concurrent callers wait for the one request under a lock.
    """

    def __init__(self, inner: TokenCredential, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.clock = clock
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        self._lock = threading.Lock()

    def get_token(
        self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any
    ) -> AccessToken:
        if claims or tenant_id:  # a claims challenge (or another tenant) needs a fresh token of its own
            return self.inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, **kwargs)
        with self._lock:
            token = self._tokens.get(scopes)
            if token is None or token.expires_on - REFRESH_MARGIN_SECONDS <= self.clock():
                token = self._tokens[scopes] = self.inner.get_token(*scopes, **kwargs)
            return token


class ArmPool:
    """`pool(subscription_id)` -> that subscription's `Arm`, built on first use and kept."""

    def __init__(self, settings: Settings, credential: TokenCredential | None = None) -> None:
        self.settings = settings
        self._credential = credential
        self._arms: dict[str, Arm] = {}
        self._lock = threading.Lock()

    @property
    def credential(self) -> TokenCredential:
        with self._lock:
            if self._credential is None:
                self._credential = CachedCredential(build_credential(self.settings))
            return self._credential

    def __call__(self, subscription_id: str) -> Arm:
        key = subscription_id.lower()
        arm = self._arms.get(key)
        if arm is not None:
            return arm
        credential = self.credential
        with self._lock:
            arm = self._arms.get(key)
            if arm is None:
                arm = self._arms[key] = Arm(self.settings, subscription_id, credential)
            return arm
