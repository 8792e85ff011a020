"""Telemetry against Azurite and the ARM simulator (the integration fixtures)."""

from tests.integration.conftest import app, stack_options  # noqa: F401 - fixtures
