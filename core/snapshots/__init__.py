"""The snapshot-intake workflow: a new disk snapshot, announced by Event Grid, becomes a record and then a build.

- ``eventgrid``          Event Grid events (both schemas): act on snapshot writes, ignore or refuse the rest (pure)
- ``templates``          build templates: match rules, version strategies, the data-disk tag convention (pure)
- ``template_loader``    reading and checking template files
- ``snapshot_settings``  the intake's settings and the template cache
- ``state``              a snapshot record: statuses, transitions, the persisted state (pure)
- ``events``             what a step can find (pure)
- ``decide``             what an event makes of a record, and what follows each step (pure)
- ``costs``              each step's ARM reads for the budget (pure)
- ``steps``              each step's I/O: the snapshot, its data disks, the version, the build
- ``reservations``       version reservations in Table ``snapshotbuilds``
- ``workflow``           the intake on the engine (``SnapshotWorkflow``)
- ``intake``             Event Grid's door: an event makes its record at once (``SnapshotIntake``)
- ``status_view``        a record's status document and its lines for people
"""
