"""Whatever arrives, the planning API answers JSON (2xx or 4xx), never 500, and a refused
write changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import UnitOfWork
from inventory.service import targets
from tests.conftest import bearer

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values a client might send: plausible ones, near misses and junk.
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "BJ",
            "bj",
            "QQ",
            "C-1",
            "c-1",
            "C-4",
            "Chengdu",
            "Lhasa",
            "2026-03-02T10:00:00+08:00",
            "2026-03-02T10:00:00 08:00",
            "2026-03-02T10:00:00",
            "2026-03-02",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "NaN",
            "-1",
            "1e309",
            "%00",
            "\x00",
            "null",
            "PN-0001",
            "x" * 300,
        ]
    ),
    st.text(max_size=40),
)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def _json_answer(answer: Any) -> Any:
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert answer.is_json, answer.get_data(as_text=True)[:200]
    body = answer.get_json()
    if answer.status_code >= 400:
        assert body["error"] and isinstance(body["detail"], str)
    return body


@pytest.fixture
def headers(api_token) -> dict[str, str]:
    return bearer(api_token("planner"))


@pytest.fixture
def part(engine, planner, make_part, stock_up) -> str:
    number = make_part(part_number="PN-0001")
    stock_up("CD", number, 2)
    targets.set_override(UnitOfWork(engine), planner, "SH", number, 1)
    return number


def _snapshot(engine) -> list[tuple[Any, ...]]:
    """Every stored target as plain values (rows from two sessions never compare equal)."""
    return [
        (t.depot_code, t.part_number, t.computed, t.override, t.computed_at, t.override_at)
        for t in targets.list_targets(UnitOfWork(engine))
    ]


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["part_number", "city", "fault_level", "at", "other"]), TEXT, max_size=5
    )
)
def test_depot_choice_never_fails_on_any_query(client, headers, part, query):
    _json_answer(client.get("/api/v1/depot-choice", query_string=query, headers=headers))


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["depot", "part_number", "nonzero", "limit", "offset"]), TEXT, max_size=5
    )
)
def test_reading_targets_never_fails_on_any_query(client, headers, part, query):
    _json_answer(client.get("/api/v1/targets", query_string=query, headers=headers))


@FUZZ
@given(
    body=st.one_of(
        JSON_VALUE,
        st.fixed_dictionaries(
            {"depot": TEXT, "part_number": TEXT, "override": JSON_VALUE},
            optional={"extra": JSON_VALUE},
        ),
    )
)
def test_setting_a_target_answers_json_and_a_refusal_changes_nothing(
    client, engine, headers, part, body
):
    before = _snapshot(engine)
    answer = client.put("/api/v1/targets", json=body, headers=headers)
    result = _json_answer(answer)
    if answer.status_code >= 400:
        assert _snapshot(engine) == before
    else:
        stored = targets.effective_targets(UnitOfWork(engine))
        assert stored[(result["depot"], result["part_number"])] == result["target"]


@FUZZ
@given(
    body=st.one_of(
        JSON_VALUE,
        st.fixed_dictionaries(
            {},
            optional={
                "fill_rate": JSON_VALUE,
                "lead_time_days": JSON_VALUE,
                "window_days": JSON_VALUE,
            },
        ),
    )
)
def test_computing_targets_answers_json_whatever_the_body(client, headers, part, body):
    _json_answer(client.post("/api/v1/targets/compute", json=body, headers=headers))


@FUZZ
@given(raw=st.binary(max_size=40), content_type=st.sampled_from(["application/json", "text/plain"]))
def test_writes_with_a_body_that_is_not_json_answer_json_and_a_refusal_changes_nothing(
    client, engine, headers, part, raw, content_type
):
    for path, method in [("/api/v1/targets", "PUT"), ("/api/v1/targets/compute", "POST")]:
        before = _snapshot(engine)
        answer = client.open(
            path, method=method, data=raw, headers={**headers, "Content-Type": content_type}
        )
        _json_answer(answer)
        if answer.status_code >= 400:
            assert _snapshot(engine) == before
