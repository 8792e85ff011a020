"""Transport options every SDK client of the app is built with.

`requests` (azure-core's default transport) reads the environment on every request when allowed to: it scans
all of `os.environ` twice for proxy variables and looks for a `.netrc` file. In a Functions worker, whose
environment holds every app setting, that was about a seventh of a step's CPU. Where no proxy variable is set,
the clients are told not to read the environment (`use_env_settings=False`); a CA bundle named by
`REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` is then passed explicitly, as `requests` would have used it. A `.netrc`
is never wanted: its password would replace the bearer token on requests to a matching host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def environment_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for an azure-core client: none if a proxy is configured (the transport reads it from
    the environment as before), else no environment reads, and the environment's CA bundle if it names one."""
    environ = os.environ if environ is None else environ
    names = {name.lower() for name, value in environ.items() if value}
    if names.intersection(PROXY_VARIABLES):
        return {}
    options: dict[str, Any] = {"use_env_settings": False}
    bundle = next((environ[name] for name in CA_BUNDLE_VARIABLES if environ.get(name)), None)
    if bundle:
        options["connection_verify"] = bundle
    return options
