"""Completion events: when a build ends, one CloudEvents 1.0 event, for a pipeline to roll the image out.

- ``cloudevent``  the event of a build's end (pure)
- ``outbox``      the outbox row written with the final state, and its delivery (by the step or the re-drive timer)
- ``sinks``       where events go: a Storage queue and/or an Event Grid topic (COMPLETION_EVENTS_* settings)
"""
