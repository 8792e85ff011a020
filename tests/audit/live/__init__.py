"""tests.audit.live."""
