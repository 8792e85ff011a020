"""tests.policy.live."""
