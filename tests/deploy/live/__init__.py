"""deploy tests that run the README against Azurite and the ARM simulator."""
