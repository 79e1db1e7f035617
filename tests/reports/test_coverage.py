"""The 24-hour coverage report on a small installed base worked out by hand, the demo
lanes' far cities by hour of approval, and the report through its public surfaces
(service, API, page in Chinese, CLI, PDF pages).

The base (times Asia/Shanghai; the report is made at NOW, Friday 2026-03-20 10:00):

========= ============ ========= ================ ==========================================
part      family       installed stock            reach (default lanes, approval at 10:00)
========= ============ ========= ================ ==========================================
P1-SWITCH chassis      Shanghai 3 SH 2            SH -> Shanghai courier 4 h: covered
                       Urumqi 1                   no depot's lane is under 24 h: a gap
P2-ROUTER line_card    Harbin 2  BJ 1             BJ -> Harbin by air 10 + d/700 = 11.5 h
P3-OPTIC  optic        Lhasa 2   SH 1             SH -> Lhasa 10 + d/700 + 12 = 26.2 h: a
                                                  gap a transfer SH -> CD closes (CD ->
                                                  Lhasa 23.8 h)
========= ============ ========= ================ ==========================================

Installed 8, covered 3 + 2 = 5: 62.5 %.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from core import clock
from core.db import UnitOfWork
from depots.lanes import great_circle_km
from depots.service.snapshot import network
from inventory.service import targets
from reports.catalogue import kind_of
from reports.files import render
from reports.service.coverage import (
    DUE_SECONDS,
    HOURS,
    approval_at_hour,
    coverage_tables,
    covered_share,
    reach,
)
from reports.service.filters import Filters
from tests.reports.test_report_chinese import CHINESE
from tests.reports.test_report_render import (  # noqa: F401  (poppler is a fixture)
    assert_not_blank,
    pdf_pages,
    pdf_text,
    poppler,
)

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # Friday 2026-03-20 10:00 in Shanghai
AT_19 = datetime(2026, 3, 20, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai, after the cut-off
URL = "/api/v1/reports/coverage"

CITY = {  # lat, lon (depots/data/cities.csv)
    "Shanghai": (31.230, 121.474),
    "Beijing": (39.904, 116.407),
    "Chengdu": (30.573, 104.066),
    "Harbin": (45.803, 126.535),
    "Lhasa": (29.652, 91.172),
}


def air_hours(origin: str, city: str, *, remote: bool = False) -> float:
    """The default air lane: 10 h + 1 h per 700 km, + 12 h last mile to a remote city."""
    return 10 + great_circle_km(*CITY[origin], *CITY[city]) / 700 + (12 if remote else 0)


@dataclass(frozen=True)
class Base:
    switch: str
    router: str
    optic: str
    set_target: Callable[[str, str, int], None]


@pytest.fixture
def base(engine, request: pytest.FixtureRequest) -> Base:
    new_part, receive, open_account, install_unit, planner = (
        request.getfixturevalue(name)
        for name in ("make_part", "stock_up", "account", "install", "planner")
    )
    with clock.frozen(NOW):
        switch = new_part(part_number="P1-SWITCH", family="chassis")
        router = new_part(part_number="P2-ROUTER", family="line_card")
        optic = new_part(part_number="P3-OPTIC", family="optic")
        receive("SH", switch, 2)
        receive("BJ", router, 1)
        receive("SH", optic, 1)
        shanghai, urumqi, harbin, lhasa = (
            open_account(city) for city in ("Shanghai", "Urumqi", "Harbin", "Lhasa")
        )
        for account, part, units in (
            (shanghai, switch, 3),
            (urumqi, switch, 1),
            (harbin, router, 2),
            (lhasa, optic, 2),
        ):
            for _ in range(units):
                install_unit(account, part)

    def set_target(depot: str, part: str, target: int) -> None:
        targets.set_override(UnitOfWork(engine), planner, depot, part, target)

    return Base(switch, router, optic, set_target)


def tables_at(engine, moment: datetime = NOW, **filters):
    with clock.frozen(moment):
        return coverage_tables(UnitOfWork(engine), now=moment, **filters)


# --- the shares ------------------------------------------------------------------------------


def test_no_installed_base_has_no_share(engine):
    assert covered_share(UnitOfWork(engine), at=NOW) is None


def test_covered_share_weights_pairs_by_installed_units(engine, base: Base):
    assert air_hours("Beijing", "Harbin") == pytest.approx(11.5, abs=0.05)
    assert air_hours("Shanghai", "Lhasa", remote=True) > 24
    # Shanghai 3 + Harbin 2 of 8 installed units.
    assert covered_share(UnitOfWork(engine), at=NOW) == pytest.approx(100 * 5 / 8)


def test_a_plans_stock_replaces_todays(engine, base: Base):
    # A plan that moves the optic to CD and the router out of the books: Shanghai 3 +
    # Lhasa 2 (CD -> Lhasa 23.8 h).
    after = {(base.switch, "SH"): 2, (base.optic, "CD"): 1}
    share = covered_share(UnitOfWork(engine), available=after, at=NOW)
    assert share == pytest.approx(100 * 5 / 8)
    assert covered_share(UnitOfWork(engine), available={}, at=NOW) == 0.0


def test_a_depot_holding_a_superseding_part_covers(engine, request: pytest.FixtureRequest):
    # The depot choice ships the part that supersedes the one asked for: so does coverage.
    new_part, receive, open_account, install_unit = (
        request.getfixturevalue(name) for name in ("make_part", "stock_up", "account", "install")
    )
    with clock.frozen(NOW):
        newer = new_part(part_number="P5-NEW")
        older = new_part(part_number="P4-OLD", superseded_by=newer)
        receive("SH", newer, 1)
        install_unit(open_account("Shanghai"), older)
    assert covered_share(UnitOfWork(engine), at=NOW) == 100.0
    tables = tables_at(engine)
    assert tables.gaps.empty and tables.by_city["covered_units"].tolist() == [1]


def test_after_the_cut_off_the_standard_share_falls_and_the_courier_rescues(engine, base: Base):
    # At 19:00 the regular carrier collects at 09:00 next day (14 h later): BJ -> Harbin
    # arrives after 14 + 11.5 = 25.5 h; Shanghai still gets its courier after 14 + 4 = 18 h.
    assert covered_share(UnitOfWork(engine), at=AT_19) == pytest.approx(100 * 3 / 8)
    tables = tables_at(engine, AT_19)
    # With the C-1 emergency courier Harbin is 1 + 11.5 = 12.5 h away: 5 of 8.
    assert tables.covered_emergency_pct == pytest.approx(62.5)


# --- the tables ------------------------------------------------------------------------------


def test_by_family_and_by_city(engine, base: Base):
    tables = tables_at(engine)
    assert tables.installed_units == 8 and tables.covered_pct == pytest.approx(62.5)
    family = tables.by_family.set_index("family")
    assert family.loc["chassis", ["installed_units", "covered_units", "gaps"]].tolist() == [4, 3, 1]
    assert family.loc["chassis", "covered_pct"] == 75.0
    assert family.loc["line_card", "covered_pct"] == 100.0
    assert family.loc["optic", "covered_pct"] == 0.0
    city = tables.by_city.set_index("city")
    assert list(tables.by_city["city"][:2]) == ["Lhasa", "Urumqi"]  # least covered first
    assert city.loc["Shanghai", ["installed_units", "covered_units"]].tolist() == [3, 3]
    assert city.loc["Lhasa", "city_zh"] == "拉萨"
    assert city.loc["Lhasa", "fastest_depot"] == "CD"
    assert city.loc["Lhasa", "fastest_hours"] == pytest.approx(
        air_hours("Chengdu", "Lhasa", remote=True), abs=0.01
    )
    assert city.loc["Harbin", "covered_pct"] == 100.0


def test_gaps_say_why(engine, base: Base):
    gaps = tables_at(engine).gaps
    assert gaps[["city", "part_number", "installed_units", "reason"]].values.tolist() == [
        ["Lhasa", "P3-OPTIC", 2, "stock_too_far"],
        ["Urumqi", "P1-SWITCH", 1, "out_of_reach"],
    ]
    lhasa = gaps.iloc[0]
    assert lhasa["best_depot"] == "SH"
    assert lhasa["best_hours"] == pytest.approx(
        air_hours("Shanghai", "Lhasa", remote=True), abs=0.01
    )


def test_transfers_close_what_they_can(engine, base: Base):
    transfers = tables_at(engine).closing_transfers
    lhasa, urumqi = transfers.to_dict("records")
    # SH holds 1 optic and no target: one unit above target goes to CD, 23.8 h from Lhasa.
    assert (lhasa["from_depot"], lhasa["to_depot"], lhasa["units"]) == ("SH", "CD", 1)
    assert lhasa["how"] == "above_target" and lhasa["closes"]
    assert (lhasa["from_available"], lhasa["from_target"]) == (1, 0)
    # No depot reaches Urumqi within 24 hours: no transfer closes it.
    assert urumqi["how"] == "out_of_reach" and not urumqi["closes"]
    assert urumqi["units"] == 0 and pd.isna(urumqi["to_depot"])


def test_a_sender_below_target_is_said(engine, base: Base):
    base.set_target("SH", base.optic, 1)
    lhasa = tables_at(engine).closing_transfers.iloc[0]
    assert lhasa["how"] == "below_target" and lhasa["from_target"] == 1


def test_supply_from_one_depot_only(engine, base: Base):
    # BJ's own shelves hold only the router: Harbin 2 of 8.
    tables = tables_at(engine, depot="BJ")
    assert tables.covered_pct == pytest.approx(25.0)
    shanghai = tables.closing_transfers.set_index("city").loc["Shanghai"]
    # BJ reaches Shanghai by air within 24 h: SH's spare switch goes to BJ.
    assert (shanghai["from_depot"], shanghai["to_depot"]) == ("SH", "BJ")


def test_a_family_filter_keeps_its_parts(engine, base: Base):
    tables = tables_at(engine, family="line_card")
    assert tables.installed_units == 2 and tables.covered_pct == 100.0
    assert tables.gaps.empty and tables.closing_transfers.empty


def test_by_hour_standard_and_with_the_courier(engine, base: Base):
    by_hour = tables_at(engine).by_hour.set_index("hour")
    assert list(by_hour.index) == list(HOURS)
    # 08:00: one hour's wait for the 09:00 pick-up keeps Harbin in reach (12.5 h).
    assert by_hour.loc[8, "covered_pct"] == 62.5
    assert by_hour.loc[18, "covered_pct"] == 62.5  # the cut-off instant still ships
    assert by_hour.loc[19, "covered_pct"] == 37.5
    assert by_hour.loc[19, "covered_emergency_pct"] == 62.5
    assert by_hour.loc[10, "out_of_reach"] == "Urumqi"
    # At 19:00 Harbin's fastest lane (SY, 10.3 h) waits 14 h; Lhasa's 23.8 h too.
    assert by_hour.loc[19, "out_of_reach"] == "Harbin, Lhasa, Urumqi"
    assert by_hour.loc[19, "out_of_reach_emergency"] == "Lhasa, Urumqi"
    assert by_hour.loc[19, "cities_out_of_reach"] == 3


# --- the far cities on the demo lanes ----------------------------------------------------------


def test_far_cities_on_the_default_lanes_by_hour_of_approval(engine):
    """Urumqi is never within 24 hours; Lhasa only when the unit ships at once (approval
    09:00-18:00); Haikou (GZ, 21.7 h) also after a wait of up to 2 h 20 for the 09:00
    pick-up (approval from 07:00), and always with the emergency courier."""
    uow = UnitOfWork(engine)
    net = network(uow)
    ids = {city.name: city.id for city in net.city_by_id.values()}
    far = [ids["Urumqi"], ids["Lhasa"], ids["Haikou"]]

    def within(hour: int, emergency: bool) -> dict[str, bool]:
        lanes = reach(net, approval_at_hour(NOW, hour), emergency=emergency, cities=far)
        fastest = lanes.rows_of(far).min(axis=1)
        return dict(zip(("Urumqi", "Lhasa", "Haikou"), fastest <= DUE_SECONDS, strict=True))

    standard = {hour: within(hour, False) for hour in HOURS}
    courier = {hour: within(hour, True) for hour in HOURS}
    assert not any(standard[h]["Urumqi"] or courier[h]["Urumqi"] for h in HOURS)
    assert [h for h in HOURS if standard[h]["Lhasa"]] == list(range(9, 19))
    assert [h for h in HOURS if courier[h]["Lhasa"]] == list(range(9, 19))
    assert [h for h in HOURS if standard[h]["Haikou"]] == list(range(7, 19))
    assert all(courier[h]["Haikou"] for h in HOURS)


# --- the report through its surfaces -------------------------------------------------------------


def test_api_answers_the_headline_and_c1_counts_the_courier(client, auth_for, base: Base):
    with clock.frozen(AT_19):
        body = client.get(URL, headers=auth_for("planner")).get_json()
        c1 = client.get(URL, query_string={"fault_level": "C-1"}, headers=auth_for("planner"))
    headline = body["headline"]
    assert headline["covered_pct"] == 37.5 and headline["installed_units"] == 8
    assert headline["covered_emergency_pct"] == 62.5
    assert headline["covered_at_18_pct"] == 62.5 and headline["covered_at_19_pct"] == 37.5
    # Now (19:00): Shanghai's 3 covered; Urumqi 1, Lhasa 2 and Harbin 2 are gaps.
    assert headline["uncovered_units"] == 5 and headline["gaps"] == 3
    assert list(body["tables"]) == [
        "by_family",
        "by_city",
        "by_hour",
        "gaps",
        "closing_transfers",
    ]
    assert c1.status_code == 200
    assert c1.get_json()["headline"]["covered_pct"] == 62.5


@pytest.mark.parametrize(
    "query",
    [{"depot": "XX"}, {"family": "toaster"}, {"from": "2026-03-01"}, {"plan": "1"}],
)
def test_bad_filters_are_refused(client, auth_for, query):
    answer = client.get(URL, query_string=query, headers=auth_for("planner"))
    assert answer.status_code == 422, answer.get_json()


def test_the_page_in_chinese(client, login, base: Base):
    login("planner")
    with clock.frozen(NOW):
        html = client.get("/reports/coverage", headers=CHINESE).get_data(as_text=True)
    for words in ("24 小时覆盖", "按城市的覆盖率", "覆盖缺口", "按批准时刻的覆盖率", "拉萨"):
        assert words in html, words
    for english in ("Coverage by city", "Transfers that would close the gaps"):
        assert english not in html, english
    assert 'id="clip-coverage-map"' in html or "coverage-map" in html


def test_files_agree_and_the_pdf_pages_are_not_blank(engine, base: Base, poppler, tmp_path):  # noqa: F811
    kind = kind_of("coverage")
    uow = UnitOfWork(engine)
    with clock.frozen(NOW):
        report = kind.build(uow, Filters.parse(uow, applies=kind.filters))
        pdf = render(kind, report, "pdf").content
        book = openpyxl.load_workbook(io.BytesIO(render(kind, report, "xlsx").content))
        body = json.loads(render(kind, report, "json").content)
    assert book.sheetnames == list(kind.tables)
    cities = list(book["by_city"].iter_rows(values_only=True))
    assert [row[5] for row in cities[1:]] == [
        r["installed_units"] for r in body["tables"]["by_city"]
    ]
    text = pdf_text(pdf, tmp_path)
    assert "24-hour coverage" in text and "Page 1 of" in text
    assert "Urumqi is within 24 hours by standard service: never" in text
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 3
    for page in pages:
        assert_not_blank(page)


def test_a_family_without_installed_base_still_renders(
    client,
    auth_for,
    base: Base,
    poppler,  # noqa: F811  (the fixture, imported above)
    tmp_path,
):
    query = {"family": "fan"}
    with clock.frozen(NOW):
        body = client.get(URL, query_string=query, headers=auth_for("planner")).get_json()
        pdf = client.get(URL, query_string={**query, "format": "pdf"}, headers=auth_for("planner"))
    assert body["headline"]["covered_pct"] is None and body["headline"]["installed_units"] == 0
    assert body["tables"]["gaps"] == [] and len(body["tables"]["by_hour"]) == 24
    assert pdf.status_code == 200
    assert "No installed base." in pdf_text(pdf.data, tmp_path)
    for page in pdf_pages(pdf.data, tmp_path):
        assert_not_blank(page)


def test_cli_writes_the_report_and_refuses_bad_input(app, base: Base, tmp_path: Path):
    runner = app.test_cli_runner()
    out = tmp_path / "coverage.json"
    with clock.frozen(NOW):
        done = runner.invoke(args=["report", "coverage", "--format", "json", "--out", str(out)])
        bad_out = tmp_path / "bad.pdf"
        refused = runner.invoke(
            args=["report", "coverage", "--depot", "XX", "--format", "pdf", "--out", str(bad_out)]
        )
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text("utf-8"))["headline"]["covered_pct"] == 62.5
    assert refused.exit_code == 2 and not bad_out.exists()
