"""Properties every API route shares: authentication, JSON errors, the OpenAPI document."""

from __future__ import annotations

import re

from tests.conftest import bearer

PUBLIC = {"/api/v1/auth/token", "/api/v1/openapi.json", "/api/v1/"}


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule)


def test_every_api_route_refuses_requests_without_a_token(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not path.startswith("/api/v1/") or path in PUBLIC or "swagger" in path:
            continue
        if "oauth2-redirect" in path or "static" in path:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_concrete(path), method=method, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.get_json()["error"] == "unauthorized"
            checked += 1
    assert checked >= 3


def test_openapi_document_lists_the_api_with_bearer_security(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_interactive_docs_are_served_without_outside_network(client):
    page = client.get("/api/v1/swagger")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'new URL("openapi.json"' in html
    assert "unpkg.com" not in html and "cdn.jsdelivr" not in html
    assert client.get("/api/v1/swagger/js/swagger-ui-bundle.js").status_code == 200


def test_unknown_api_path_answers_json_404(client, api_token):
    response = client.get("/api/v1/no-such-thing", headers=bearer(api_token("planner")))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_answers_json_405(client):
    response = client.put("/api/v1/auth/token", json={})
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_role_is_checked_before_the_body_is_validated(client, api_token):
    token = api_token("engineer")
    response = client.put("/api/v1/lanes", json={"not": "a lane list"}, headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
