"""The one exception the local worker raises for bad configuration."""


class WorkerConfigError(ValueError):
    """host.json, an app setting or a binding is unusable; the message names the field and the fix."""


class StorageUnavailable(RuntimeError):
    """The storage behind a binding's connection cannot be reached at start-up."""
