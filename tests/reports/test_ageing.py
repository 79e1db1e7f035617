"""The ageing report on a small, hand-built history played through the real services
with the clock frozen; every expected figure is worked out by hand below.

Times are Asia/Shanghai; the report is made at NOW, Fri 2026-04-10 12:00.

==== ========== ================ ===== ====== ============================================
case engineer   kind             level part   what happens
==== ========== ================ ===== ====== ============================================
K1   eng-zhao   advance replace. C-2   CORE   Shanghai customer, SH stock: opened Mon 03-02
                                              10:00, delivered 15:00; the defective unit is
                                              due back 03-17 15:00 and never comes
K1B  eng-qian   advance replace. C-3   OPT    Beijing customer, BJ stock: opened Mon 03-09
                                              10:00, delivered 17:00, due back 03-24 17:00,
                                              never comes
K2   eng-qian   advance replace. C-3   CORE   Shanghai: opened Mon 03-23 10:00, shipped
                                              11:00, cancelled Tue 03-24 10:00 (returning):
                                              the shipped unit due back 04-08 10:00
K3   eng-zhao   advance replace. C-2   FAN    Shanghai: opened Wed 04-08 10:00, no stock
                                              anywhere: a backorder, at risk
K4   eng-zhao   repair           C-3   OPT    Beijing: opened Fri 04-10 09:00, the unit in
                                              at SH 10:00 (72 working hours to go)
K5   eng-zhao   repair           C-3   OPT    Beijing: opened 04-01, repaired, closed 04-03
==== ========== ================ ===== ====== ============================================

Parts: CORE (chassis, 25,000 CNY), OPT (optic, 800 CNY), FAN (fan, 300 CNY).
Reminders (``chasing.chase_overdue_returns``) run at 09:00 on 03-18 (K1), 03-25
(K1, K1B), 04-09 and 04-10 (K1, K1B, K2): K1 4, K1B 3, K2 2, 9 in all, each to the
engineer's e-mail (the customers have none).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event

from core import auth, clock
from core.auth import Actor
from core.db import UnitOfWork
from reports.catalogue import kind_of
from reports.files import render
from reports.service.ageing import ageing
from reports.service.filters import Filters
from reports.service.report import Report
from rma.models import Rma
from rma.service import chasing, lifecycle, opening, returns
from rma.service.opening import OpenRequest
from tests.conftest import TEST_PASSWORD, bearer
from tests.inventory.conftest import make_part, planner, staff, stock_up  # noqa: F401
from tests.reports.test_report_chinese import CHINESE
from tests.rma.conftest import account, install, supervisor  # noqa: F401

URL = "/api/v1/reports/ageing"


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """2026-``month``-``day`` ``hour``:``minute`` in Shanghai, as UTC."""
    return clock.as_utc(datetime(2026, month, day, hour, minute, tzinfo=clock.SHANGHAI))


NOW = sh(4, 10, 12)
SETUP = sh(2, 20, 10)
CHASE_DAYS = (sh(3, 18, 9), sh(3, 25, 9), sh(4, 9, 9), sh(4, 10, 9))


@dataclass(frozen=True)
class World:
    numbers: dict[str, str]
    zhao: Actor
    qian: Actor


@pytest.fixture
def world(engine, request: pytest.FixtureRequest) -> World:
    staff_at, open_account, install_unit, new_part, receive = (
        request.getfixturevalue(name)
        for name in ("staff", "account", "install", "make_part", "stock_up")
    )
    uow = UnitOfWork(engine)

    def engineer(username: str, name: str) -> Actor:
        email = f"{username}@service.example"
        return auth.create_user(
            uow, username, TEST_PASSWORD, "engineer", full_name=name, email=email
        )

    zhao, qian = engineer("eng-zhao", "Zhao Lei"), engineer("eng-qian", "Qian Hong")
    sh_staff, bj_staff = staff_at("SH"), staff_at("BJ")
    with clock.frozen(SETUP):
        core = new_part(
            serialized=True, part_number="CORE", unit_cost=Decimal("25000"), family="chassis"
        )
        opt = new_part(serialized=True, part_number="OPT", unit_cost=Decimal("800"))
        fan = new_part(serialized=True, part_number="FAN", unit_cost=Decimal("300"), family="fan")
        core_serials = receive("SH", core, 2, serialized=True)
        opt_serials = receive("BJ", opt, 1, serialized=True)
        shanghai, beijing = open_account("Shanghai"), open_account("Beijing")
        units = {
            "K1": install_unit(shanghai, core),
            "K1B": install_unit(beijing, opt),
            "K2": install_unit(shanghai, core),
            "K3": install_unit(shanghai, fan),
            "K4": install_unit(beijing, opt),
            "K5": install_unit(beijing, opt),
        }

    def at(moment: datetime, step: Callable[[], Rma]) -> Rma:
        with clock.frozen(moment):
            return step()

    def open_case(key: str, who: Actor, kind: str, level: str, moment: datetime) -> str:
        request = OpenRequest(
            fault_level=level, kind=kind, symptom="unit fails", serial=units[key].serial
        )
        return at(moment, lambda: opening.open_rma(uow, who, request)).number

    numbers: dict[str, str] = {}
    k1 = numbers["K1"] = open_case("K1", zhao, "advance_replacement", "C-2", sh(3, 2, 10))
    at(sh(3, 2, 11), lambda: lifecycle.ship(uow, sh_staff, k1, core_serials[0]))
    at(sh(3, 2, 15), lambda: lifecycle.deliver(uow, zhao, k1))
    k1b = numbers["K1B"] = open_case("K1B", qian, "advance_replacement", "C-3", sh(3, 9, 10))
    at(sh(3, 9, 11), lambda: lifecycle.ship(uow, bj_staff, k1b, opt_serials[0]))
    at(sh(3, 9, 17), lambda: lifecycle.deliver(uow, qian, k1b))
    k2 = numbers["K2"] = open_case("K2", qian, "advance_replacement", "C-3", sh(3, 23, 10))
    at(sh(3, 23, 11), lambda: lifecycle.ship(uow, sh_staff, k2, core_serials[1]))
    at(sh(3, 24, 10), lambda: lifecycle.cancel(uow, qian, k2, "customer fixed it"))
    numbers["K3"] = open_case("K3", zhao, "advance_replacement", "C-2", sh(4, 8, 10))
    k5 = numbers["K5"] = open_case("K5", zhao, "repair", "C-3", sh(4, 1, 10))
    at(sh(4, 1, 11), lambda: returns.receive_defective(uow, sh_staff, k5, "SH", None))
    at(sh(4, 1, 12), lambda: returns.start_repair(uow, sh_staff, k5))
    at(sh(4, 2, 12), lambda: returns.finish_repair(uow, sh_staff, k5))
    at(sh(4, 2, 15), lambda: returns.return_repaired(uow, sh_staff, k5))
    at(sh(4, 3, 10), lambda: lifecycle.close(uow, zhao, k5, 5, "quick", "Ms. Lin"))
    k4 = numbers["K4"] = open_case("K4", zhao, "repair", "C-3", sh(4, 10, 9))
    at(sh(4, 10, 10), lambda: returns.receive_defective(uow, sh_staff, k4, "SH", None))
    for moment in CHASE_DAYS:
        chasing.chase_overdue_returns(uow, moment)
    return World(numbers, zhao, qian)


def report_of(app, engine, **given: str) -> Report:
    uow = UnitOfWork(engine)
    kind = kind_of("ageing")
    with app.test_request_context(), clock.frozen(NOW):
        return ageing(uow, Filters.parse(uow, applies=kind.filters, **given))


def figures(report: Report) -> dict[str, object]:
    return {figure.key: figure.value for figure in report.figures}


def column(report: Report, table: str, name: str) -> list[object]:
    return list(report.tables[table][name])


# --- the figures and tables, by hand --------------------------------------------------------


def test_headline_figures(app, engine, world: World) -> None:
    report = report_of(app, engine, start="2026-04-01", end="2026-04-10")
    assert figures(report) == {
        "open_cases": 5,  # K1, K1B, K2, K3, K4 (K5 closed)
        "at_risk": 1,  # K3: a backorder
        # K1, K1B and K2 past their due back; K3 past its 24-hour delivery (approved
        # 04-08 10:00, due 04-09 10:00); K4's repair has 72 working hours from 04-10.
        "past_due": 4,
        "oldest_age_days": 39,  # K1: 03-02 10:00 to 04-10 12:00 is 39 days 2 hours
        "overdue_returns": 3,  # K1, K1B, K2
        "overdue_value_cny": 50_800.0,  # 25,000 (K1) + 800 (K1B) + 25,000 (K2)
        "chases_in_period": 6,  # 04-09 and 04-10: K1, K1B, K2 each day
        "reported_in_period_open": 2,  # K3 (04-08) and K4 (04-10)
    }


def test_open_by_state_counts_ages_in_whole_days(app, engine, world: World) -> None:
    table = report_of(app, engine).tables["open_by_state"].set_index("status")
    # Lifecycle order; ages: K3 2 days, K1 39, K1B 32 (03-09 10:00 to 04-10 12:00),
    # K4 3 hours, K2 18 days (03-23 10:00).
    assert list(table.index) == ["approved", "delivered", "received", "returning"]
    assert table.loc["approved", "days_1_to_3"] == 1
    assert table.loc["delivered", "over_30_days"] == 2
    assert table.loc["received", "under_1_day"] == 1
    assert table.loc["returning", "days_15_to_30"] == 1
    assert list(table["total"]) == [1, 2, 1, 1]
    assert list(table["at_risk"]) == [1, 0, 0, 0]
    assert list(table["oldest_age_days"]) == [2, 39, 0, 18]
    buckets = ["under_1_day", "days_1_to_3", "days_3_to_7", "days_7_to_15"]
    assert table[[*buckets, "days_15_to_30", "over_30_days"]].to_numpy().sum() == 5


def test_open_cases_oldest_first_with_age_risk_and_due(app, engine, world: World) -> None:
    report = report_of(app, engine)
    n = world.numbers
    cases = report.tables["open_cases"].set_index("rma")
    assert list(cases.index) == [n["K1"], n["K1B"], n["K2"], n["K3"], n["K4"]]
    assert list(cases["age_days"]) == [39, 32, 18, 2, 0]
    assert list(cases["at_risk"]) == [False, False, False, True, False]
    assert list(cases["past_due"]) == [True, True, True, True, False]
    assert cases.loc[n["K1"], "due_at"] == sh(3, 17, 15)  # 15 days after delivery
    assert cases.loc[n["K2"], "due_at"] == sh(4, 8, 10)  # 15 days after cancelling
    assert list(cases["depot"]) == ["SH", "BJ", "SH", "", "SH"]
    assert cases.loc[n["K1"], "engineer_name"] == "Zhao Lei"
    assert cases.loc[n["K1B"], "family"] == "optic"


def test_overdue_returns_longest_first_with_their_chasing(app, engine, world: World) -> None:
    n = world.numbers
    overdue = report_of(app, engine).tables["overdue"].set_index("rma")
    assert list(overdue.index) == [n["K1"], n["K1B"], n["K2"]]
    # 04-10 12:00 less 03-17 15:00: 23 days 21 h; less 03-24 17:00: 16 days 19 h; less
    # 04-08 10:00: 2 days 2 h.
    assert list(overdue["days_overdue"]) == [23, 16, 2]
    assert list(overdue["what"]) == ["defective unit", "defective unit", "replacement"]
    assert list(overdue["value_cny"]) == [25_000.0, 800.0, 25_000.0]
    assert list(overdue["chases"]) == [4, 3, 2]
    assert list(overdue["last_chased_at"]) == [sh(4, 10, 9)] * 3
    assert list(overdue["depot"]) == ["SH", "BJ", "SH"]


def test_overdue_by_customer_engineer_and_depot(app, engine, world: World) -> None:
    report = report_of(app, engine)
    customers = report.tables["overdue_by_customer"]
    assert list(customers["units"]) == [2, 1]  # Shanghai: K1, K2; Beijing: K1B
    assert list(customers["value_cny"]) == [50_000.0, 800.0]
    assert list(customers["oldest_days_overdue"]) == [23, 16]
    assert list(customers["chases"]) == [6, 3]
    engineers = report.tables["overdue_by_engineer"]
    assert list(engineers["engineer"]) == ["eng-qian", "eng-zhao"]  # 2 units, then 1
    assert list(engineers["name"]) == ["Qian Hong", "Zhao Lei"]
    assert list(engineers["value_cny"]) == [25_800.0, 25_000.0]
    assert list(engineers["oldest_days_overdue"]) == [16, 23]
    assert list(engineers["chases"]) == [5, 4]
    depots = report.tables["overdue_by_depot"].set_index("depot")
    assert len(depots) == 8  # every depot, none overdue: zeros
    assert depots.loc["SH", "units"] == 2 and depots.loc["SH", "value_cny"] == 50_000.0
    assert depots.loc["BJ", "units"] == 1 and depots.loc["BJ", "oldest_days_overdue"] == 16
    assert depots.loc["GZ", "units"] == 0 and depots["units"].sum() == 3


def test_chasing_history_of_the_period(app, engine, world: World) -> None:
    n = world.numbers
    whole = report_of(app, engine, start="2026-03-01", end="2026-04-10").tables["chasing"]
    assert len(whole) == 9
    k1 = whole[whole["rma"] == n["K1"]]
    assert list(k1["chased_at"]) == [sh(3, 18, 9), sh(3, 25, 9), sh(4, 9, 9), sh(4, 10, 9)]
    # 03-18 09:00 is 18 hours past 03-17 15:00: 0 whole days; 04-10 09:00 is 23 days 18 h.
    assert list(k1["days_overdue_then"]) == [0, 7, 22, 23]
    assert set(k1["chased_to"]) == {"eng-zhao@service.example"}
    april = report_of(app, engine, start="2026-04-01", end="2026-04-10").tables["chasing"]
    assert len(april) == 6 and set(april["rma"]) == {n["K1"], n["K1B"], n["K2"]}


@pytest.mark.parametrize(
    ("given", "open_keys", "overdue_keys"),
    [
        ({"depot": "BJ"}, ["K1B"], ["K1B"]),
        # K4's unit came in at SH: a repair counts where the customer's unit is.
        ({"depot": "SH"}, ["K1", "K2", "K4"], ["K1", "K2"]),
        ({"fault_level": "C-2"}, ["K1", "K3"], ["K1"]),
        ({"family": "optic"}, ["K1B", "K4"], ["K1B"]),
        ({"depot": "GZ"}, [], []),
    ],
)
def test_filters(app, engine, world: World, given, open_keys, overdue_keys) -> None:
    report = report_of(app, engine, **given)
    n = world.numbers
    assert column(report, "open_cases", "rma") == [n[k] for k in open_keys]
    assert column(report, "overdue", "rma") == [n[k] for k in overdue_keys]
    assert figures(report)["open_cases"] == len(open_keys)
    assert report.tables["open_by_state"]["total"].sum() == len(open_keys)


def test_empty_database_draws_everything(app, engine) -> None:
    report = report_of(app, engine)
    assert figures(report)["open_cases"] == 0 and figures(report)["oldest_age_days"] is None
    kind = kind_of("ageing")
    with app.test_request_context():
        for fmt in ("pdf", "xlsx", "csv", "json"):
            assert render(kind, report, fmt).content


# --- the surfaces: API, files agreeing, the page, the CLI -----------------------------------


@pytest.fixture
def planner_headers(api_token) -> dict[str, str]:
    return bearer(api_token("planner"))


def api(client, headers, **query):
    with clock.frozen(NOW):
        return client.get(URL, query_string=query, headers=headers)


def test_api_json_csv_and_xlsx_agree(client, planner_headers, world: World) -> None:
    query = {"from": "2026-04-01", "to": "2026-04-10"}
    body = api(client, planner_headers, **query).get_json()
    assert body["headline"]["overdue_value_cny"] == 50_800.0
    assert list(body["tables"]) == list(kind_of("ageing").tables)
    archive = zipfile.ZipFile(io.BytesIO(api(client, planner_headers, format="csv", **query).data))
    book = openpyxl.load_workbook(
        io.BytesIO(api(client, planner_headers, format="xlsx", **query).data)
    )
    for name, rows in body["tables"].items():
        csv_name = next(f for f in archive.namelist() if f.endswith(f"-{name}.csv"))
        csv_rows = list(csv.DictReader(io.StringIO(archive.read(csv_name).decode("utf-8-sig"))))
        sheet = list(book[name].iter_rows(values_only=True))
        assert len(csv_rows) == len(rows) == len(sheet) - 1, name
        for record, csv_row, sheet_row in zip(rows, csv_rows, sheet[1:], strict=True):
            for index, (key, value) in enumerate(record.items()):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    assert float(csv_row[key]) == pytest.approx(value), (name, key)
                    assert float(sheet_row[index]) == pytest.approx(value), (name, key)
                elif isinstance(value, str) and not key.endswith("_at"):
                    assert csv_row[key] == value, (name, key)


def test_api_refuses_bad_filters(client, planner_headers) -> None:
    for query in ({"depot": "XX"}, {"fault_level": "C-9"}, {"family": "toaster"}, {"plan": "3"}):
        answer = api(client, planner_headers, **query)
        assert answer.status_code == 422, query
        assert answer.get_json()["fields"], query


def test_pdf_pages_turn_into_images(client, planner_headers, world: World, tmp_path: Path):
    answer = api(client, planner_headers, format="pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF-")
    assert (
        'filename="spares-ageing-2026-03-11_2026-04-10.pdf"'
        in (answer.headers["Content-Disposition"])
    )
    pdf = tmp_path / "ageing.pdf"
    pdf.write_bytes(answer.data)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    for page in pages:
        assert page.stat().st_size > 2_000, page  # a blank page is a few hundred bytes


def test_page_shows_figures_charts_and_tables(client, login, world: World) -> None:
    login("planner")
    with clock.frozen(NOW):
        answer = client.get("/reports/ageing", query_string={"depot": "SH"})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'data-testid="kpi-overdue_returns">2<' in page
    assert page.count("<svg") >= 2
    for name in kind_of("ageing").tables:
        assert f'data-testid="table-{name}"' in page
    assert world.numbers["K1"] in page


def test_page_in_chinese(client, login, world: World) -> None:
    login("planner")
    with clock.frozen(NOW):
        page = client.get("/reports/ageing", headers=CHINESE).get_data(as_text=True)
    for words in ("账龄", "逾期", "催还记录", "按状态和账龄的未结案件", "不足 1 天"):
        assert words in page, words
    for english in ("Open cases by state and age", "Overdue returns by depot", "Under 1 day"):
        assert english not in page, english


def test_cli_writes_json_and_refuses_bad_input(app, world: World, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "ageing.json"
    with clock.frozen(NOW):
        result = runner.invoke(
            args=["report", "ageing", "--format", "json", "--out", str(out), "--depot", "BJ"]
        )
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["headline"]["overdue_returns"] == 1
    bad = tmp_path / "bad.json"
    for wrong in (["--depot", "XX"], ["--family", "toaster"], ["--plan", "1"]):
        result = runner.invoke(
            args=["report", "ageing", "--format", "json", "--out", str(bad), *wrong]
        )
        assert result.exit_code == 2 and not bad.exists(), wrong


def test_statements_do_not_grow_with_the_cases(app, engine, world: World) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    uow = UnitOfWork(engine)
    kind = kind_of("ageing")
    with app.test_request_context(), clock.frozen(NOW):
        filters = Filters.parse(uow, applies=kind.filters)
        event.listen(engine, "before_cursor_execute", count)
        try:
            ageing(uow, filters)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    # Open cases, overdue returns, their reminders, part costs, engineers' names and the
    # depots: one query each, however many cases (plus the transaction's own reads).
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 6, selects


def test_one_minute_one_report(app, engine, world: World) -> None:
    """Ages are counted at the minute the report is made, so the files of one download,
    asked for seconds apart, hold the same numbers."""
    uow = UnitOfWork(engine)
    kind = kind_of("ageing")
    reports = []
    with app.test_request_context():
        for seconds in (1, 59):
            with clock.frozen(NOW + timedelta(seconds=seconds)):
                reports.append(ageing(uow, Filters.parse(uow, applies=kind.filters)))
    first, last = reports
    assert first.generated_at == last.generated_at == NOW
    for name, frame in first.tables.items():
        assert frame.equals(last.tables[name]), name
