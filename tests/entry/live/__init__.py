"""tests.entry.live."""
