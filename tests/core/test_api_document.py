"""The OpenAPI document says what the server answers: one model per component,
amounts as numbers, the error answers every route shares, and one 422 shape
whichever part of the code refuses the input."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

PACKAGES = ("core", "depots", "inventory", "rma", "planning", "reports", "search")
REF = "#/components/schemas/"


def _document(client: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.get_json()


def _project_models() -> dict[str, list[type[BaseModel]]]:
    """Every pydantic model the project defines, by class name."""
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".translations" not in info.name:
                importlib.import_module(info.name)
    found: dict[str, list[type[BaseModel]]] = {}
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        if model.__module__.split(".")[0] in PACKAGES and model not in found.get(
            model.__name__, []
        ):
            found.setdefault(model.__name__, []).append(model)
    return found


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(REF)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def _answer_components(document: dict[str, Any]) -> set[str]:
    """The components an answer can contain (responses and what they refer to)."""
    schemas = document["components"]["schemas"]
    todo = _refs(
        [op.get("responses", {}) for item in document["paths"].values() for op in item.values()]
    )
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo |= _refs(schemas[name])
    return seen


def _types(schema: dict[str, Any]) -> set[str]:
    branches = schema.get("anyOf", [schema])
    return {branch.get("type", "") for branch in branches}


def test_each_component_of_the_document_is_one_model(client):
    """Two models of one name overwrote each other in the document: the transfer
    ship showed the RMA ship's body (``serial``, which the server refuses), the
    working-hours answer the RMA's due times, sites the depots' city."""
    models = _project_models()
    components = _document(client)["components"]["schemas"]
    shared = {
        name: [f"{m.__module__}.{m.__qualname__}" for m in models[name]]
        for name in components
        if len(models.get(name, [])) > 1
    }
    assert shared == {}


def test_the_transfer_ship_and_working_hours_document_their_own_models(client):
    document = _document(client)
    schemas = document["components"]["schemas"]
    ship = document["paths"]["/api/v1/transfers/{id}/ship"]["post"]
    body = ship["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schemas[body.removeprefix(REF)]["properties"]) == {"serials"}
    due = document["paths"]["/api/v1/calendar/add-working-hours"]["get"]["responses"]["200"]
    answer = due["content"]["application/json"]["schema"]["$ref"].removeprefix(REF)
    assert set(schemas[answer]["properties"]) == {"calendar", "start", "hours", "due"}


def test_amounts_in_answers_are_documented_as_numbers(client):
    """Every Decimal field of a model the API answers with is a JSON number in the
    document, as core.web's JSON provider writes it (lane hours and cost, part
    unit_cost, plan, move and quote costs were documented as strings)."""
    document = _document(client)
    schemas = document["components"]["schemas"]
    models = _project_models()
    checked = []
    for name in _answer_components(document):
        for model in models.get(name, []):
            hints = typing.get_type_hints(model, include_extras=False)
            for field_name in model.model_fields:
                hint = hints.get(field_name)
                if Decimal not in (hint, *typing.get_args(hint)):
                    continue
                documented = schemas[name]["properties"][field_name]
                assert "number" in _types(documented), (name, field_name, documented)
                assert "string" not in _types(documented), (name, field_name, documented)
                checked.append(f"{name}.{field_name}")
    assert {"LaneOut.hours", "LaneOut.cost", "PartOut.unit_cost", "PlanOut.cost"} <= set(checked), (
        checked
    )


def test_amounts_are_answered_as_numbers(client, auth_for):
    planner = auth_for("planner")
    lane = client.get("/api/v1/lanes?from_depot=BJ", headers=planner).get_json()[0]
    assert isinstance(lane["hours"], int | float) and isinstance(lane["cost"], int | float)
    quote = client.get(
        "/api/v1/lanes/quote?from_depot=BJ&to=Shanghai&ready_at=2026-03-02T10:00:00%2B08:00",
        headers=planner,
    ).get_json()
    assert isinstance(quote["hours"], int | float) and isinstance(quote["cost"], int | float)


def test_every_operation_documents_the_errors_every_route_shares(app, client):
    document = _document(client)
    guards = app.guards()
    assert "ValidationErrorModel" not in document["components"]["schemas"]
    limited = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert answers["422"]["content"]["application/json"]["schema"] == {
                "$ref": f"{REF}ValidationErrorOut"
            }, (method, path)
            assert "400" in answers, (method, path)
            if "requestBody" in operation:
                assert "415" in answers, (method, path)
            if operation.get("security"):
                assert "401" in answers, (method, path)
            if guards.get((path, method)):
                assert "403" in answers, (method, path)
                limited += 1
    # e.g. the dispatch proposal, which engineers were refused without it being documented
    assert "403" in document["paths"]["/api/v1/dispatch/proposal"]["get"]["responses"]
    assert limited > 40
    assert "JSON numbers" in document["info"]["description"]


def test_the_422_shape_is_documented_once(client):
    schemas = _document(client)["components"]["schemas"]
    shape = schemas["ValidationErrorOut"]
    assert set(shape["required"]) == {"error", "detail", "fields"}
    item = schemas["FieldProblemOut"]
    assert set(item["properties"]) == {"field", "message", "line"}
    assert set(item["required"]) == {"field", "message"}


def _assert_one_shape(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 422, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error", "detail", "fields"}, body
    assert body["error"] == "invalid" and body["detail"]
    for problem in body["fields"]:
        assert set(problem) <= {"field", "message", "line"} and problem["message"], problem
    return body["fields"]


@pytest.mark.parametrize(
    ("method", "path", "role", "kwargs", "fields"),
    [
        # the schema refuses the body (pydantic, through flask-openapi3)
        ("post", "/api/v1/stock/receipts", "admin", {"json": {"depot": "BJ"}}, {"qty"}),
        # the schema refuses a query parameter
        ("get", "/api/v1/parts", "planner", {"query_string": {"limit": 0}}, {"limit"}),
        # the service refuses a value it was given (a domain Invalid naming its field)
        ("get", "/api/v1/search", "engineer", {"query_string": {"q": "   "}}, {"q"}),
        # a bulk lane edit: one problem per bad entry
        (
            "put",
            "/api/v1/lanes",
            "planner",
            {
                "json": [
                    {"from_depot": "ZZ", "to": "Hangzhou", "mode": "road", "hours": 5, "cost": 9}
                ]
            },
            {"0.from_depot"},
        ),
        # an uploaded file: one problem per bad line
        (
            "post",
            "/api/v1/stock/import",
            "planner",
            {"data": "depot,part_number,qty\nMARS,X,1\n", "content_type": "text/csv"},
            {"depot", "part_number"},
        ),
        # a body that is not JSON at all
        (
            "post",
            "/api/v1/stock/receipts",
            "admin",
            {"data": "{not json", "content_type": "application/json"},
            {"body"},
        ),
    ],
)
def test_every_refusal_of_input_answers_one_shape(
    client, auth_for, method, path, role, kwargs, fields
):
    answer = getattr(client, method)(path, headers=auth_for(role), **kwargs)
    problems = _assert_one_shape(answer)
    assert fields <= {problem["field"] for problem in problems}, problems


def test_a_refusal_of_the_request_as_a_whole_answers_fields_too(client, auth_for):
    answer = client.put("/api/v1/lanes", json=[], headers=auth_for("planner"))
    assert _assert_one_shape(answer) == []
