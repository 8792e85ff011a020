"""core.app."""
