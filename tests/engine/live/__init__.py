"""tests.engine.live."""
