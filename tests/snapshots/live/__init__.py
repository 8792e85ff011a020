"""tests.snapshots.live."""
