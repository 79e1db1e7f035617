"""Bins: where a part, or one unit, sits on a depot's shelves. Set on receipt (a bin
per serial, or the part's default bin), moved (a unit to another bin; a part's
default bin), and shown where units are picked or listed: stock rows, the unit
page, the units list, the transfer ship form. Bins change no stock: nothing is
posted, and the books balance."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

from core.db import UnitOfWork
from inventory.models import PartIn
from inventory.service import bins, catalog, ledger, moves, transfers
from inventory.service.transfers import LineIn
from tests.conftest import csrf_token
from tests.inventory.conftest import new_serials


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _post(client, path: str, data: dict, form_path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data})


def _unit(client, headers, serial: str) -> dict:
    return client.get(f"/api/v1/units/{serial}", headers=headers).get_json()


def test_a_receipt_shelves_units_per_serial_or_in_the_parts_default_bin(
    client, auth_for, make_part
):
    part = make_part(serialized=True)
    staff = auth_for("depot_staff", "SH")
    first, second, third = new_serials(3)
    body = {
        "depot": "SH",
        "part_number": part,
        "qty": 2,
        "serials": [first, second],
        "bin": "a-03-2",
        "bins": {second: "B-01-1"},
    }
    assert client.post("/api/v1/stock/receipts", json=body, headers=staff).status_code == 201
    assert (_unit(client, staff, first)["bin"], _unit(client, staff, second)["bin"]) == (
        "A-03-2",
        "B-01-1",
    )
    # The first bin given for the part became its default there: the next receipt uses it.
    body = {"depot": "SH", "part_number": part, "qty": 1, "serials": [third]}
    assert client.post("/api/v1/stock/receipts", json=body, headers=staff).status_code == 201
    assert _unit(client, staff, third)["bin"] == "A-03-2"
    # A bin for a serial the receipt does not bring is refused, and nothing is received.
    stray = {"depot": "SH", "part_number": part, "qty": 1, "serials": new_serials(1)}
    refused = client.post(
        "/api/v1/stock/receipts", json={**stray, "bins": {"NOT-IN-IT": "C-1"}}, headers=staff
    )
    assert refused.status_code == 422 and "does not bring" in refused.get_json()["detail"]
    assert client.get(f"/api/v1/units/{stray['serials'][0]}", headers=staff).status_code == 404


def test_a_unit_moves_bin_and_a_part_gets_a_default_bin(client, auth_for, make_part, stock_up):
    part = make_part(serialized=True)
    (serial,) = stock_up("GZ", part, 1, serialized=True)
    staff, other = auth_for("depot_staff", "GZ"), auth_for("depot_staff", "BJ")
    ledger_before = client.get("/api/v1/ledger?depot=GZ", headers=staff).get_json()

    assert _unit(client, staff, serial)["bin"] is None
    body = {"depot": "GZ", "part_number": part, "bin": "D-02-4"}
    assert client.put("/api/v1/stock/bins", json=body, headers=other).status_code == 403
    placed = client.put("/api/v1/stock/bins", json=body, headers=staff)
    assert placed.status_code == 200 and placed.get_json()["bin"] == "D-02-4"
    assert _unit(client, staff, serial)["bin"] == "D-02-4"  # no bin of its own: the default

    moved = client.post(f"/api/v1/units/{serial}/bin", json={"bin": "x-9"}, headers=staff)
    assert moved.status_code == 200 and moved.get_json()["bin"] == "X-9"
    assert (
        client.post(f"/api/v1/units/{serial}/bin", json={"bin": "X-1"}, headers=other).status_code
        == 403
    )
    back = client.post(f"/api/v1/units/{serial}/bin", json={"bin": None}, headers=staff)
    assert back.get_json()["bin"] == "D-02-4"
    bad = client.post(f"/api/v1/units/{serial}/bin", json={"bin": "no!"}, headers=staff)
    assert bad.status_code == 422
    # Bins are not stock: the ledger did not move.
    assert client.get("/api/v1/ledger?depot=GZ", headers=staff).get_json() == ledger_before


def test_a_unit_off_the_shelf_has_no_bin(client, auth_for, engine, make_part, stock_up, staff):
    part = make_part(serialized=True)
    (serial,) = stock_up("BJ", part, 1, serialized=True)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    headers = auth_for("depot_staff", "SH")
    refused = client.post(f"/api/v1/units/{serial}/bin", json={"bin": "A-1"}, headers=headers)
    assert refused.status_code == 409 and "in transit to SH" in refused.get_json()["detail"]
    assert _unit(client, headers, serial)["bin"] is None


def test_units_arriving_on_a_transfer_go_to_the_default_bin_of_the_destination(
    client, auth_for, engine, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    stock_up("BJ", part, 1, serialized=True)
    bins.set_default_bin(UnitOfWork(engine), staff("SH"), "SH", part, "R-7")
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    shipped = transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    headers = auth_for("depot_staff", "SH")
    client.post(
        f"/api/v1/transfers/{view.transfer.id}/receive", json={"as_shipped": True}, headers=headers
    )
    assert _unit(client, headers, shipped.serials[0].serial)["bin"] == "R-7"


def test_the_pages_show_and_move_bins(client, login, engine, make_part, stock_up, staff):
    part = make_part(serialized=True)
    serials = stock_up("WH", part, 2, serialized=True)
    login("depot_staff", depot="WH")

    # Receive into a bin through the form; the flash names it.
    new = new_serials(1)[0]
    response = _post(
        client,
        "/stock/receive",
        {"depot": "WH", "part_number": part, "serials": new, "bin": "e-05-1"},
        "/stock/receive",
    )
    assert response.status_code == 302
    assert "bin E-05-1" in _html(client.get("/stock/receive"))
    row = re.search(
        rf'data-testid="stock-row-WH-{part}".*?</tr>', _html(client.get("/stock")), re.S
    )
    assert row and "E-05-1" in row[0]  # the part's default bin, on its stock row

    # Move one unit to another bin from its page; a bad bin is shown on the form.
    page = f"/units/{serials[0]}"
    html = _html(client.get(page))
    assert 'data-testid="move-bin-form"' in html and "E-05-1" in html
    response = _post(client, f"{page}/bin", {"bin": "bad bin!"}, page)
    assert response.status_code == 422 and 'aria-invalid="true"' in _html(response)
    response = _post(client, f"{page}/bin", {"bin": "f-1"}, page)
    assert response.status_code == 302
    own = re.search(r'data-testid="unit-bin">(.*?)</dd>', _html(client.get(page)), re.S)[1]
    assert ">F-1<" in own and "default" not in own  # its own bin now
    units = _html(client.get(f"/units?part_number={part}"))
    assert re.search(rf'data-testid="unit-row-{serials[0]}".*?F-1', units, re.S)
    assert re.search(rf'data-testid="unit-row-{serials[1]}".*?E-05-1', units, re.S)

    # The part's default bin, set from the part page.
    response = _post(client, f"/parts/{part}/bin", {"depot": "WH", "bin": "G-2"}, f"/parts/{part}")
    assert response.status_code == 302
    assert "G-2" in _html(client.get(f"/parts/{part}"))
    assert ledger.check_books(UnitOfWork(engine)) == []


def test_the_ship_form_names_the_units_that_leave_and_their_bins(
    client, login, engine, make_part, stock_up, staff
):
    tracked, bulk = make_part(serialized=True), make_part()
    older = stock_up("CD", tracked, 2, serialized=True)
    newer = stock_up("CD", tracked, 1, serialized=True)
    stock_up("CD", bulk, 3)
    bins.set_default_bin(UnitOfWork(engine), staff("CD"), "CD", bulk, "K-4")
    bins.move_unit(UnitOfWork(engine), staff("CD"), older[1], "M-1")
    view = transfers.create_transfer(
        UnitOfWork(engine), staff("CD"), "CD", "XA", [LineIn(tracked, 2), LineIn(bulk, 2)]
    )
    login("depot_staff", depot="CD")
    html = _html(client.get(f"/transfers/T{view.transfer.id}"))
    suggested = re.search(rf'data-testid="ship-suggestions-{tracked}">(.*?)</ul>', html, re.S)[1]
    # The two that waited longest, with their bins; the newest stays.
    assert older[0] in suggested and older[1] in suggested and newer[0] not in suggested
    assert "M-1" in suggested
    assert "K-4" in re.search(rf'data-testid="ship-bulk-{bulk}">(.*?)</p>', html, re.S)[1]
    # Shipped without scanning, the suggested units leave.
    response = _post(
        client, f"/transfers/T{view.transfer.id}/ship", {}, f"/transfers/T{view.transfer.id}"
    )
    assert response.status_code == 302
    shipped = transfers.get_transfer(UnitOfWork(engine), view.transfer.id)
    assert sorted(row.serial for row in shipped.serials) == sorted(older)


def test_a_default_bin_is_written_once_or_replaced_on_both_databases(any_engine, make_user):
    """The first bin a receipt names becomes the default and a later receipt's bin does
    not replace it; setting the default replaces it (one upsert statement each)."""
    uow = UnitOfWork(any_engine)
    planner = make_user("planner")
    staff = make_user("depot_staff", depot="XA")
    part = catalog.create_part(
        uow,
        planner,
        PartIn(
            part_number="BIN-PG-1",
            description="bins on both databases",
            family="optic",
            serialized=True,
            unit_cost=Decimal(1),
        ),
    ).part_number
    first, second = new_serials(2)
    moves.receive(uow, staff, "XA", part, 1, [first], bin="H-1")
    moves.receive(uow, staff, "XA", part, 1, [second], bin="H-2")
    assert bins.default_bin_of(uow, "XA", part) == "H-1"
    assert (bins.where_is(uow, first), bins.where_is(uow, second)) == ("H-1", "H-2")
    assert bins.set_default_bin(uow, staff, "XA", part, "h-9") == "H-9"
    assert bins.default_bin_of(uow, "XA", part) == "H-9"
    assert bins.set_default_bin(uow, planner, "XA", part, "") is None
    assert bins.default_bin_of(uow, "XA", part) is None
