"""Odd input to the calendars gets a clear refusal, never a server error or a partial write."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import UnitOfWork
from core.errors import Invalid
from depots.service import calendars
from tests.conftest import bearer

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

odd_instant = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-02-13T16:00:00+08:00",
            "2026-02-13T16:00:00 08:00",
            "2026-02-13T16:00:00",
            "2026-02-13",
            "0001-01-01T00:00+08:00",
            "9999-12-31T23:59:59-12:00",
            "2026-02-30T00:00Z",
            "",
        ]
    ),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda value: value.isoformat()),
)
odd_number = st.one_of(
    st.floats().map(repr),
    st.integers().map(str),
    st.text(max_size=8),
    st.sampled_from(["nan", "inf", "-0", "1e400", "87600", "87600.01"]),
)


def is_real_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


odd_code = st.one_of(st.sampled_from(["5x8", "7x24", "9x9", "", "5X8"]), st.text(max_size=20))


def test_odd_computation_queries_never_fail_the_server(client, api_token) -> None:
    headers = bearer(api_token("engineer"))

    @SETTINGS
    @given(
        st.fixed_dictionaries(
            {},
            optional={"start": odd_instant, "end": odd_instant, "calendar": odd_code},
        ),
        st.fixed_dictionaries(
            {},
            optional={"start": odd_instant, "hours": odd_number, "calendar": odd_code},
        ),
    )
    def check(hours_query: dict[str, str], due_query: dict[str, str]) -> None:
        for path, query in (
            ("/api/v1/calendar/working-hours", hours_query),
            ("/api/v1/calendar/add-working-hours", due_query),
        ):
            answer = client.get(f"{path}?{urlencode(query)}", headers=headers)
            assert answer.status_code in (200, 404, 422), (path, query, answer.get_json())
            assert answer.is_json

    check()


def test_odd_day_edits_never_fail_the_server_nor_write(client, api_token, engine) -> None:
    headers = bearer(api_token("admin"))
    before = calendars.export_days(UnitOfWork(engine))
    body = st.one_of(
        st.none(),
        st.integers(),
        st.lists(st.text(max_size=5), max_size=2),
        st.fixed_dictionaries(
            {},
            optional={
                "kind": st.one_of(st.sampled_from(["holiday", "workday", ""]), st.text(max_size=9)),
                "name": st.one_of(st.text(max_size=90), st.integers(), st.none()),
            },
        ),
    )

    odd_day = st.one_of(st.text(min_size=1, max_size=12), odd_instant).filter(
        lambda text: not is_real_day(text)  # a real day could rightly be written
    )

    @SETTINGS
    @given(code=odd_code, day=odd_day, body=body)
    def check(code: str, day: str, body: object) -> None:
        url = f"/api/v1/calendars/{quote(code or '5x8', safe='')}/days/{quote(day, safe='')}"
        # 308: the router's own redirect for a doubled slash ("0//days"); nothing runs.
        answer = client.put(url, headers=headers, json=body)
        assert answer.status_code in (308, 404, 405, 422), (url, body, answer.get_json())
        answer = client.delete(url, headers=headers)
        assert answer.status_code in (308, 404, 405, 422), (url, answer.get_json())

    check()
    assert calendars.export_days(UnitOfWork(engine)) == before


def test_odd_csv_files_are_refused_whole(engine) -> None:
    uow = UnitOfWork(engine)
    before = calendars.export_days(uow)
    cell = st.one_of(
        st.sampled_from(["5x8", "7x24", "2027-01-01", "2027-01-02", "holiday", "workday", "x"]),
        st.text(max_size=12),
    )
    row = st.lists(cell, min_size=0, max_size=5).map(lambda cells: ",".join(cells))

    @SETTINGS
    @given(st.lists(row, max_size=6), st.booleans())
    def check(rows: list[str], with_header: bool) -> None:
        lines = (["calendar,day,kind,name"] if with_header else []) + rows
        try:
            calendars.import_days(uow, None, "\n".join(lines))
        except Invalid as error:
            assert error.fields, error.detail
            assert calendars.export_days(uow) == before
        else:
            # Only whole, valid files get in (2027 days here); put the database back.
            for entry in calendars.list_days(uow, "5x8", 2027):
                calendars.delete_day(uow, None, "5x8", entry.day)
            assert calendars.export_days(uow) == before

    check()
