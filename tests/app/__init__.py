"""tests.app."""
