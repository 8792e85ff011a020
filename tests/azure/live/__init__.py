"""tests.azure.live."""
