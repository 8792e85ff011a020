"""The application layer: the runtime (the composition root) and every operation the doors share, each
written once, returning typed results or raising typed errors that each door renders its own way.

- ``runtime``        ``Runtime``, ``build_runtime``, ``runtime()``, ``check_configuration``
- ``callers``        the API's app roles, an identified ``Caller``, the sign-in settings (``API_AUTH``, links' origin)
- ``submit``         submit a build or a change of regions (prepare offline, then queue with its `Queued` row)
- ``plan``           plan a build (offline), check it live, plan a change of regions
- ``status``         a build's status document; ``TERMINAL_STATUSES``
- ``listing``        a page of builds with filters and continuation; the most recent builds
- ``cancel``, ``retry``   cancel a build that has not ended; a new attempt of a Failed one
- ``build_lookup``   the build a reference names, ``BuildNotFound`` / ``BuildNotAdmitted``
- ``audits``         the compliance audit: its scope, start (the timer), drive, report, the findings ledger
- ``queue_work``     admit a request message, run a step message, re-drive, snapshot events
- ``request_input``  a request's bytes as decoded JSON, ``InputInvalid`` / ``RequestTooLarge``

Nothing here imports ``core.entry``; every call into the runner and the build store is made here.
"""
