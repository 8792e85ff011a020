"""The pre-flight rules, one module per subject; importing ``core.policy`` registers them all, in order."""
