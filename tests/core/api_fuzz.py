"""schemathesis against the Flask app (WSGI, no server): every operation of
``/api/v1/openapi.json`` called as one user, each answer checked against the
document (status code documented, content type, response schema, headers) and
never a 5xx.

A short run tries one case per operation: positive data (what the document
allows) or negative data (what it forbids) by the parity of the operation's
place, so two users with different offsets try both on every operation. A long
run tries many of each. Where the document has path parameters, real values
from the data (``known_path_values``) are used, so detail routes answer 200s and
not only 404s; long runs also try generated ones.

Failures are collected, not raised at the first one, so a run reports every
distinct mismatch (operation, check, first line of the message) with one
example each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DOCUMENT = "/api/v1/openapi.json"
TOKEN_PATH = "/api/v1/auth/token"


@dataclass
class FuzzReport:
    """What one run tried and found."""

    role: str
    operations: int = 0
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.role}: {self.operations} operations, {self.cases} cases ({codes}); "
            f"{len(self.failures)} distinct failures"
        )

    def failure_text(self) -> str:
        return "\n\n".join(
            f"{method} {path}: {title}\n{example}"
            for (method, path, title), example in sorted(self.failures.items())
        )


def token_for(client: FlaskClient, username: str, password: str) -> str:
    answer = client.post(TOKEN_PATH, json={"username": username, "password": password})
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["token"])


def _values(client: FlaskClient, headers: dict[str, str], path: str, key: str) -> list[Any]:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.status_code)
    rows = answer.get_json()
    return [row[key] for row in rows[:20] if row.get(key) is not None]


def known_path_values(client: FlaskClient, headers: dict[str, str]) -> dict[str, dict[str, list]]:
    """Real path parameter values per operation path, read through the API as an
    admin (``headers``): RMA numbers, transfer ids, serials ..."""
    get = lambda path, key: _values(client, headers, path, key)  # noqa: E731
    transfers = client.get("/api/v1/transfers?limit=20", headers=headers).get_json()
    discrepancies = [d["id"] for t in transfers for d in t.get("discrepancies", [])]
    calendars = get("/api/v1/calendars", "code")
    days = [day for code in calendars for day in get(f"/api/v1/calendars/{code}/days", "day")[:5]]
    ladder = client.get("/api/v1/escalation-ladder", headers=headers).get_json()
    values: dict[str, dict[str, list]] = {
        "/api/v1/rmas/": {"number": get("/api/v1/rmas?limit=40", "number")},
        "/api/v1/transfers/": {
            "id": [t["id"] for t in transfers],
            "discrepancy_id": discrepancies,
        },
        "/api/v1/parts/": {"part_number": get("/api/v1/parts?limit=20", "part_number")},
        "/api/v1/units/": {"serial": get("/api/v1/units?limit=20", "serial")},
        "/api/v1/installed-units/": {"serial": get("/api/v1/installed-units?limit=20", "serial")},
        "/api/v1/rebalance/plans/": {"id": get("/api/v1/rebalance/plans", "id")},
        "/api/v1/reservations/": {"id": get("/api/v1/reservations", "id")},
        "/api/v1/escalations/": {"id": get("/api/v1/escalations", "id")},
        "/api/v1/customers/": {"id": get("/api/v1/customers?limit=20", "id")},
        "/api/v1/sites/": {"id": get("/api/v1/sites", "id")},
        "/api/v1/contracts/": {"id": get("/api/v1/contracts", "id")},
        "/api/v1/lanes/": {"lane_id": get("/api/v1/lanes?from_depot=BJ", "id")},
        "/api/v1/calendars/": {"code": calendars, "day": days},
        "/api/v1/escalation-ladder/": {
            "fault_level": sorted({step["fault_level"] for step in ladder}),
            "step": sorted({step["step"] for step in ladder}),
        },
    }
    return {
        prefix: {name: found for name, found in names.items() if found}
        for prefix, names in values.items()
    }


def _path_values(path: str, known: dict[str, dict[str, list]]) -> dict[str, list]:
    names = re.findall(r"{(\w+)}", path)
    for prefix, values in known.items():
        if path.startswith(prefix) and names and all(name in values for name in names):
            return {name: values[name] for name in names}
    return {}


def run_fuzz(
    app: Any,
    *,
    role: str,
    token: Callable[[], str],
    known: dict[str, dict[str, list]],
    rounds: int,
    offset: int = 0,
    seed: int | None = None,
) -> FuzzReport:
    """Call every operation as a user of ``role`` whose fresh bearer tokens ``token()``
    gives. ``rounds`` 1 tries one case per operation (positive or negative data by
    the parity of its place plus ``offset``; real path values where known); more
    rounds try that many cases of each kind (positive and negative data, generated
    and real path values). ``seed`` None is derandomized: the same cases every run.

    An operation the role may not use (``core.auth.api_roles``) is refused before
    its input is read, so it is called once, not fuzzed."""
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    guards = app.guards()
    report = FuzzReport(role)
    bearer = token()

    def call(case: Any) -> None:
        # Revoking a token ends it: that operation gets a token of its own.
        revoking = case.method.upper() == "DELETE" and case.operation.path == TOKEN_PATH
        headers = {"Authorization": f"Bearer {token() if revoking else bearer}"}
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        report.cases += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            _record(report, case.operation, group.exceptions, response)
        except Failure as failure:
            _record(report, case.operation, [failure], response)

    def fuzz(operation: Any, mode: GenerationMode, values: dict[str, list]) -> None:
        strategy = st.fixed_dictionaries(
            {name: st.sampled_from(choices) for name, choices in values.items()}
        ).flatmap(
            lambda chosen: operation.as_strategy(
                generation_mode=mode, path_parameters=chosen or None
            )
        )

        @settings(
            max_examples=rounds,
            deadline=None,
            database=None,
            derandomize=seed is None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def one_case(case: Any) -> None:
            call(case)

        if seed is not None:
            one_case = fixed_seed(seed)(one_case)
        one_case()

    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        report.operations += 1
        values = _path_values(operation.path, known)
        roles = guards.get((operation.path, operation.method.lower()))
        if roles and role != "admin" and role not in roles:
            names = re.findall(r"{(\w+)}", operation.path)
            placeholders = {name: (values.get(name) or ["1"])[0] for name in names}
            call(operation.Case(path_parameters=placeholders))
            continue
        positive = (index + offset) % 2 == 0
        if rounds == 1:
            mode = GenerationMode.POSITIVE if positive else GenerationMode.NEGATIVE
            fuzz(operation, mode, values)
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, {})
            if values:
                fuzz(operation, mode, values)
    return report


def _record(report: FuzzReport, operation: Any, failures: Iterable[Failure], response: Any) -> None:
    for failure in failures:
        title = str(getattr(failure, "title", type(failure).__name__))
        message = str(getattr(failure, "message", failure)).strip().splitlines()
        key = (
            operation.method.upper(),
            operation.path,
            f"{title}: {message[0] if message else ''}",
        )
        report.failures.setdefault(
            key, f"  -> {response.status_code} {response.text[:300]}\n  {' '.join(message)[:500]}"
        )
