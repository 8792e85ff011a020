"""tests.entry."""
