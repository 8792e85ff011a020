"""The local host standing in for App Service authentication: principal headers removed unless it stands in,
passed (a test fixture's caller) or added (--sign-in-as) when it does (through the real worker:
tests/entry/live/test_roles.py)."""

from __future__ import annotations

import pytest

from devstack.localworker.sign_in import SignInStandIn, principal_headers, request_headers


def test_without_a_stand_in_principal_headers_are_removed():
    forged = {"X-MS-CLIENT-PRINCIPAL": "e30=", "x-ms-client-principal-name": "ceo", "Accept": "*/*"}
    assert request_headers(forged, None) == {"Accept": "*/*"}


def test_a_stand_in_passes_a_clients_principal_or_adds_its_own():
    alice = principal_headers("alice", ["Builds.Read"])
    assert request_headers(alice, SignInStandIn()) == alice
    bob = SignInStandIn.signed_in_as("bob=Builds.Operate, Builds.Read")
    assert request_headers({}, bob)["X-MS-CLIENT-PRINCIPAL-NAME"] == "bob"
    assert request_headers(alice, bob)["X-MS-CLIENT-PRINCIPAL-NAME"] == "alice"  # a client's own wins
    with pytest.raises(ValueError, match="NAME=ROLE"):
        SignInStandIn.signed_in_as("nobody")
