"""Odd input to the network API gets a clear 4xx answer, never a server error."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import bearer

odd_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["BJ", "bj", "Lhasa", "SH", "Xi'an", "", " ", "%", "2026-03-06T18:00"]),
)
odd_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
lane_body = st.fixed_dictionaries(
    {},
    optional={
        "from_depot": odd_text,
        "to": odd_text,
        "kind": odd_text,
        "mode": st.sampled_from(["road", "air", "courier", "boat", ""]),
        "hours": st.one_of(st.floats(), st.integers(), st.text(max_size=8)),
        "cost": st.one_of(st.floats(), st.integers(), st.text(max_size=8)),
    },
)


SETTINGS = settings(max_examples=60, deadline=None)


def test_odd_queries_never_fail_the_server(client, api_token):
    headers = bearer(api_token("engineer"))

    @SETTINGS
    @given(
        st.dictionaries(
            st.sampled_from(["from_depot", "to", "kind", "ready_at", "service"]), odd_text
        ),
        st.sampled_from(["/api/v1/lanes", "/api/v1/lanes/quote"]),
    )
    def check(query: dict[str, str], path: str) -> None:
        answer = client.get(f"{path}?{urlencode(query)}", headers=headers)
        assert answer.status_code in (200, 404, 422), (query, answer.get_json())
        assert answer.is_json

    check()


def test_odd_lane_edits_never_fail_the_server(client, api_token):
    headers = bearer(api_token("planner"))

    @SETTINGS
    @given(st.one_of(odd_json, st.lists(lane_body, max_size=3), lane_body))
    def check(body: object) -> None:
        for path in ("/api/v1/lanes", "/api/v1/lanes/3"):
            answer = client.put(path, json=body, headers=headers)
            assert answer.status_code in (200, 404, 422), (path, body, answer.get_json())

    check()
