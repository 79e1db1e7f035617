"""What the security probes found, held shut through the public surface.

* A NUL character anywhere in a request (path, query, form, JSON body) is a 4xx on
  every route, page or API, for every role, on both databases (PostgreSQL refuses
  NUL in text, so there it used to be a 500).
* JSON nested deeper than the limit, or not JSON at all, is a 422 that changes
  nothing (an optional body no longer falls back to its defaults).
* Instants: one rule everywhere (ISO 8601; no offset = Asia/Shanghai; years
  2000-2199); the ends of time are 4xx, never an OverflowError.
* CSV exports escape formula-like text and keep numbers numbers; exports import back.
* Pages carry a Content-Security-Policy they satisfy.
* ``%`` and ``_`` in searches match themselves.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core import auth
from core.csv_files import FORMULA_STARTS, read_cell, safe_cell
from core.db import UnitOfWork
from core.hardening import MAX_JSON_DEPTH
from inventory.models import LedgerEntry
from tests.conftest import TEST_PASSWORD, bearer, csrf_token, make_test_app

ROOT = Path(__file__).resolve().parents[2]
ROLES: tuple[tuple[str, str | None], ...] = (
    ("admin", None),
    ("planner", None),
    ("engineer", None),
    ("supervisor", None),
    ("depot_staff", "SH"),
)
NUL_TEXT = "A\x00B"
# Query and form names the pages and the API read (a guard that reads them all is
# tested by any of them; these reach the views if it does not).
NAMES = ("q", "depot", "part_number", "serial", "status", "kind", "code", "reference", "to")
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
EXTREME_INSTANTS = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1900-01-01T00:00:00+08:00",
    "0001-01-01T00:00",
    "2200-01-01T00:00:00Z",
)


# --- NUL characters ---------------------------------------------------------------------------


def _sign_in(app: Any, engine: Engine, role: str, depot: str | None) -> tuple[FlaskClient, str]:
    """A browser signed in as a new user of ``role``, and an API token of the same user."""
    actor = auth.create_user(
        UnitOfWork(engine), f"probe-{role}", TEST_PASSWORD, role, depot_code=depot
    )
    browser = app.test_client()
    signed_in = browser.post(
        "/login",
        data={
            "username": actor.username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(browser),
        },
    )
    assert signed_in.status_code == 302
    token = browser.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    return browser, token


def _nul_requests(app: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, url, extra arguments) of requests carrying a NUL, for every route."""
    query = "&".join(f"{name}=A%00B" for name in NAMES)
    form = {name: NUL_TEXT for name in NAMES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "swagger" in rule.rule or "logout" in rule.rule:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        sample = ARGUMENT.sub("1", rule.rule)
        is_api = rule.rule.startswith("/api/")
        for method in methods:
            if rule.arguments:
                yield method, ARGUMENT.sub("A%00B", rule.rule), {}
            if method == "GET":
                yield method, f"{sample}?{query}", {}
            elif is_api:
                yield method, sample, {"json": {**form, "lines": [{"serial": NUL_TEXT}]}}
            else:
                yield method, sample, {"data": form}


def _nul_failures(app: Any, engine: Engine, role: str, depot: str | None) -> list[str]:
    """Every NUL-carrying request of ``role`` (``anonymous``: signed out) not answered 4xx."""
    if role == "anonymous":
        browser, headers = app.test_client(), {}
        csrf = {"csrf_token": csrf_token(browser, "/login")}
    else:
        browser, token = _sign_in(app, engine, role, depot)
        headers, csrf = bearer(token), {}
    failures = []
    for method, url, extra in _nul_requests(app):
        if "data" in extra:
            extra = {"data": {**extra["data"], **csrf}}
        answer = browser.open(url, method=method, headers=headers, **extra)
        if not 400 <= answer.status_code < 500:
            failures.append(f"{role} {method} {url}: {answer.status_code}")
    return failures


def test_a_nul_anywhere_is_a_4xx_on_every_route(any_engine: Engine) -> None:
    assert _nul_failures(make_test_app(any_engine), any_engine, "admin", None) == []


# PostgreSQL is where a NUL that got through would be a 500: each role walks there.
@pytest.mark.parametrize(("role", "depot"), [("anonymous", None), *ROLES[1:]])
def test_a_nul_anywhere_is_a_4xx_for_every_role(
    pg_engine: Engine, role: str, depot: str | None
) -> None:
    assert _nul_failures(make_test_app(pg_engine), pg_engine, role, depot) == []


def test_the_probes_pages_refuse_a_nul_and_book_nothing(any_engine: Engine) -> None:
    app = make_test_app(any_engine)
    browser, _ = _sign_in(app, any_engine, "depot_staff", "SH")
    assert browser.get("/rmas/%00").status_code == 400
    answer = browser.get("/stock?depot=%00")
    assert answer.status_code == 400
    assert "NUL" in answer.get_data(as_text=True)
    receipt = browser.post(
        "/stock/receive",
        data={
            "depot": "SH",
            "part_number": "A\x00B",
            "qty": "1",
            "csrf_token": csrf_token(browser, "/stock/receive"),
        },
    )
    assert receipt.status_code == 400
    with any_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(LedgerEntry)).scalar() == 0


def test_api_answers_a_nul_with_json(client: FlaskClient, auth_for: Callable[..., Any]) -> None:
    headers = auth_for("planner")
    in_query = client.get("/api/v1/stock?depot=%00", headers=headers)
    assert in_query.status_code == 422
    assert in_query.get_json()["fields"] == [
        {"field": "depot", "message": "must not contain NUL characters"}
    ]
    in_path = client.get("/api/v1/units/A%00B", headers=headers)
    assert (in_path.status_code, in_path.get_json()["fields"][0]["field"]) == (422, "path")
    in_body = client.post(
        "/api/v1/parts",
        json={"part_number": "PN-1", "description": "a\u0000b", "family": "optic"},
        headers=headers,
    )
    assert in_body.status_code == 422
    assert in_body.get_json()["fields"] == [
        {"field": "description", "message": "must not contain NUL characters"}
    ]


# --- JSON bodies ------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "[1]" + "}" * (depth - 1)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[" * 5000 + "]" * 5000, id="5000 arrays"),
        pytest.param('{"a":' * 5000 + "1" + "}" * 5000, id="5000 objects"),
        pytest.param(_nested(MAX_JSON_DEPTH + 1), id="one level too deep"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/rmas", "/api/v1/stock/receipts", "/api/v1/auth/token"])
def test_deeply_nested_json_is_a_422(
    client: FlaskClient, auth_for: Callable[..., Any], path: str, raw: str
) -> None:
    headers = auth_for("admin")
    answer = client.post(path, data=raw, content_type="application/json", headers=headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error"] == "invalid"
    assert "nested deeper than" in body["detail"]


def test_json_within_the_depth_limit_reaches_the_schema(
    client: FlaskClient, auth_for: Callable[..., Any]
) -> None:
    answer = client.post(
        "/api/v1/rmas",
        data=_nested(MAX_JSON_DEPTH),
        content_type="application/json",
        headers=auth_for("engineer"),
    )
    assert answer.status_code == 422
    assert "nested" not in answer.get_json()["detail"]  # refused by the schema instead


# --- instants ---------------------------------------------------------------------------------


def _api_instant_urls(value: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(role, url, json body or {}) of every API input that takes an instant."""
    v = quote(value)
    return [
        ("engineer", f"/api/v1/lanes/quote?from_depot=SH&to=Lhasa&ready_at={v}", {}),
        ("engineer", f"/api/v1/calendar/working-hours?start={v}&end=2026-03-02T17:00Z", {}),
        ("engineer", f"/api/v1/calendar/add-working-hours?start={v}&hours=1", {}),
        (
            "planner",
            f"/api/v1/depot-choice?part_number=PN-1&city=Lhasa&fault_level=C-1&at={v}",
            {},
        ),
        ("supervisor", f"/api/v1/escalations/acknowledged?since={v}", {}),
        (
            "engineer",
            "/api/v1/rmas",
            {
                "serial": "SN0000001",
                "fault_level": "C-2",
                "kind": "advance_replacement",
                "symptom": "port down",
                "reported_at": value,
            },
        ),
        ("engineer", "/api/v1/rmas/RMA-2026-000001/deliver", {"delivered_at": value}),
    ]


@pytest.mark.parametrize("value", EXTREME_INSTANTS)
def test_instants_outside_2000_to_2199_are_422_on_every_api_input(
    client: FlaskClient, auth_for: Callable[..., Any], value: str
) -> None:
    for role, url, body in _api_instant_urls(value):
        headers = auth_for(role)
        if body:
            answer = client.post(url, json=body, headers=headers)
        else:
            answer = client.get(url, headers=headers)
        assert answer.status_code == 422, (url, answer.get_data(as_text=True))
        assert "2000" in answer.get_json()["detail"], url


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/lanes/quote?from_depot=SH&to=Lhasa&ready_at={at}",
        "/api/v1/calendar/working-hours?start={at}&end=2026-03-04T17:00:00%2B08:00",
        "/api/v1/calendar/add-working-hours?start={at}&hours=3",
    ],
)
def test_an_instant_without_offset_is_shanghai_time_on_every_api_input(
    client: FlaskClient, auth_for: Callable[..., Any], url: str
) -> None:
    headers = auth_for("engineer")
    naive = client.get(url.format(at="2026-03-02T16:30"), headers=headers)
    aware = client.get(url.format(at="2026-03-02T16:30:00%2B08:00"), headers=headers)
    assert naive.status_code == aware.status_code == 200, naive.get_json()
    assert naive.get_json() == aware.get_json()


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "1900-01-01T00:00"])
def test_page_fields_refuse_the_ends_of_time_in_words(
    client: FlaskClient, login: Callable[..., Any], value: str
) -> None:
    login("admin")
    pages = [
        f"/lanes?from=SH&quote_to=Lhasa&ready_at={quote(value)}",
        f"/calendars?code=5x8&start={quote(value)}&hours=1",
        f"/depot-choice?part_number=PN-1&city=Lhasa&fault_level=C-1&at={quote(value)}",
    ]
    for page in pages:
        answer = client.get(page)
        assert answer.status_code < 500, page
        assert "between the years 2000 and 2199" in answer.get_data(as_text=True), page


@pytest.mark.parametrize(
    "args",
    [
        ("lanes", "quote", "--from", "SH", "--to", "Lhasa", "--at", "0001-01-01T00:00+14:00"),
        ("calendar", "hours", "--start", "9999-12-31T23:59-14:00", "--end", "2026-03-02T09:00"),
        ("escalate", "--now", "1900-01-01T00:00"),
    ],
)
def test_cli_refuses_the_ends_of_time_in_one_line(app: Any, args: tuple[str, ...]) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0
    assert "2000" in result.output


# --- CSV exports ------------------------------------------------------------------------------


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _assert_nothing_runs(text: str) -> None:
    """No cell a spreadsheet would run: formula-like cells are escaped or plain numbers."""
    for row in _cells(text):
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                assert re.fullmatch(r"[+-]?\d+(\.\d+)?", cell), cell


def test_the_csv_writer_escapes_formulas_and_keeps_numbers() -> None:
    assert safe_cell('=HYPERLINK("http://evil.example")') == '\'=HYPERLINK("http://evil.example")'
    assert [safe_cell(v) for v in ("+1 call", "-rm", "@SUM(A1)", "\t=1")] == [
        "'+1 call",
        "'-rm",
        "'@SUM(A1)",
        "'\t=1",
    ]
    assert [safe_cell(v) for v in (-3, "-3", "+1.5", "-2.50", None, "plain")] == [
        -3,
        "-3",
        "+1.5",
        "-2.50",
        "",
        "plain",
    ]
    for text in ("=1+1", "-x", "'quoted", "plain", "-3"):
        assert read_cell(str(safe_cell(text))) == text


def test_calendar_days_export_escapes_and_imports_back_unchanged(
    client: FlaskClient, auth_for: Callable[..., Any], login: Callable[..., Any]
) -> None:
    admin = auth_for("admin")
    named = client.put(
        "/api/v1/calendars/5x8/days/2031-02-10",
        json={"kind": "holiday", "name": "=1+2 day"},
        headers=admin,
    )
    assert named.status_code in (200, 201), named.get_json()
    login("admin")
    exported = client.get("/calendars/export.csv?code=5x8&year=2031").get_data(as_text=True)
    _assert_nothing_runs(exported)
    assert ["5x8", "2031-02-10", "holiday", "'=1+2 day"] in _cells(exported)
    client.delete("/api/v1/calendars/5x8/days/2031-02-10", headers=admin)
    imported = client.post(
        "/calendars/import",
        data={
            "code": "5x8",
            "file": (io.BytesIO(exported.encode()), "days.csv"),
            "csrf_token": csrf_token(client, "/calendars"),
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302, imported.get_data(as_text=True)
    days = client.get("/api/v1/calendars/5x8/days?year=2031", headers=admin).get_json()
    assert {"day": "2031-02-10", "name": "=1+2 day"}.items() <= next(
        d for d in days if d["day"] == "2031-02-10"
    ).items()


def test_lanes_export_imports_back_unchanged(
    client: FlaskClient, login: Callable[..., Any]
) -> None:
    login("planner")
    exported = client.get("/lanes/export.csv").get_data(as_text=True)
    _assert_nothing_runs(exported)
    imported = client.post(
        "/lanes/import",
        data={
            "file": (io.BytesIO(exported.encode()), "lanes.csv"),
            "csrf_token": csrf_token(client, "/lanes"),
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302, imported.get_data(as_text=True)
    assert client.get("/lanes/export.csv").get_data(as_text=True) == exported


# --- headers ----------------------------------------------------------------------------------


def _policy(answer: Any) -> dict[str, str]:
    text = answer.headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in text.split(";"))
        if part
    }


def test_pages_carry_a_policy_their_inline_scripts_satisfy(
    client: FlaskClient, login: Callable[..., Any]
) -> None:
    login("depot_staff", depot="SH")
    nonces = set()
    for page in ("/stock/receive", "/transfers/new", "/depots", "/stock"):
        answer = client.get(page)
        assert answer.status_code == 200, page
        policy = _policy(answer)
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert "'unsafe-inline'" not in policy["script-src"]
        nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)  # type: ignore[union-attr]
        nonces.add(nonce)
        html = answer.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, (page, tag)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
    assert len(nonces) == 4  # a new nonce for every answer
    scanner = client.get("/stock/receive").get_data(as_text=True)
    assert re.search(r"<script nonce=", scanner)  # the page that has a script was checked


def test_api_and_docs_get_their_own_policies(
    client: FlaskClient, auth_for: Callable[..., Any]
) -> None:
    json_answer = client.get("/api/v1/depots", headers=auth_for("engineer"))
    assert _policy(json_answer)["default-src"] == "'none'"
    docs = client.get("/api/v1/swagger")
    assert docs.status_code == 200
    assert "'unsafe-inline'" in _policy(docs)["script-src"]


def test_no_template_runs_script_the_policy_would_block() -> None:
    templates = [
        path
        for path in ROOT.glob("*/templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts
    ]
    assert templates
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "csp_nonce()" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), path  # inline event handlers
        assert "javascript:" not in text, path


# --- LIKE wildcards ---------------------------------------------------------------------------
