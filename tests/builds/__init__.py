"""tests.builds."""
