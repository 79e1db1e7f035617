"""The lists page on the server: stock, units, the ledger, reservations and
transfers come a page at a time, sort by their columns and filter by what staff
filter on; the stock page's totals are those of the whole selection, not of the
rows shown."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

from core.db import UnitOfWork
from inventory.service import moves, reservations, transfers
from inventory.service.transfers import LineIn


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _rows(html: str, prefix: str) -> list[str]:
    return re.findall(rf'data-testid="{prefix}-([^"]+)"', html)


def _total(html: str, name: str) -> str:
    return re.search(rf'data-testid="total-{name}">([^<]*)<', html)[1]


def test_stock_pages_and_totals_cover_the_whole_selection(client, login, engine, make_part, staff):
    parts = [make_part(prefix="PG", unit_cost=Decimal("10.00")) for _ in range(30)]
    for index, part in enumerate(parts, start=1):
        moves.receive(UnitOfWork(engine), staff("SY"), "SY", part, index)
    moves.change_condition(UnitOfWork(engine), staff("SY"), "SY", parts[0], 1, "good", "defective")
    login("planner")
    first = _html(client.get("/stock?depot=SY&q=PG-&per_page=25"))
    rows = _rows(first, "stock-row-SY")
    assert len(rows) == 25 and rows[:2] == parts[:2]  # sorted by part number
    # 1 + 2 + ... + 30 = 465 units, one of them defective: totals of all 30 rows.
    assert (_total(first, "good"), _total(first, "defective")) == ("464", "1")
    assert _total(first, "available") == "464" and _total(first, "value") == "4,650.00"
    assert "1–25 of 30" in first
    second = _html(client.get("/stock?depot=SY&q=PG-&per_page=25&page=2"))
    assert _rows(second, "stock-row-SY") == parts[25:]
    assert _total(second, "good") == "464"  # the same totals on every page

    by_good = _html(client.get("/stock?depot=SY&q=PG-&sort=good&order=desc&per_page=25"))
    assert _rows(by_good, "stock-row-SY")[0] == parts[-1]
    assert 'aria-sort="descending" data-sort-key="good"' in by_good
    # A filter narrows the totals with the rows.
    defective = _html(client.get("/stock?depot=SY&q=PG-&condition=defective"))
    assert _rows(defective, "stock-row-SY") == [parts[0]] and _total(defective, "good") == "0"


def test_find_a_unit_is_at_the_top_of_the_stock_page(client, login):
    login("depot_staff", depot="BJ")
    html = _html(client.get("/stock"))
    assert html.index('data-testid="unit-search"') < html.index('data-testid="stock-table"')


def test_units_list_filters_by_serial_text_and_sorts(
    client, login, make_part, stock_up, engine, staff
):
    part = make_part(serialized=True)
    serials = stock_up("JN", part, 3, serialized=True)
    moves.change_condition(
        UnitOfWork(engine), staff("JN"), "JN", part, 1, "good", "defective", [serials[1]]
    )
    login("engineer")
    html = _html(client.get(f"/units?part_number={part}&sort=serial&order=desc"))
    assert _rows(html, "unit-row") == list(reversed(serials))
    html = _html(client.get(f"/units?part_number={part}&condition=defective"))
    assert _rows(html, "unit-row") == [serials[1]]
    html = _html(client.get(f"/units?q={serials[2][-4:].lower()}&depot=JN"))
    assert serials[2] in _rows(html, "unit-row")


def test_ledger_list_filters_and_pages(client, login, make_part, engine, staff):
    part = make_part()
    for qty in range(1, 8):
        moves.receive(UnitOfWork(engine), staff("XA"), "XA", part, qty, reference=f"PO-{qty}")
    login("depot_staff", depot="XA")
    html = _html(client.get(f"/ledger?part_number={part}&per_page=25"))
    assert "7 ledger lines in this selection" in html
    newest_first = re.findall(r"PO-(\d)", html)
    assert newest_first[0] == "7"
    html = _html(client.get(f"/ledger?part_number={part}&reference=PO-3"))
    assert "1 ledger line in this selection" in html
    html = _html(client.get(f"/ledger?part_number={part}&sort=qty&order=asc"))
    assert re.findall(r"PO-(\d)", html)[0] == "1"


def test_reservations_list_shows_active_holds_by_default(
    client, login, make_part, stock_up, engine, planner
):
    part = make_part()
    stock_up("WH", part, 5)
    kept = reservations.reserve(UnitOfWork(engine), planner, "WH", part, 2, "RMA-2026-900001")
    gone = reservations.reserve(UnitOfWork(engine), planner, "WH", part, 1, "RMA-2026-900002")
    reservations.release(UnitOfWork(engine), planner, gone.id)
    login("depot_staff", depot="WH")
    html = _html(client.get(f"/stock/reservations?part_number={part}"))
    assert _rows(html, "reservation-row") == [str(kept.id)]
    assert 'href="/rmas/RMA-2026-900001"' in html
    html = _html(client.get(f"/stock/reservations?part_number={part}&status=any&sort=id&order=asc"))
    assert _rows(html, "reservation-row") == [str(kept.id), str(gone.id)]


def test_transfers_list_pages_filters_by_part_and_names_them_t_and_id(
    client, login, make_part, stock_up, engine, staff
):
    part, other = make_part(), make_part()
    stock_up("GZ", part, 5)
    made = [
        transfers.create_transfer(UnitOfWork(engine), staff("GZ"), "GZ", "CD", [LineIn(part, 1)])
        for _ in range(3)
    ]
    transfers.create_transfer(UnitOfWork(engine), staff("GZ"), "GZ", "CD", [LineIn(other, 1)])
    login("planner")
    html = _html(client.get(f"/transfers?part_number={part}"))
    ids = [str(view.transfer.id) for view in made]
    assert _rows(html, "transfer-row") == list(reversed(ids))  # newest first
    assert f'href="/transfers/T{ids[0]}"' in html and f">T{ids[0]}</a>" in html
    html = _html(client.get(f"/transfers?part_number={part}&sort=code&order=asc"))
    assert _rows(html, "transfer-row") == ids
