"""tests.builds.live."""
