"""The process-wide credential: one token per scope, refreshed before it expires, one fetch for concurrent callers."""

from __future__ import annotations

import threading
import time
from typing import Any

from azure.core.credentials import AccessToken

from core.azure.arm_pool import REFRESH_MARGIN_SECONDS, ArmPool, CachedCredential
from core.azure.settings import Settings

SCOPE = "https://management.azure.com/.default"


class Counting:
    def __init__(self, lifetime: int = 3600, pause: float = 0.0) -> None:
        self.calls = 0
        self.lifetime, self.pause = lifetime, pause

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        time.sleep(self.pause)
        return AccessToken(f"t{self.calls}", 1_000 + self.lifetime)


def test_a_token_is_reused_until_shortly_before_it_expires():
    now = [1_000.0]
    inner = Counting(lifetime=3600)
    credential = CachedCredential(inner, clock=lambda: now[0])
    assert {credential.get_token(SCOPE).token for _ in range(50)} == {"t1"}
    now[0] = 1_000 + 3600 - REFRESH_MARGIN_SECONDS - 1
    assert credential.get_token(SCOPE).token == "t1"
    now[0] += 2  # inside the refresh margin
    assert credential.get_token(SCOPE).token == "t2"
    assert inner.calls == 2


def test_concurrent_first_callers_share_one_request():
    inner = Counting(pause=0.2)
    credential = CachedCredential(inner, clock=lambda: 1_000.0)
    threads = [threading.Thread(target=credential.get_token, args=(SCOPE,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inner.calls == 1


def test_a_claims_challenge_bypasses_the_cache():
    inner = Counting()
    credential = CachedCredential(inner, clock=lambda: 1_000.0)
    credential.get_token(SCOPE)
    credential.get_token(SCOPE, claims='{"access_token":{}}')
    assert inner.calls == 2


def test_the_pool_keeps_one_arm_per_subscription_on_one_credential():
    pool = ArmPool(Settings(), credential=CachedCredential(Counting()))
    first = pool("00000000-0000-0000-0000-000000000000")
    assert pool("00000000-0000-0000-0000-000000000000".upper()) is first
    other = pool("11111111-1111-1111-1111-111111111111")
    assert other is not first and other.credential is first.credential
