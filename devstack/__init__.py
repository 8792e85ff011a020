"""Local development stack: Azurite and the ARM simulator, started for tests and `make demo`."""
