"""The OpenAPI 3.1 document of the HTTP API, built from the route table (`routes.ROUTES`), so that API
Management, Power Automate or a client generator can import what the app binds. Pure.

Request bodies are the request schema itself (`core/request/schema.json`, JSON Schema 2020-12, which OpenAPI
3.1 takes as it is), answers of every route that can fail are RFC 9457 problems, and each route names the app
role it needs (`x-app-role`, and the OAuth2 scope of the Entra ID security scheme). Served anonymously at
`GET /api/openapi.json`, beside `GET /api/schemas/request-v1.json`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from core.entry.http.list_parameters import CONTINUATION_HEADER, MAX_TOP
from core.entry.http.messages import PROBLEM_JSON
from core.entry.http.routes import MAX_REASON_CHARS, ROUTES, RouteSpec
from core.request.change import CHANGE_FIELDS
from core.request.schema import request_schema

TITLE = "CMK gallery image builder"
VERSION = "1.0.0"
_PROBLEMS = {
    "400": "The request or its parameters are invalid (every problem in errors[], each naming its field)",
    "401": "Sign-in is on and the request carries no signed-in caller",
    "403": "The caller lacks the app role the route needs (the problem's role names it)",
    "404": "No such build",
    "409": "The build conflicts with another, is not admitted yet, or is not Failed",
    "410": "The build has already ended",
    "413": "The body is larger than 16 KiB as UTF-8",
    "415": "The body is not application/json",
    "503": "The app's storage is not reachable",
}
_ROUTE_ANSWERS = {
    "submit_build": ("200", "202", "400", "409", "413", "415"),
    "change_regions": ("200", "202", "400", "409", "413", "415"),
    "list_builds": ("200", "400"),
    "build_status": ("200", "202", "400", "404"),
    "terminate_build": ("202", "400", "404", "409", "410"),
    "retry_build": ("202", "404", "409"),
    "audit_report": ("200", "202", "404"),
}


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "instance": {"type": "string"}, "role": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
                "field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }


def _actor_schema() -> dict[str, Any]:
    return {"type": ["object", "null"], "required": ["kind", "id", "name"], "properties": {
        "kind": {"type": "string", "enum": ["user", "application", "function-key", "cli", "queue", "eventgrid"]},
        "id": {"type": "string"}, "name": {"type": "string"}}}


def _status_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["buildId", "resourceId", "status"],
        "properties": {
            "buildId": {"type": "string"}, "resourceId": {"type": "string"},
            "status": {"type": "string", "enum": ["Queued", "Accepted", "Validating", "Registering", "Creating",
                                                  "Replicating", "Verifying", "Succeeded", "Failed", "Rejected",
                                                  "Cancelled"]},
            "attempt": {"type": "integer"}, "origin": {"type": "string"},
            "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
            "submittedBy": {"$ref": "#/components/schemas/Actor"},
            "cancelledBy": {"$ref": "#/components/schemas/Actor"},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "at": {"type": "string"}, "kind": {"type": "string"}, "status": {"type": "string"},
                "detail": {"type": "object"}}}},
        },
    }


def _submitted_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["id", "resourceId", "status", "outcome"], "properties": {
        "id": {"type": "string"}, "resourceId": {"type": "string"}, "status": {"type": "string"},
        "outcome": {"type": "string", "enum": ["created", "restarted", "duplicate"]}, "detail": {"type": "string"},
        "statusQueryGetUri": {"type": "string"}, "terminatePostUri": {"type": "string"},
        "retryPostUri": {"type": "string"}}}


def _change_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "string"} for name in CHANGE_FIELDS}
    properties.update(addRegions={"type": ["string", "array"]}, removeRegions={"type": ["string", "array"]},
                      allowDeletionOfReplicatedLocations={"type": "boolean"},
                      operation={"const": "changeRegions"})
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": ["subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version"]}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _answer(spec: RouteSpec, code: str) -> dict[str, Any]:
    if code in _PROBLEMS and code not in ("200", "202"):
        return {"$ref": f"#/components/responses/Problem{code}"}
    document = {"list_builds": "BuildList", "build_status": "BuildStatus", "terminate_build": "Cancelled",
                "audit_report": "AuditReport"}.get(spec.function, "Submitted")
    answer: dict[str, Any] = {"description": "Accepted: poll the Location" if code == "202" else "OK",
                              "content": _json(document)}
    if code == "202":
        answer["headers"] = {"Location": {"schema": {"type": "string"}}, "Retry-After": {"schema": {"type": "string"}}}
    if spec.function == "list_builds":
        answer["headers"] = {CONTINUATION_HEADER: {"description": "Send it back to get the next page",
                                                   "schema": {"type": "string"}}}
    return answer


def _operation(spec: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": spec.function, "summary": spec.summary}
    if spec.role is None:
        operation["security"] = []
        media = "application/schema+json" if spec.function == "request_schema" else "application/json"
        operation["responses"] = {"200": {"description": "OK", "content": {media: {"schema": {"type": "object"}}}}}
        return operation
    operation["x-app-role"] = str(spec.role)
    operation["security"] = [{"entra": [str(spec.role)]}, {"functionKey": []}]
    parameters: list[dict[str, Any]] = []
    if "{id}" in spec.route:
        parameters.append({"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                           "description": "The build ID, or the image version's resource ID (URL-encoded)"})
    if spec.function == "list_builds":
        parameters += [
            {"name": "runtimeStatus", "in": "query", "schema": {"type": "string"},
             "description": "Statuses, comma-separated"},
            {"name": "createdTimeFrom", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "createdTimeTo", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "image", "in": "query", "schema": {"type": "string"},
             "description": "An image definition's name or resource ID"},
            {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_TOP}},
            {"name": CONTINUATION_HEADER, "in": "header", "schema": {"type": "string"}},
        ]
    if spec.function == "build_status":
        parameters.append({"name": "showHistory", "in": "query", "schema": {"type": "boolean", "default": True}})
    if spec.function == "terminate_build":
        parameters.append({"name": "reason", "in": "query",
                           "schema": {"type": "string", "maxLength": MAX_REASON_CHARS}})
    if parameters:
        operation["parameters"] = parameters
    if spec.function in ("submit_build", "change_regions"):
        schema = "BuildRequestV1" if spec.function == "submit_build" else "ChangeOfRegions"
        operation["requestBody"] = {"required": True, "content": _json(schema)}
    answers = ("401", "403", "503", *_ROUTE_ANSWERS[spec.function])
    operation["responses"] = {code: _answer(spec, code) for code in sorted(set(answers))}
    return operation


def _paths() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(f"/{spec.route}", {})[spec.method.lower()] = _operation(spec)
    return paths


def _request_schema() -> dict[str, Any]:
    """The request schema as a component: itself, without the dialect and ID of a standalone document."""
    schema = request_schema()
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return schema


@cache
def openapi_text() -> str:
    """The document as JSON text (built once per process)."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "Publish Azure Compute Gallery image versions encrypted with customer-managed keys. "
                                "Each route needs one app role of the API's Entra ID app registration; with sign-in "
                                "off, a function key (x-functions-key) holds every role."},
        "servers": [{"url": "/api"}],
        "paths": _paths(),
        "components": {
            "schemas": {"BuildRequestV1": _request_schema(), "ChangeOfRegions": _change_schema(),
                        "Problem": _problem_schema(), "Actor": _actor_schema(), "BuildStatus": _status_schema(),
                        "BuildList": {"type": "array", "items": {"$ref": "#/components/schemas/BuildStatus"}},
                        "Submitted": _submitted_schema(),
                        "AuditReport": {"type": "object", "required": ["auditId", "status"], "properties": {
                            "auditId": {"type": "string"}, "status": {"type": "string"},
                            "galleries": {"type": "array", "items": {"type": "string"}},
                            "findings": {"type": "array", "items": {"type": "object"}},
                            "summary": {"type": "string"}}},
                        "Cancelled": {"type": "object", "properties": {"id": {"type": "string"},
                                                                       "status": {"type": "string"},
                                                                       "detail": {"type": "string"}}}},
            "responses": {f"Problem{code}": {"description": text, "content": {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                for code, text in _PROBLEMS.items()},
            "securitySchemes": {
                "entra": {"type": "oauth2", "description": "Entra ID (App Service authentication): a token for the "
                          "API's app registration; the scopes are its app roles",
                          "flows": {"clientCredentials": {
                              "tokenUrl": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
                              "scopes": {"Builds.Read": "List builds and read their status",
                                         "Builds.Submit": "Submit builds",
                                         "Builds.Operate": "Cancel, retry, change regions"}}}},
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                                "description": "A function key (only while sign-in is off)"},
            },
        },
    }
    return json.dumps(document, indent=2)
