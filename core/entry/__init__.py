"""core.entry."""
