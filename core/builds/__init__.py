"""The Durable-style build orchestration: a pure decision function and a thin runner around it.

- `state`    the persisted build state, its statuses and the allowed transitions
- `events`   what can happen to a build (outcomes of steps, submissions, cancellation)
- `decide`   decide(state, event) -> new state, history entries, next schedule (pure)
- `backoff`  delays between polls and retries (pure)
- `store`    builds and their history in Azure Table storage, ETag-guarded
- `steps`    the I/O of each step (ARM calls), each returning an event
- `runner`   executes decisions: claims a step, runs it, records, schedules the next message
- `submissions`    request messages (queue, HTTP, CLI) into submissions
- `step_messages`  the step queue's message, and when a step's message counts as lost
- `des_reads`     the disk encryption sets a validation read, kept for its retry (pure)
- `registration`  the preview feature and provider registration step, shared per subscription
"""
