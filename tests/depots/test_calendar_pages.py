"""The calendars page through the test client: year view, day forms, CSV, calculator."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from core.db import UnitOfWork
from depots.service import calendars

PAGE = "/calendars?code=5x8&year=2026"


def csrf_token(client, url: str = PAGE) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def day_state(html: str, day: str) -> str:
    match = re.search(rf'data-day="{day}" data-state="(\w+)"', html)
    assert match, f"{day} not in the year view"
    return match.group(1)


def test_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_depot_staff_may_not_see_the_calendars(client, login) -> None:
    login("depot_staff", depot="SH")
    assert client.get(PAGE).status_code == 403


def test_the_year_view_marks_holidays_and_make_up_days(client, login) -> None:
    login("planner")
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert day_state(html, "2026-02-14") == "workday"  # make-up Saturday
    assert day_state(html, "2026-02-16") == "holiday"  # Spring Festival Monday
    assert day_state(html, "2026-02-21") == "holiday"  # a Saturday inside the block
    assert day_state(html, "2026-03-07") == "closed"  # ordinary Saturday
    assert day_state(html, "2026-03-09") == "open"
    assert "248 working days, 1984 working hours in 2026" in html
    assert 'title="2026-10-01: National Day"' in html


def test_readers_get_no_editing_forms(client, login) -> None:
    login("supervisor")
    html = client.get(PAGE).get_data(as_text=True)
    assert "Add or replace a day" not in html
    assert "Import days from CSV" not in html
    assert "Remove" not in html


def test_the_navigation_links_to_the_calendars(client, login) -> None:
    login("planner")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/calendars"' in html


def test_an_admin_adds_a_holiday_through_the_form(client, login, engine) -> None:
    login("admin")
    response = client.post(
        "/calendars/5x8/days?year=2026",
        data={
            "csrf_token": csrf_token(client),
            "day": "2026-03-10",
            "kind": "holiday",
            "name": "Typhoon",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added 2026-03-10 as holiday (Typhoon)." in page
    assert day_state(page, "2026-03-10") == "holiday"
    days = {d.day: d for d in calendars.list_days(UnitOfWork(engine), "5x8", 2026)}
    assert days[date(2026, 3, 10)].name == "Typhoon"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"day": "2026-03-10", "kind": "workday", "name": "x"}, "Tuesday"),
        ({"day": "2026-02-30", "kind": "holiday", "name": "x"}, "is not a date"),
        ({"day": "", "kind": "holiday", "name": "x"}, "is not a date"),
        ({"day": "2026-03-10", "kind": "party", "name": "x"}, "kind must be"),
        ({"day": "2026-03-10", "kind": "holiday", "name": "x" * 81}, "at most 80"),
    ],
)
def test_form_errors_are_shown_and_change_nothing(client, login, engine, form, message) -> None:
    login("admin")
    before = calendars.export_days(UnitOfWork(engine))
    response = client.post(
        "/calendars/5x8/days?year=2026", data={"csrf_token": csrf_token(client), **form}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'data-testid="day-error">([^<]*)<', html)
    assert error and message in error.group(1)
    assert f'value="{form["day"]}"' in html  # what was typed is kept
    assert calendars.export_days(UnitOfWork(engine)) == before


def test_a_form_without_its_csrf_token_is_refused(client, login, engine) -> None:
    login("admin")
    response = client.post(
        "/calendars/5x8/days", data={"day": "2026-03-10", "kind": "holiday", "name": "x"}
    )
    assert response.status_code == 400
    assert calendars.list_days(UnitOfWork(engine), "5x8", 2026)[-1].day != date(2026, 3, 10)
    assert len(calendars.list_days(UnitOfWork(engine), "5x8", 2026)) == 39


def test_a_planner_may_not_post_a_day(client, login, engine) -> None:
    login("planner")
    response = client.post(
        "/calendars/5x8/days",
        data={"csrf_token": csrf_token(client), "day": "2026-03-10", "kind": "holiday"},
    )
    assert response.status_code == 403
    assert len(calendars.list_days(UnitOfWork(engine), "5x8", 2026)) == 39


def test_an_admin_removes_a_day(client, login, engine) -> None:
    login("admin")
    response = client.post(
        "/calendars/5x8/days/2026-02-23/delete?year=2026", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert day_state(page, "2026-02-23") == "open"
    assert date(2026, 2, 23) not in {
        d.day for d in calendars.list_days(UnitOfWork(engine), "5x8", 2026)
    }


def test_removing_a_day_that_is_not_there_shows_an_error(client, login) -> None:
    login("admin")
    response = client.post(
        "/calendars/5x8/days/2026-03-10/delete?year=2026", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 404
    assert "has no holiday or make-up day on 2026-03-10" in response.get_data(as_text=True)


def upload(client, content: bytes, name: str = "days.csv"):
    return client.post(
        "/calendars/import?year=2027",
        data={
            "csrf_token": csrf_token(client),
            "code": "5x8",
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def test_an_admin_uploads_a_csv_of_days(client, login, engine) -> None:
    login("admin")
    response = upload(
        client,
        b"calendar,day,kind,name\n5x8,2027-01-01,holiday,New Year's Day\n"
        b"5x8,2027-02-06,workday,Spring Festival\n",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported: 2 days added, 0 replaced, 0 unchanged." in page
    assert day_state(page, "2027-02-06") == "workday"


def test_an_upload_with_errors_lists_them_and_imports_nothing(client, login, engine) -> None:
    login("admin")
    response = upload(
        client,
        b"calendar,day,kind,name\n5x8,2027-01-01,holiday,ok\n5x8,2027-02-29,holiday,x\n"
        b"5x8,2027-01-05,workday,x\n",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = html[html.index('data-testid="import-errors"') :]
    assert "2 problems in the file; nothing imported" in errors
    assert re.search(r'<td class="num">3</td><td>day</td><td>2027-02-29 is not a real date', errors)
    assert re.search(r'<td class="num">4</td><td>kind</td>', errors)
    assert calendars.list_days(UnitOfWork(engine), "5x8", 2027) == []


def test_an_upload_without_a_file_is_an_error(client, login) -> None:
    login("admin")
    response = client.post(
        "/calendars/import", data={"csrf_token": csrf_token(client), "code": "5x8"}
    )
    assert response.status_code == 422
    assert "choose a CSV file" in response.get_data(as_text=True)


def test_the_csv_download_has_the_years_days(client, login) -> None:
    login("engineer")
    response = client.get("/calendars/export.csv?code=5x8&year=2026")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="calendar-days-5x8-2026.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "calendar,day,kind,name"
    assert len(lines) == 40


def test_the_calculator_answers_hours_and_due(client, login) -> None:
    login("planner")
    html = client.get(PAGE + "&start=2026-02-13T16:00&end=2026-02-24T10:00&hours=10").get_data(
        as_text=True
    )
    assert "10.00 working hours from 2026-02-13 16:00 Fri to 2026-02-24 10:00 Tue" in html
    assert "due at <strong>2026-02-24 10:00 Tue</strong>" in html


def test_the_calculator_explains_bad_input(client, login) -> None:
    login("planner")
    html = client.get(PAGE + "&start=soon&hours=1").get_data(as_text=True)
    assert re.search(r'data-testid="calc-error">From: &#39;soon&#39; is not a date and time', html)


def test_the_7x24_calendar_page_has_no_year_grid(client, login) -> None:
    login("admin")
    response = client.get("/calendars?code=7x24&year=2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Always open" in html and "8760 hours in 2026" in html
    assert "data-state=" not in html


def test_an_unknown_calendar_page_is_404_and_a_bad_year_422(client, login) -> None:
    login("planner")
    assert client.get("/calendars?code=9x9").status_code == 404
    assert client.get("/calendars?year=20x6").status_code == 422
