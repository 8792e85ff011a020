"""tests.azure."""
