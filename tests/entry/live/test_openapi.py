"""The OpenAPI 3.1 document: valid (openapi-spec-validator), in agreement with the HTTP routes function_app.py
binds (path, method, function, anonymous or not), each route's app role named, the request schema its body."""

from __future__ import annotations

import ast
import json
from typing import Any

from openapi_spec_validator import validate

from core.entry.functions import handle_openapi, http_auth_level
from core.entry.http.openapi import openapi_text
from core.entry.http.routes import ROUTES
from core.request.schema import request_schema
from devstack.azurite import PROJECT_ROOT


def document() -> dict[str, Any]:
    return json.loads(openapi_text())


def bound_routes() -> dict[tuple[str, str], tuple[str, bool]]:
    """(METHOD, route) -> (function name, anonymous) of every `@app.route` in function_app.py."""
    found = {}
    for node in ast.parse((PROJECT_ROOT / "function_app.py").read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "route":
                options = {k.arg: k.value for k in decorator.keywords}
                route = ast.literal_eval(options["route"])
                anonymous = "auth_level" in options and ast.unparse(options["auth_level"]).endswith("ANONYMOUS")
                for method in ast.literal_eval(options["methods"]):
                    found[(method, route)] = (node.name, anonymous)
    return found


def test_the_document_is_valid_openapi_3_1():
    spec = document()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_the_document_and_the_route_table_are_the_routes_function_app_binds():
    table = {(spec.method, spec.route): (spec.function, spec.role is None) for spec in ROUTES}
    assert table == bound_routes()
    paths = {(method.upper(), path.lstrip("/")): operation["operationId"]
             for path, operations in document()["paths"].items() for method, operation in operations.items()}
    assert paths == {key: function for key, (function, _) in table.items()}


def test_each_route_names_its_role_and_security():
    operations = {op["operationId"]: op for ops in document()["paths"].values() for op in ops.values()}
    for spec in ROUTES:
        operation = operations[spec.function]
        if spec.role is None:
            assert operation["security"] == []
        else:
            assert operation["x-app-role"] == str(spec.role)
            assert operation["security"] == [{"entra": [str(spec.role)]}, {"functionKey": []}]
            assert operation["responses"]["403"] == {"$ref": "#/components/responses/Problem403"}


def test_the_request_body_is_the_request_schema():
    spec = document()
    body = spec["paths"]["/builds"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BuildRequestV1"}
    served = request_schema()
    served.pop("$schema"), served.pop("$id")
    assert spec["components"]["schemas"]["BuildRequestV1"] == served


def test_the_document_is_served_anonymously_and_the_api_needs_keys_only_without_sign_in():
    import azure.functions as func

    response = handle_openapi(func.HttpRequest("GET", "https://x.example/api/openapi.json", body=b""))
    assert response.status_code == 200 and json.loads(response.get_body())["info"]["title"]
    assert http_auth_level({}) == func.AuthLevel.FUNCTION
    assert http_auth_level({"API_AUTH": "entra"}) == func.AuthLevel.ANONYMOUS
