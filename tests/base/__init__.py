"""base tests."""
