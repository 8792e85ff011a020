"""Snapshot builds: a new disk snapshot, announced by Event Grid, becomes one build request.

- ``eventgrid``  Event Grid events (both schemas): act on snapshot writes, ignore or refuse the rest
- ``templates``  build templates: match rules, version strategies, the data-disk tag convention
- ``builds``     snapshot -> one build request (waits while it provisions, one claim, version reservation)
"""
