"""CSV imports and exports through the service: whole-file validation, all or nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.auth import system_actor
from core.db import UnitOfWork
from core.errors import Forbidden, Invalid, NotFound
from inventory.service import catalog, exports, imports, ledger, moves, queries, reservations
from inventory.service.imports import ImportReport
from tests.inventory.conftest import new_serials

PARTS_HEADER = "part_number,description,family,serialized,unit_cost"


def _problems(error: pytest.ExceptionInfo[Invalid]) -> set[tuple[int, str]]:
    return {(p.line, p.field) for p in error.value.fields}


def _part_numbers(uow) -> list[str]:
    return [p.part_number for p in catalog.list_parts(uow, limit=10_000)]


def _ledger_size(uow) -> int:
    return len(queries.ledger_lines(uow, limit=5000))


# --- parts ----------------------------------------------------------------------------------


def test_parts_import_creates_and_updates_and_links_successors_in_any_order(
    uow, planner, make_part
):
    existing = make_part(part_number="OLD-PSU", family="power")
    text = (
        f"{PARTS_HEADER},weight_kg,criticality,superseded_by\n"
        "psu-a,Power supply A,power,no,1200.00,2.5,critical,PSU-B\n"
        f"{existing},Power supply (old),power,false,900,,,PSU-A\n"
        "\n"
        "PSU-B,Power supply B,POWER,0,1300.5,2.4,high,\n"
    )
    report = imports.import_parts(uow, planner, text)
    assert report == ImportReport("parts", 3, created=2, updated=1, unchanged=0)
    assert report.summary() == "parts: 3 rows, 2 created, 1 updated, 0 unchanged"
    assert catalog.substitutes(uow, existing) == [existing, "PSU-A", "PSU-B"]
    psu_a = catalog.get_part(uow, "PSU-A")
    assert (psu_a.unit_cost, psu_a.weight_kg, psu_a.criticality, psu_a.serialized) == (
        Decimal("1200.00"),
        2.5,
        "critical",
        False,
    )
    old = catalog.get_part(uow, existing)
    assert (old.description, old.unit_cost, old.criticality) == (
        "Power supply (old)",
        Decimal("900"),
        "medium",
    )
    again = imports.import_parts(uow, planner, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_blank_optional_cells_keep_what_the_catalogue_has(uow, planner, make_part):
    part = make_part(weight_kg=3.0, criticality="high")
    imports.import_parts(
        uow, planner, f"{PARTS_HEADER},weight_kg,criticality\n{part},renamed,optic,no,5,,\n"
    )
    stored = catalog.get_part(uow, part)
    assert (stored.description, stored.weight_kg, stored.criticality) == ("renamed", 3.0, "high")


def test_every_bad_parts_row_is_reported_and_nothing_is_imported(uow, planner, make_part):
    traded = make_part(part_number="HAS-STOCK")
    moves.receive(uow, system_actor(), "BJ", traded, 1)
    text = (
        f"{PARTS_HEADER},superseded_by\n"
        "GOOD-1,fine,optic,yes,10,\n"  # line 2: fine
        "bad part,spaces,optic,yes,10,\n"  # 3: part number
        "GOOD-2,,optic,yes,10,\n"  # 4: description
        "GOOD-3,x,teapot,yes,10,\n"  # 5: family
        "GOOD-4,x,optic,maybe,10,\n"  # 6: serialized
        "GOOD-5,x,optic,yes,-1,\n"  # 7: unit cost
        "GOOD-6,x,optic,yes,1.234,\n"  # 8: unit cost decimals
        "GOOD-1,again,optic,yes,10,\n"  # 9: duplicate
        "GOOD-7,x,optic,yes,10,NOWHERE\n"  # 10: unknown successor
        "GOOD-8,x,optic,yes,10,GOOD-8\n"  # 11: itself
        "HAS-STOCK,x,optic,yes,10,\n"  # 12: serialized changes with stock history
        "GOOD-9,x,optic,yes,10,GOOD-10\n"  # 13: cycle
        "GOOD-10,x,optic,yes,10,GOOD-9\n"  # 14: cycle
        "GOOD-11,x,optic,yes\n"  # 15: short row
    )
    with pytest.raises(Invalid) as error:
        imports.import_parts(uow, planner, text)
    assert _problems(error) == {
        (3, "part_number"),
        (4, "description"),
        (5, "family"),
        (6, "serialized"),
        (7, "unit_cost"),
        (8, "unit_cost"),
        (9, "part_number"),
        (10, "superseded_by"),
        (11, "superseded_by"),
        (12, "serialized"),
        (13, "superseded_by"),
        (14, "superseded_by"),
        (15, ""),
    }
    assert error.value.detail.startswith("13 problem(s) on 13 line(s)")
    assert _part_numbers(uow) == [traded]


def test_a_cycle_through_the_catalogue_is_refused(uow, planner, make_part):
    first = make_part(part_number="CYC-A")
    make_part(part_number="CYC-B", superseded_by=first)
    with pytest.raises(Invalid) as error:
        imports.import_parts(
            uow, planner, f"{PARTS_HEADER},superseded_by\nCYC-A,a,optic,no,1,CYC-B\n"
        )
    assert _problems(error) == {(2, "superseded_by")}
    assert "CYC-A -> CYC-B -> CYC-A" in error.value.fields[0].message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", {(1, "")}, id="empty file"),
        pytest.param(PARTS_HEADER + "\n", {(1, "")}, id="header only"),
        pytest.param(
            "part_number,description,family,unit_cost\nA1,x,optic,1\n",
            {(1, "serialized")},
            id="missing column",
        ),
        pytest.param(
            PARTS_HEADER + ",colour\nA1,x,optic,no,1,red\n", {(1, "colour")}, id="unknown column"
        ),
        pytest.param(
            PARTS_HEADER + ",family\nA1,x,optic,no,1,optic\n", {(1, "family")}, id="column twice"
        ),
        pytest.param(
            "part_number,description,family,unit_cost\nA1,x,teapot,1\n",
            {(1, "serialized"), (2, "family")},
            id="header and row problems together",
        ),
    ],
)
def test_header_problems_are_reported_on_line_1(uow, planner, text, expected):
    with pytest.raises(Invalid) as error:
        imports.import_parts(uow, planner, text)
    assert _problems(error) == expected
    assert _part_numbers(uow) == []


def test_headers_are_forgiving_about_case_spaces_order_and_a_bom(uow, planner):
    text = "\ufeffUnit Cost,Part Number,Description,Family,Serialized\r\n12,ab-1,x,fan,Y\r\n"
    assert imports.import_parts(uow, planner, text).created == 1
    assert catalog.get_part(uow, "AB-1").serialized is True


def test_only_planners_and_admins_import(uow, make_user):
    for role, depot in (("depot_staff", "BJ"), ("engineer", None), ("supervisor", None)):
        with pytest.raises(Forbidden):
            imports.import_parts(uow, make_user(role, depot=depot), PARTS_HEADER + "\n")
        with pytest.raises(Forbidden):
            imports.import_stock(uow, make_user(role, depot=depot), "depot,part_number,qty\n")
    admin = make_user("admin")
    assert imports.import_parts(uow, admin, PARTS_HEADER + "\nZ1,x,cable,no,1\n").created == 1


# --- stock ----------------------------------------------------------------------------------


def test_stock_import_books_receipts_with_serials_and_conditions(uow, planner, make_part):
    bulk, tracked = make_part(), make_part(serialized=True)
    serials = new_serials(5)
    text = (
        "depot,part_number,qty,serials,condition\n"
        f"bj,{bulk},10,,\n"
        f"BJ,{bulk},5,,defective\n"
        f'SH,{tracked.lower()},3,"{serials[0]}; {serials[1]}  {serials[2].lower()}",good\n'
        f"SH,{tracked},2,{serials[3]};{serials[4]},quarantine\n"
    )
    report = imports.import_stock(uow, planner, text)
    assert (report.rows, report.created, report.units) == (4, 2, 20)
    assert report.summary() == "stock: 4 rows, 20 units booked in 2 receipt(s)"
    bj = queries.stock(uow, depot="BJ", part_number=bulk)[0]
    assert (bj.good, bj.defective) == (10, 5)
    sh = queries.stock(uow, depot="SH", part_number=tracked)[0]
    assert (sh.good, sh.quarantine) == (3, 2)
    unit, history = queries.get_unit(uow, serials[4])
    assert (unit.condition, unit.depot_code) == ("quarantine", "SH")
    assert {(h.kind, h.reason, h.actor) for h in history} == {
        ("receipt", "stock import", planner.username)
    }
    assert ledger.check_books(uow) == []


def test_every_bad_stock_row_is_reported_and_nothing_is_booked(uow, planner, make_part, stock_up):
    bulk, tracked = make_part(), make_part(serialized=True)
    [known] = stock_up("GZ", tracked, 1, serialized=True)
    size = _ledger_size(uow)
    s = new_serials(4)
    text = (
        "depot,part_number,qty,serials,condition\n"
        f"BJ,{bulk},4,,\n"  # 2: fine
        f"XX,{bulk},4,,\n"  # 3: depot
        f"BJ,NO-SUCH,4,,\n"  # 4: part
        f"BJ,{bulk},0,,\n"  # 5: qty
        f"BJ,{bulk},-2,,\n"  # 6: qty
        f"BJ,{bulk},1.5,,\n"  # 7: qty
        f"BJ,{bulk},{'9' * 5000},,\n"  # 8: qty, absurdly long
        f"BJ,{bulk},100001,,\n"  # 9: qty over the limit
        f"BJ,{bulk},1,,broken\n"  # 10: condition
        f"BJ,{bulk},1,{s[0]},\n"  # 11: serials for a bulk part
        f"BJ,{tracked},2,{s[1]},\n"  # 12: one serial short
        f"BJ,{tracked},1,{known},\n"  # 13: serial on the books
        f"BJ,{tracked},1,{s[2]},\n"  # 14: fine
        f"SH,{tracked},1,{s[2]},\n"  # 15: serial again in the file
        f"BJ,{tracked},1,no!,\n"  # 16: malformed serial
        f"BJ,{tracked},2,{s[3]};{s[3]},\n"  # 17: serial twice in the row
        f",{bulk},1,,\n"  # 18: depot blank
    )
    with pytest.raises(Invalid) as error:
        imports.import_stock(uow, planner, text)
    assert _problems(error) == {
        (3, "depot"),
        (4, "part_number"),
        (5, "qty"),
        (6, "qty"),
        (7, "qty"),
        (8, "qty"),
        (9, "qty"),
        (10, "condition"),
        (11, "serials"),
        (12, "serials"),
        (13, "serials"),
        (15, "serials"),
        (16, "serials"),
        (17, "serials"),
        (18, "depot"),
    }
    reasons = {(p.line, p.field): p.message for p in error.value.fields}
    assert reasons[(5, "qty")] == "must be a whole number > 0"
    assert reasons[(15, "serials")] == f"serial {s[2]} is already on line 14"
    assert _ledger_size(uow) == size
    assert queries.stock(uow, depot="BJ") == []


def test_a_failure_while_booking_leaves_nothing_behind(uow, planner, make_part, monkeypatch):
    bulk, tracked = make_part(), make_part(serialized=True)
    serials = new_serials(2)
    text = (
        "depot,part_number,qty,serials\n"
        f"BJ,{bulk},3,\n"
        f"SH,{tracked},2,{serials[0]};{serials[1]}\n"
        f"GZ,{bulk},1,\n"
    )
    real_post = ledger.post
    calls = []

    def post_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(ledger, "post", post_then_fail)
    with pytest.raises(RuntimeError):
        imports.import_stock(uow, planner, text)
    assert len(calls) == 3  # two receipts were booked before the failure...
    assert queries.stock(uow, nonzero=False) == []  # ...and rolled back with it
    assert queries.list_units(uow) == []
    assert _ledger_size(uow) == 0


# A row is either good (None) or spoiled in one column; the file must report exactly
# the spoiled rows, and import nothing.
SPOILERS = {
    "depot": ("depot", "QQ"),
    "qty": ("qty", "zero"),
    "part": ("part_number", "NOT-A-PART"),
    "condition": ("condition", "fine"),
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.sampled_from([None, *SPOILERS]), min_size=1, max_size=30).filter(
        lambda rows: any(rows)
    )
)
def test_any_file_with_bad_rows_reports_exactly_them_and_imports_nothing(
    engine, planner, make_part, rows
):
    uow = UnitOfWork(engine)
    part = "PROP-1"
    if not catalog.list_parts(uow, search=part):
        make_part(part_number=part)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["depot", "part_number", "qty", "condition"])
    expected = set()
    for index, spoiler in enumerate(rows):
        cells = {"depot": "CD", "part_number": part, "qty": str(index + 1), "condition": "good"}
        if spoiler is not None:
            column, value = SPOILERS[spoiler]
            cells[column] = value
            expected.add((index + 2, column))
        writer.writerow([cells["depot"], cells["part_number"], cells["qty"], cells["condition"]])
    with pytest.raises(Invalid) as error:
        imports.import_stock(uow, planner, out.getvalue())
    assert _problems(error) == expected
    assert queries.stock(uow, part_number=part) == []


def test_uploads_are_decoded_from_utf8_or_gb18030(uow, planner):
    text = PARTS_HEADER + "\nCN-1,光模块 乌鲁木齐,optic,no,1\n"
    for data in (text.encode("utf-8-sig"), text.encode("gb18030")):
        assert imports.decode_csv(data) == text
    imports.import_parts(uow, planner, imports.decode_csv(text.encode("gb18030")))
    assert catalog.get_part(uow, "CN-1").description == "光模块 乌鲁木齐"
    with pytest.raises(Invalid):
        imports.decode_csv(b"\xff\xfe\x00\x81\x30")


def test_unreadable_csv_is_reported_not_crashed_on(uow, planner):
    with pytest.raises(Invalid) as error:
        imports.import_stock(uow, planner, "depot,part_number,qty\nBJ,A\x00B,1\n")
    assert _problems(error) == {(2, "part_number")}
    assert error.value.fields[0].message == "must not contain control characters"


# --- exports ---------------------------------------------------------------------------------


def test_stock_export_matches_the_stock_query(uow, make_part, stock_up, planner):
    first, second = make_part(), make_part()
    stock_up("BJ", first, 3)
    stock_up("SH", first, 2)
    stock_up("SH", second, 7)
    reservations.reserve(uow, planner, "SH", second, 2, "RMA-5")
    rows = list(csv.DictReader(io.StringIO(exports.export_stock_csv(uow))))
    assert list(rows[0]) == list(exports.STOCK_EXPORT_COLUMNS)
    assert {
        (r["depot"], r["part_number"], r["good"], r["reserved"], r["available"]) for r in rows
    } == {("BJ", first, "3", "0", "3"), ("SH", first, "2", "0", "2"), ("SH", second, "7", "2", "5")}
    only_sh = list(csv.DictReader(io.StringIO(exports.export_stock_csv(uow, depot="sh"))))
    assert {r["depot"] for r in only_sh} == {"SH"}
    with pytest.raises(NotFound):
        exports.export_stock_csv(uow, depot="ZZ")


def test_ledger_export_is_oldest_first_in_shanghai_time(uow, make_part, stock_up, staff):
    part = make_part()
    stock_up("WH", part, 4)
    moves.adjust(uow, staff("WH"), "WH", part, -1, "broken, in a box")
    text = exports.export_ledger_csv(uow, part_number=part.lower())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(exports.LEDGER_EXPORT_COLUMNS)
    assert [(r["kind"], r["qty"], r["reason"]) for r in rows] == [
        ("receipt", "4", "received from supplier"),
        ("adjustment", "-1", "broken, in a box"),
    ]
    assert all(r["at"].endswith("+08:00") for r in rows)
    assert int(rows[0]["id"]) < int(rows[1]["id"])
    assert exports.export_ledger_csv(uow, depot="BJ").splitlines()[1:] == []
    with pytest.raises(NotFound):
        exports.export_ledger_csv(uow, part_number="NOPE-0")


def test_ledger_export_pages_through_more_than_one_page(uow, make_part, stock_up, monkeypatch):
    part = make_part()
    for qty in range(1, 8):
        stock_up("JN", part, qty)
    monkeypatch.setattr(exports, "EXPORT_PAGE", 3)
    rows = list(csv.DictReader(io.StringIO(exports.export_ledger_csv(uow))))
    assert [int(r["qty"]) for r in rows] == list(range(1, 8))
    stock_rows = list(csv.DictReader(io.StringIO(exports.export_stock_csv(uow))))
    assert len(stock_rows) == 1
