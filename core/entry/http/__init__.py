"""The HTTP API, in Durable Functions' instance-management shape: requests and responses as plain values.

- ``messages``         ``ApiRequest`` / ``ApiResponse``, JSON and RFC 9457 problem responses
- ``list_parameters``  the list parameters and continuation tokens as they travel
- ``routes``           one function per route: submit, change regions, list, get, terminate, retry, the schema

Every route calls the application layer (core/app) for what it does. `function_app.py` binds the routes;
`core.entry.functions` turns a Functions request into an ``ApiRequest``.
"""
