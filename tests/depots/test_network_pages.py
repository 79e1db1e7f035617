"""The depot map and the lane editor, through the test client."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from core.db import UnitOfWork
from depots.service import network
from tests.conftest import csrf_token

DEPOT_CODES = ("BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}".*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


@pytest.fixture
def lane_id(engine) -> int:
    return network.find_lane(UnitOfWork(engine), "BJ", "Shanghai").id


def _lane(engine, from_depot: str = "BJ", to: str = "Shanghai") -> network.LaneInfo:
    return network.find_lane(UnitOfWork(engine), from_depot, to)


# --- the depot map ---------------------------------------------------------------------------


def test_the_depot_map_plots_every_depot_city_and_transfer_lane(client, login):
    login("engineer")
    response = client.get("/depots")
    assert response.status_code == 200
    html = _html(response)
    svg = re.search(r'<svg data-testid="depot-map".*?</svg>', html, re.S).group(0)
    for code in DEPOT_CODES:
        assert f'data-testid="depot-{code}"' in svg
    assert 'data-testid="city-Lhasa"' in svg and "Lhasa 拉萨 (Tibet)" in svg
    assert 'data-testid="city-Beijing"' not in svg  # a depot city is drawn as its depot
    lines = re.findall(r'<line class="lane lane-(\w+)"', svg)
    assert len(lines) == 28 and {"road", "air"} <= set(lines)
    assert "BJ → JN: road" in svg
    for code in DEPOT_CODES:
        assert f'data-testid="depot-row-{code}"' in html
    assert "18:00" in _row(html, "depot-row-BJ") and "5x8" in _row(html, "depot-row-BJ")


def test_depots_and_lanes_are_in_the_navigation_for_every_role(client, login):
    login("depot_staff", depot="SH")
    html = _html(client.get("/"))
    assert 'href="/depots"' in html and 'href="/lanes"' in html


def test_pages_need_a_signed_in_user(client):
    for path in ("/depots", "/lanes", "/lanes/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- reading lanes ---------------------------------------------------------------------------


def test_lanes_page_lists_lanes_from_beijing_by_default(client, login):
    login("planner")
    html = _html(client.get("/lanes"))
    row = _row(html, "lane-BJ-Shanghai")
    assert "air" in row and "1067.4" in row and "11.52" in row and "466.84" in row
    assert 'data-testid="edit-lane-BJ-Shanghai"' in row
    assert "lane-BJ-Lhasa" in html and "lane-SH-" not in html
    # 57 cities and 7 depots, a page of 50 at a time: city lanes first, then depots.
    assert "1–50 of 64" in html and "lane-BJ-SH" not in html
    assert "lane-BJ-SH" in _html(client.get("/lanes?page=2"))


def test_lanes_page_filters_by_origin_and_kind(client, login):
    login("planner")
    html = _html(client.get("/lanes?from=SH&kind=depot"))
    rows = re.findall(r'<tr data-testid="lane-([A-Z]+)-([^"]+)"', html)
    assert rows == [("SH", code) for code in ("BJ", "CD", "GZ", "JN", "SY", "WH", "XA")]


def test_lanes_of_an_unknown_depot_is_not_found(client, login):
    login("planner")
    assert client.get("/lanes?from=XX").status_code == 404


def test_engineers_see_lanes_but_cannot_edit_them(client, login, lane_id):
    login("engineer")
    html = _html(client.get("/lanes?from=BJ"))
    assert "lane-BJ-Shanghai" in html
    assert "edit-lane-" not in html and "Import CSV" not in html
    assert client.get(f"/lanes/{lane_id}/edit").status_code == 403


def test_depot_staff_cannot_post_a_lane_edit(client, login, engine, lane_id):
    login("depot_staff", depot="SH")
    token = csrf_token(client, "/lanes")
    response = client.post(
        f"/lanes/{lane_id}/edit",
        data={"mode": "road", "hours": "1", "cost": "1", "csrf_token": token},
    )
    assert response.status_code == 403
    assert not _lane(engine).edited


# --- editing a lane --------------------------------------------------------------------------


def test_a_planner_edits_a_lane_with_the_form(client, login, engine, lane_id):
    login("planner")
    lanes_page = _html(client.get("/lanes?from=BJ"))
    edit_url = re.search(r'href="([^"]+)" data-testid="edit-lane-BJ-Shanghai"', lanes_page)[1]
    form = _html(client.get(edit_url))
    assert "Save lane" in form and "Reset to default" in form
    for name in ("mode", "hours", "cost"):
        assert f'name="{name}"' in form

    response = client.post(
        edit_url,
        data={
            "mode": "air",
            "hours": "9.5",
            "cost": "123.45",
            "csrf_token": csrf_token(client, edit_url),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lanes?from=BJ")
    html = _html(client.get(response.headers["Location"]))
    assert "Lane BJ → Shanghai saved." in html
    row = _row(html, "lane-BJ-Shanghai")
    assert "9.50" in row and "123.45" in row and ">edited<" in row
    saved = _lane(engine)
    assert (saved.hours, saved.cost, saved.edited) == (Decimal("9.50"), Decimal("123.45"), True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"mode": "air", "hours": "-1", "cost": "10"}, "hours must be more than 0"),
        ({"mode": "air", "hours": "abc", "cost": "10"}, "hours must be a number"),
        ({"mode": "air", "hours": "5", "cost": "-3"}, "cost must be at least 0"),
        ({"mode": "ship", "hours": "5", "cost": "3"}, "mode must be one of"),
    ],
)
def test_bad_form_input_shows_errors_and_changes_nothing(
    client, login, engine, lane_id, form, message
):
    login("planner")
    before = _lane(engine)
    url = f"/lanes/{lane_id}/edit"
    response = client.post(url, data={**form, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422
    html = _html(response)
    assert message in html and 'class="field-error"' in html
    assert f'value="{form["hours"]}"' in html  # what was typed stays in the form
    assert _lane(engine) == before


def test_a_form_without_the_csrf_token_is_refused(client, login, engine, lane_id):
    login("planner")
    response = client.post(
        f"/lanes/{lane_id}/edit", data={"mode": "road", "hours": "5", "cost": "3"}
    )
    assert response.status_code == 400
    assert not _lane(engine).edited


def test_reset_to_default_puts_the_rule_back(client, login, engine, lane_id):
    login("planner")
    before = _lane(engine)
    url = f"/lanes/{lane_id}/edit"
    client.post(
        url,
        data={"mode": "road", "hours": "30", "cost": "1", "csrf_token": csrf_token(client, url)},
    )
    response = client.post(f"/lanes/{lane_id}/reset", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    html = _html(client.get(response.headers["Location"]))
    assert "Lane BJ → Shanghai reset to the default rule." in html
    after = _lane(engine)
    assert after.terms == before.terms and not after.edited


def test_editing_a_missing_lane_is_not_found(client, login):
    login("planner")
    assert client.get("/lanes/999999/edit").status_code == 404


# --- CSV -----------------------------------------------------------------------------------


def test_lanes_download_as_csv(client, login):
    login("engineer")
    response = client.get("/lanes/export.csv?from=BJ")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "lanes-BJ.csv" in response.headers["Content-Disposition"]
    lines = _html(response).splitlines()
    assert lines[0] == "from_depot,to,kind,mode,hours,cost"
    assert "BJ,Shanghai,city,air,11.52,466.84" in lines
    assert all(line.startswith("BJ,") for line in lines[1:])


def _upload(client, text: str, filename: str = "lanes.csv"):
    token = csrf_token(client, "/lanes?from=BJ")
    return client.post(
        "/lanes/import?from=BJ",
        data={"file": (io.BytesIO(text.encode()), filename), "csrf_token": token},
        content_type="multipart/form-data",
    )


def test_a_planner_uploads_lanes(client, login, engine):
    login("planner")
    response = _upload(client, "from_depot,to,kind,mode,hours,cost\nBJ,Shanghai,city,road,20,150\n")
    assert response.status_code == 302
    html = _html(client.get(response.headers["Location"]))
    assert "Imported 1 lane rows: 1 changed" in html
    assert _lane(engine).hours == Decimal("20.00")


def test_an_upload_with_bad_rows_lists_them_and_imports_nothing(client, login, engine):
    login("planner")
    before = _lane(engine)
    response = _upload(
        client,
        "from_depot,to,kind,mode,hours,cost\n"
        "BJ,Shanghai,city,road,20,150\n"
        "BJ,Atlantis,city,road,20,150\n"
        "BJ,Harbin,city,road,999,150\n",
    )
    assert response.status_code == 422
    html = _html(response)
    errors = re.search(r'data-testid="import-errors".*?</div>', html, re.S).group(0)
    assert "Nothing imported" in errors
    assert "unknown city &#39;Atlantis&#39;" in errors and "at most 240" in errors
    assert '<td class="num">3</td>' in errors and '<td class="num">4</td>' in errors
    assert _lane(engine) == before


def test_an_upload_that_is_not_utf8_or_missing_is_refused(client, login):
    login("planner")
    token = csrf_token(client, "/lanes")
    response = client.post(
        "/lanes/import",
        data={"file": (io.BytesIO(b"\xff\xfe\x00bad"), "x.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "not UTF-8" in _html(response)
    response = client.post("/lanes/import", data={"csrf_token": token})
    assert response.status_code == 422 and "choose a CSV file" in _html(response)


def test_engineers_cannot_upload_lanes(client, login):
    login("engineer")
    response = _upload(client, "from_depot,to,kind,mode,hours,cost\nBJ,Shanghai,city,road,1,1\n")
    assert response.status_code == 403


# --- the quote calculator --------------------------------------------------------------------


def test_the_quote_calculator_answers_on_the_lanes_page(client, login):
    login("engineer")
    response = client.get(
        "/lanes?from=BJ&quote_to=Lhasa&ready_at=2026-03-06T18:30&service=emergency"
    )
    assert response.status_code == 200
    result = re.search(r'data-testid="quote-result".*?</dl>', _html(response), re.S).group(0)
    assert "2026-03-06 19:30" in result  # ships within the hour
    assert "emergency" in result


def test_the_quote_calculator_shows_errors(client, login):
    login("engineer")
    response = client.get("/lanes?from=BJ&quote_to=Gotham")
    assert response.status_code == 422
    assert "Gotham" in _html(response) and 'data-testid="quote-error"' in _html(response)
    response = client.get("/lanes?from=BJ&quote_to=Lhasa&ready_at=soon")
    assert response.status_code == 422
