"""tests.snapshots."""
