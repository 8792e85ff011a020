"""The simulator's TLS: a throw-away CA (from ``trustme``) and a server certificate for loopback names."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def make_server_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """Create a CA and a certificate for 127.0.0.1/localhost/::1; return the server context and CA file."""
    ca = trustme.CA(organization_name="ARM simulator")
    certificate = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_file = directory / "arm-simulator-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    return context, ca_file
