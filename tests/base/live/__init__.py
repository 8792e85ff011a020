"""tests.base.live."""
