"""The managed-identity endpoint, and ARM's authentication and api-version answers."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient

from .helpers import RG, SCOPE, SUB, client_kwargs, raw, token

DES_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/diskEncryptionSets/WestUSDiskEncryptionSet1"
)


class ForeignCredential:
    """A credential whose tokens the simulator never issued."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2lnbmF0dXJl", int(time.time()) + 3600)


def test_default_azure_credential_gets_a_token_from_the_identity_endpoint(sim, arm_env):
    """With only IDENTITY_ENDPOINT/IDENTITY_HEADER set, DefaultAzureCredential uses the App Service endpoint."""
    before = sim.tokens_issued
    access = DefaultAzureCredential().get_token(SCOPE)
    assert sim.tokens_issued == before + 1
    assert access.expires_on > time.time() + 3600
    answer = raw(sim, "GET", DES_PATH, token=access.token)
    assert answer.status_code == 200
    assert answer.json()["name"] == "WestUSDiskEncryptionSet1"


def test_identity_endpoint_refuses_a_wrong_identity_header(sim):
    answer = requests.get(
        sim.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
        headers={"X-IDENTITY-HEADER": "not-the-secret"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert "X-IDENTITY-HEADER" in answer.json()["message"]


def test_identity_endpoint_is_plain_http_on_loopback(sim):
    assert sim.identity_endpoint.startswith("http://127.0.0.1:")
    assert sim.env()["IDENTITY_HEADER"] == sim.identity_header


def test_missing_authorization_header_is_401_authentication_failed(sim):
    answer = raw(sim, "GET", DES_PATH)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AuthenticationFailed"
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=") and 'error="invalid_token"' in challenge
    assert sim.requests[-1].status == 401


def test_unknown_token_is_401_invalid_authentication_token_through_the_sdk(sim):
    client = ComputeManagementClient(ForeignCredential(), SUB, **client_kwargs(sim))
    with pytest.raises(ClientAuthenticationError) as caught:
        client.disk_encryption_sets.get(RG, "WestUSDiskEncryptionSet1")
    assert caught.value.status_code == 401
    assert caught.value.error.code == "InvalidAuthenticationToken"


def test_non_bearer_scheme_is_an_invalid_header(sim):
    answer = raw(sim, "GET", DES_PATH, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AuthenticationFailedInvalidHeader"


def test_token_for_another_audience_is_refused(sim):
    answer = raw(sim, "GET", DES_PATH, token=token(sim, "https://storage.azure.com"))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_missing_api_version_is_400(sim):
    answer = raw(sim, "GET", DES_PATH, token=token(sim), api_version=None)
    assert answer.status_code == 400
    body = answer.json()["error"]
    assert body["code"] == "MissingApiVersionParameter"
    assert "api-version" in body["message"]


def test_every_answer_carries_request_and_correlation_ids(sim):
    answer = raw(sim, "GET", DES_PATH, token=token(sim), headers={"x-ms-correlation-request-id": "abc-123"})
    assert answer.headers["x-ms-correlation-request-id"] == "abc-123"
    assert len(answer.headers["x-ms-request-id"]) == 36
    unauthenticated = raw(sim, "GET", DES_PATH)
    assert unauthenticated.headers["x-ms-request-id"] != answer.headers["x-ms-request-id"]


def test_expired_token_is_401_expired_authentication_token():
    """Uses its own simulator: expiring tokens would disturb the session's cached credentials."""
    from simulator import Simulator

    from .helpers import SEED

    with Simulator(SEED) as own:
        access = token(own)
        assert raw(own, "GET", DES_PATH, token=access).status_code == 200
        own.expire_tokens()
        answer = raw(own, "GET", DES_PATH, token=access)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "ExpiredAuthenticationToken"
