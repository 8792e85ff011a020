"""The HTTP API, in Durable Functions' instance-management shape: requests and responses as plain values.

- ``http``      ``ApiRequest`` / ``ApiResponse``, JSON and RFC 9457 problem responses
- ``submit``    put a validated request on the request queue (shared with ``python -m core submit``)
- ``listing``   the list filters and continuation tokens
- ``builds``    one function per route: submit, list, get, terminate, retry, the request schema

`function_app.py` binds the routes; `core.entry.functions` turns a Functions request into an ``ApiRequest``.
"""
