"""tests.events.live."""
