"""tests.architecture.live."""
