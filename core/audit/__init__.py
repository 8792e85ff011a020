"""The compliance audit of published image versions: a workflow on the engine, one step per gallery.

Pure:
- ``rules``          the compliance rules over one version and its DES facts, each finding with a stable code
- ``scope``          what an audit covers and by which policy (the AUDIT_* settings, the CLI's flags)
- ``state``          the audit record: statuses, where it stands, its counts
- ``events``         what a step reports back
- ``decide``         start, and the decision after each step (report page, history, next step)
- ``costs``          the ARM reads of each step, reserved from the subscription's budget
- ``pages``          the scope and report rows of an audit's partition
- ``findings_rows``  the findings ledger's rows (first seen, last seen, resolved)
- ``report``         the report document, its summary line, a table for a person

I/O:
- ``steps``          ARM reads of a listing or a gallery page, the ledger's update
- ``findings_table`` Table ``auditfindings``
- ``partition``      reads of an audit's rows in Table ``builds``
- ``workflow``       ``AuditWorkflow``, what the engine runs
"""
