"""tests.request."""
