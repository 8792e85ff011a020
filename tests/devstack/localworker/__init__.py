"""tests.devstack.localworker."""
