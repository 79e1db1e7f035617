"""The inventory pages through the test client: depot staff receive, move and transfer
stock with forms; errors are shown on the form and change nothing; staff act only
for their own depot; planners see every depot."""

from __future__ import annotations

import re

import pytest

from core.db import UnitOfWork
from inventory.service import ledger, queries, transfers
from inventory.service.transfers import LineIn
from tests.conftest import csrf_token
from tests.inventory.conftest import new_serials


def _html(response) -> str:
    return response.get_data(as_text=True)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _numbers(row: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num[^"]*">(-?\d+)</td>', row)]


def _stock(engine, depot: str, part: str):
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0] if rows else None


def _post(client, path: str, data: dict, *, form_path: str | None = None, **kwargs):
    token = csrf_token(client, form_path or path)
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def _logout(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/stock")})


def _books_balance(engine) -> None:
    assert ledger.check_books(UnitOfWork(engine)) == []


# --- receive ---------------------------------------------------------------------------------


def test_staff_receive_serialized_stock_by_scanning_serials(client, login, engine, make_part):
    login("depot_staff", depot="BJ")
    part = make_part(serialized=True)
    serials = new_serials(3)
    response = _post(
        client,
        "/stock/receive",
        # A scanner types each code followed by Enter; qty left blank counts them.
        {"depot": "BJ", "part_number": part.lower(), "qty": "", "serials": "\r\n".join(serials)},
    )
    assert response.status_code == 302
    page = _html(client.get(response.headers["Location"]))
    assert f"Received 3 × {part} into BJ good stock" in page and "movement #" in page
    row = _stock(engine, "BJ", part)
    assert (row.good, row.available) == (3, 3)
    unit, _ = queries.get_unit(UnitOfWork(engine), serials[0])
    assert (unit.depot_code, unit.location) == ("BJ", "depot")
    _books_balance(engine)


def test_receive_form_keeps_enter_from_submitting_and_offers_the_scanner_script(client, login):
    login("depot_staff", depot="BJ")
    html = _html(client.get("/stock/receive"))
    assert re.search(r'<input name="part_number"[^>]*data-enter-next', html, re.S)
    assert re.search(r'<textarea class="serials" name="serials"', html)
    assert "input[data-enter-next]" in html  # the inline script that moves focus on Enter
    # Staff pick only their own depot.
    assert re.findall(r'<option value="(\w+)"', html.split('name="depot"')[1].split("</select>")[0])
    options = re.findall(
        r'<option value="(\w+)"', html.split('name="depot"')[1].split("</select>")[0]
    )
    assert options == ["BJ"]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"qty": "2", "serials": "SNX0001"}, 422, "give 2 serial"),
        ({"qty": "two", "serials": ""}, 422, "is not a whole number"),
        ({"qty": "", "serials": ""}, 422, "Quantity: enter a whole number"),
        ({"qty": "1", "serials": "SNX0001", "part_number": "NO-SUCH-PART"}, 404, "unknown part"),
        ({"qty": "1", "serials": "SNX0001", "reference": "R" * 61}, 422, "at most 60"),
    ],
)
def test_receive_errors_are_shown_on_the_form_and_change_nothing(
    client, login, engine, make_part, fields, status, message
):
    login("depot_staff", depot="BJ")
    part = make_part(serialized=True)
    data = {"depot": "BJ", "part_number": part, **fields}
    response = _post(client, "/stock/receive", data)
    assert response.status_code == status
    html = _html(response)
    assert 'data-testid="form-error"' in html and message in html
    assert 'data-testid="receive-form"' in html  # the form again, with what was typed
    assert f'value="{data["part_number"]}"' in html
    assert _stock(engine, "BJ", part) is None
    _books_balance(engine)


def test_staff_of_another_depot_get_403_when_receiving(client, login, engine, make_part):
    login("depot_staff", depot="SH")
    part = make_part()
    response = _post(client, "/stock/receive", {"depot": "BJ", "part_number": part, "qty": "4"})
    assert response.status_code == 403
    assert "works at SH, not BJ" in _html(response)
    assert _stock(engine, "BJ", part) is None


def test_planners_cannot_open_the_receive_page(client, login):
    login("planner")
    assert client.get("/stock/receive").status_code == 403


def test_a_form_without_its_csrf_token_is_refused(client, login, engine, make_part):
    login("depot_staff", depot="BJ")
    part = make_part()
    response = client.post("/stock/receive", data={"depot": "BJ", "part_number": part, "qty": 1})
    assert response.status_code == 400
    assert _stock(engine, "BJ", part) is None


# --- the stock page ----------------------------------------------------------------------------


def test_planner_sees_every_depot_and_staff_see_their_own(client, login, make_part, stock_up):
    part = make_part(description="Fan tray for S5735")
    stock_up("BJ", part, 5)
    stock_up("SH", part, 2)
    login("planner")
    html = _html(client.get("/stock"))
    assert _numbers(_row(html, f"stock-row-BJ-{part}"))[:3] == [5, 0, 5]
    assert _numbers(_row(html, f"stock-row-SH-{part}"))[:3] == [2, 0, 2]
    assert 'name="depot"' in html  # planners choose the depot
    html = _html(client.get("/stock?depot=SH"))
    assert f"stock-row-SH-{part}" in html and f"stock-row-BJ-{part}" not in html

    _logout(client)
    login("depot_staff", depot="BJ")
    html = _html(client.get("/stock?depot=SH"))  # asking for another depot shows their own
    assert f"stock-row-BJ-{part}" in html and f"stock-row-SH-{part}" not in html
    assert 'name="depot"' not in html.split('data-testid="stock-filters"')[1].split("</form>")[0]


def test_stock_search_family_and_condition_filters(client, login, make_part, stock_up):
    optic = make_part(description="10G SFP+ LR optic", family="optic")
    fan = make_part(description="Fan tray", family="fan")
    stock_up("BJ", optic, 3)
    stock_up("BJ", fan, 1)
    login("planner")
    html = _html(client.get("/stock?q=sfp"))
    assert f"stock-row-BJ-{optic}" in html and f"stock-row-BJ-{fan}" not in html
    html = _html(client.get("/stock?family=fan"))
    assert f"stock-row-BJ-{fan}" in html and f"stock-row-BJ-{optic}" not in html
    html = _html(client.get("/stock?condition=defective"))
    assert f"stock-row-BJ-{fan}" not in html and "No stock matches" in html
    assert client.get("/stock?condition=lost").status_code == 422


def test_rows_below_target_are_highlighted_when_targets_exist(
    client, login, make_part, stock_up, monkeypatch
):
    low, fine = make_part(), make_part()
    stock_up("BJ", low, 1)
    stock_up("BJ", fine, 9)
    login("depot_staff", depot="BJ")
    html = _html(client.get("/stock"))
    assert 'class="low"' not in html  # no targets yet: nothing highlighted

    import inventory.views.stock

    monkeypatch.setattr(
        inventory.views.stock, "stock_targets", lambda depot: {("BJ", low): 4, ("BJ", fine): 4}
    )
    html = _html(client.get("/stock"))
    assert 'class="low"' in _row(html, f"stock-row-BJ-{low}")
    assert 'class="low"' not in _row(html, f"stock-row-BJ-{fine}")
    assert '<th class="num">Target</th>' in html


def test_part_page_lists_units_stock_by_depot_and_recent_ledger_lines(
    client, login, make_part, stock_up
):
    part = make_part(serialized=True)
    serials = stock_up("BJ", part, 2, serialized=True)
    stock_up("SH", part, 1, serialized=True)
    login("depot_staff", depot="BJ")
    html = _html(client.get(f"/parts/{part}"))
    assert 'data-testid="part-stock-BJ"' in html and 'data-testid="part-stock-SH"' in html
    units = html.split('data-testid="part-units"')[1].split("</table>")[0]
    assert all(serial in units for serial in serials)
    ledger_table = html.split('data-testid="part-ledger"')[1].split("</table>")[0]
    assert "receipt" in ledger_table and serials[0] in ledger_table
    assert client.get("/parts/NO-SUCH-PART").status_code == 404


def test_unit_page_shows_where_it_is_and_its_full_history(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    (serial,) = stock_up("BJ", part, 1, serialized=True)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    login("engineer")
    response = client.get(f"/units?serial={serial.lower()}")
    assert response.status_code == 302 and response.headers["Location"].endswith(serial)
    html = _html(client.get(f"/units/{serial}"))
    assert "in transit to SH" in html
    history = html.split('data-testid="unit-history"')[1]
    assert history.index("receipt") < history.index("transfer shipped")
    assert f'href="/transfers/T{view.transfer.id}"' in history
    missing = client.get("/units?serial=NOPE-123")
    assert missing.status_code == 404 and "unknown serial" in _html(missing)


# --- adjust, scrap, change condition, count -----------------------------------------------------


def test_adjust_needs_a_reason_and_changes_nothing_without_one(client, login, engine, make_part):
    login("depot_staff", depot="BJ")
    part = make_part()
    response = _post(client, "/stock/move/adjust", {"depot": "BJ", "part_number": part, "qty": "3"})
    assert response.status_code == 422 and "a reason is required" in _html(response)
    assert _stock(engine, "BJ", part) is None
    response = _post(
        client,
        "/stock/move/adjust",
        {"depot": "BJ", "part_number": part, "qty": "+3", "reason": "found in cage 4"},
    )
    assert response.status_code == 302
    assert _stock(engine, "BJ", part).good == 3
    _books_balance(engine)


def test_defective_units_go_to_repair_then_back_to_good(client, login, engine, make_part):
    login("depot_staff", depot="BJ")
    part = make_part(serialized=True)
    serials = new_serials(2)
    response = _post(
        client,
        "/stock/move/adjust",
        {
            "depot": "BJ",
            "part_number": part,
            "qty": "2",
            "condition": "defective",
            "reason": "returned by customer",
            "serials": "\n".join(serials),
        },
    )
    assert response.status_code == 302
    for source, target in (("defective", "in_repair"), ("in_repair", "good")):
        response = _post(
            client,
            "/stock/move/condition",
            {
                "depot": "BJ",
                "part_number": part,
                "from_condition": source,
                "to_condition": target,
                "serials": serials[0],
            },
        )
        assert response.status_code == 302, _html(response)
    row = _stock(engine, "BJ", part)
    assert (row.good, row.defective, row.in_repair) == (1, 1, 0)
    unit, _ = queries.get_unit(UnitOfWork(engine), serials[0])
    assert unit.refurbished
    response = _post(
        client,
        "/stock/move/scrap",
        {"depot": "BJ", "part_number": part, "reason": "burnt", "serials": serials[1]},
    )
    assert response.status_code == 302
    assert _stock(engine, "BJ", part).defective == 0
    _books_balance(engine)


def test_count_corrects_the_books_and_refuses_a_blank_count(
    client, login, engine, make_part, stock_up
):
    part = make_part()
    stock_up("BJ", part, 5)
    login("depot_staff", depot="BJ")
    response = _post(client, "/stock/move/count", {"depot": "BJ", "part_number": part})
    assert response.status_code == 422 and "enter the number counted" in _html(response)
    assert _stock(engine, "BJ", part).good == 5
    response = _post(
        client, "/stock/move/count", {"depot": "BJ", "part_number": part, "counted": "4"}
    )
    assert response.status_code == 302
    page = _html(client.get(response.headers["Location"]))
    assert "expected 5, counted 4" in page
    assert _stock(engine, "BJ", part).good == 4
    _books_balance(engine)


def test_staff_cannot_move_stock_at_another_depot(client, login, engine, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 2)
    login("depot_staff", depot="SH")
    response = _post(
        client,
        "/stock/move/scrap",
        {"depot": "BJ", "part_number": part, "qty": "1", "condition": "good", "reason": "x"},
    )
    assert response.status_code == 403
    assert _stock(engine, "BJ", part).good == 2
    assert client.get("/stock/move/teleport").status_code == 404


# --- transfers -----------------------------------------------------------------------------------


def test_transfer_drafted_shipped_and_received_through_the_pages(
    client, login, engine, make_part, stock_up, make_user
):
    optic = make_part(serialized=True)
    cable = make_part()
    serials = stock_up("BJ", optic, 3, serialized=True)
    stock_up("BJ", cable, 10)
    bj = login("depot_staff", depot="BJ")

    response = _post(
        client,
        "/transfers/new",
        {
            "from_depot": "BJ",
            "to_depot": "SH",
            "note": "for RMA-7",
            "part_number": [optic, cable, "", cable.lower()],
            "qty": ["2", "3", "", "1"],
        },
    )
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/", 1)[1]
    assert code.startswith("T")  # the transfer's URL names it as people do
    transfer_id = int(code[1:])
    html = _html(client.get(f"/transfers/{transfer_id}"))
    assert f"Transfer T{transfer_id} drafted" in html and 'data-testid="ship-form"' in html
    assert _numbers(_row(html, f"line-{cable}")) == [4]  # lines for one part are added up
    line_ids = {
        line.part_number: line.id
        for line in transfers.get_transfer(UnitOfWork(engine), transfer_id).lines
    }

    response = _post(
        client,
        f"/transfers/{transfer_id}/ship",
        {f"serials-{line_ids[optic]}": f"{serials[2]}\n{serials[0]}\n"},
        form_path=f"/transfers/{transfer_id}",
    )
    assert response.status_code == 302
    assert _stock(engine, "SH", optic).in_transit == 2
    assert _stock(engine, "BJ", cable).good == 6

    _logout(client)
    assert bj.depot_code == "BJ"
    login("depot_staff", depot="SH")
    html = _html(client.get(f"/transfers/{transfer_id}"))
    assert 'data-testid="receive-transfer-form"' in html and 'data-testid="ship-form"' not in html
    response = _post(
        client,
        f"/transfers/T{transfer_id}/receive",
        {f"serials-{line_ids[optic]}": serials[0], f"qty-{line_ids[cable]}": "4"},
        form_path=f"/transfers/T{transfer_id}",
    )
    assert response.status_code == 302
    html = _html(client.get(response.headers["Location"]))
    assert "partially received: 1 unit is still missing" in html
    discrepancies = html.split('data-testid="discrepancies"')[1].split("</table>")[0]
    assert serials[2] in discrepancies and "short" in discrepancies
    assert "in transit: may still arrive" in discrepancies
    row = _stock(engine, "SH", optic)
    assert (row.good, row.in_transit) == (1, 1)  # the missing unit is still on its way
    assert _stock(engine, "SH", cable).good == 4
    _books_balance(engine)


def test_shipping_more_than_the_depot_has_shows_409_and_ships_nothing(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part()
    stock_up("BJ", part, 1)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 5)])
    login("depot_staff", depot="BJ")
    path = f"/transfers/{view.transfer.id}"
    response = _post(client, f"{path}/ship", {}, form_path=path)
    assert response.status_code == 409
    html = _html(response)
    assert 'data-testid="form-error"' in html and "BJ has 1 good" in html
    assert transfers.get_transfer(UnitOfWork(engine), view.transfer.id).transfer.status == "draft"
    assert _stock(engine, "BJ", part).good == 1


def test_a_mistyped_serial_when_shipping_is_shown_on_the_form_and_ships_nothing(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    serials = stock_up("BJ", part, 2, serialized=True)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 2)])
    login("depot_staff", depot="BJ")
    path = f"/transfers/{view.transfer.id}"
    field = f"serials-{view.lines[0].id}"
    response = _post(client, f"{path}/ship", {field: f"{serials[0]}\nNOSUCH-999"}, form_path=path)
    assert response.status_code == 404
    html = _html(response)
    assert "unknown serial NOSUCH-999" in html and 'data-testid="ship-form"' in html
    assert f"{serials[0]}\nNOSUCH-999</textarea>" in html  # what was scanned is kept
    assert transfers.get_transfer(UnitOfWork(engine), view.transfer.id).transfer.status == "draft"
    assert _stock(engine, "BJ", part).good == 2
    assert client.get("/transfers/999999").status_code == 404


def test_the_transfer_form_offers_more_lines_without_javascript(client, login):
    login("planner")
    html = _html(client.get("/transfers/new"))
    assert html.count('name="part_number"') == 5
    assert 'href="/transfers/new?lines=10"' in html
    assert _html(client.get("/transfers/new?lines=12")).count('name="part_number"') == 12
    assert _html(client.get("/transfers/new?lines=99999")).count('name="part_number"') == 100


def test_only_the_right_depot_may_ship_or_receive(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part()
    stock_up("BJ", part, 2)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 2)])
    path = f"/transfers/{view.transfer.id}"
    login("depot_staff", depot="SH")
    html = _html(client.get(path))
    assert 'data-testid="ship-form"' not in html
    response = _post(client, f"{path}/ship", {}, form_path=path)
    assert response.status_code == 403
    assert transfers.get_transfer(UnitOfWork(engine), view.transfer.id).transfer.status == "draft"
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    _logout(client)
    login("depot_staff", depot="GZ")
    response = _post(client, f"{path}/receive", {"all_arrived": "1"}, form_path=path)
    assert response.status_code == 403
    assert _stock(engine, "SH", part).in_transit == 2


def test_transfer_form_errors_keep_the_lines_typed(client, login, engine, make_part):
    part = make_part()
    login("depot_staff", depot="BJ")
    response = _post(
        client,
        "/transfers/new",
        {
            "from_depot": "BJ",
            "to_depot": "SH",
            "part_number": [part, "", part],
            "qty": ["x", "", "1"],
        },
    )
    assert response.status_code == 422
    html = _html(response)
    assert "Line 1" in html and "is not a whole number" in html
    assert len(re.findall(rf'name="part_number" value="{part}"', html)) == 2
    response = _post(client, "/transfers/new", {"from_depot": "BJ", "to_depot": "SH"})
    assert response.status_code == 422 and "at least one line" in _html(response)
    response = _post(
        client,
        "/transfers/new",
        {"from_depot": "GZ", "to_depot": "SH", "part_number": [part], "qty": ["1"]},
    )
    assert response.status_code == 403
    assert transfers.list_transfers(UnitOfWork(engine)) == []


def test_transfer_list_filters_by_status_and_depot(client, login, engine, make_part, staff):
    part = make_part()
    first = transfers.create_transfer(
        UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)]
    )
    second = transfers.create_transfer(
        UnitOfWork(engine), staff("GZ"), "GZ", "CD", [LineIn(part, 1)]
    )
    transfers.cancel_transfer(UnitOfWork(engine), staff("BJ"), first.transfer.id)
    login("depot_staff", depot="BJ")
    html = _html(client.get("/transfers"))  # staff start with their own depot
    assert f"transfer-row-{first.transfer.id}" in html
    assert f"transfer-row-{second.transfer.id}" not in html
    _logout(client)
    login("planner")
    html = _html(client.get("/transfers?status=draft"))
    assert f"transfer-row-{second.transfer.id}" in html
    assert f"transfer-row-{first.transfer.id}" not in html
    # An unknown status is no filter at all (a stale link never errors).
    assert f"transfer-row-{second.transfer.id}" in _html(client.get("/transfers?status=lost"))


def test_transfer_note_pdf_is_served_for_a_transfer(client, login, engine, make_part, staff):
    part = make_part()
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 3)])
    login("planner")
    response = client.get(f"/transfers/{view.transfer.id}/note.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"transfer-T{view.transfer.id}.pdf" in response.headers["Content-Disposition"]
    assert client.get("/transfers/999999/note.pdf").status_code == 404


# --- CSV ----------------------------------------------------------------------------------------

GOOD_PARTS = (
    "part_number,description,family,serialized,unit_cost\n"
    "PG-ONE,Page test optic,optic,true,120.50\n"
    "PG-TWO,Page test fan,fan,false,80\n"
)
BAD_PARTS = (
    "part_number,description,family,serialized,unit_cost\n"
    "PG-THREE,ok,optic,true,10\n"
    "PG-FOUR,bad family,toaster,true,10\n"
    "PG-FIVE,bad cost,fan,false,-3\n"
)


def _upload(client, kind: str, text: str):
    import io

    return _post(
        client,
        "/stock/import",
        {"kind": kind, "file": (io.BytesIO(text.encode()), f"{kind}.csv")},
        form_path=f"/stock/import?kind={kind}",
        content_type="multipart/form-data",
    )


def test_planner_imports_parts_and_stock_from_csv_files(client, login, engine):
    login("planner")
    response = _upload(client, "parts", GOOD_PARTS)
    assert response.status_code == 302
    assert "2 created" in _html(client.get(response.headers["Location"]))
    response = _upload(client, "stock", "depot,part_number,qty,serials\nBJ,PG-ONE,1,PGSN-001\n")
    assert response.status_code == 302
    assert _stock(engine, "BJ", "PG-ONE").good == 1
    _books_balance(engine)


def test_a_bad_csv_lists_every_bad_row_and_imports_nothing(client, login, engine):
    login("planner")
    response = _upload(client, "parts", BAD_PARTS)
    assert response.status_code == 422
    html = _html(response)
    table = html.split('data-testid="import-problems"')[1].split("</table>")[0]
    rows = re.findall(r'<td class="num">(\d+)</td><td class="mono">(\w*)</td>', table)
    assert ("3", "family") in rows and ("4", "unit_cost") in rows
    assert "Nothing was imported" in html
    from inventory.service import catalog

    assert catalog.list_parts(UnitOfWork(engine), search="PG-") == []
    response = _post(client, "/stock/import", {"kind": "parts"}, form_path="/stock/import")
    assert response.status_code == 422 and "Choose a CSV file" in _html(response)


def test_only_planners_import_but_everyone_exports_their_view(client, login, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 2)
    stock_up("SH", part, 1)
    login("depot_staff", depot="BJ")
    assert client.get("/stock/import").status_code == 403
    response = client.get("/stock.csv?depot=SH")  # staff export their own depot
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("depot,part_number") and len(lines) == 2
    assert lines[1].startswith(f"BJ,{part},")
    ledger_lines = client.get(f"/ledger.csv?part_number={part}").get_data(as_text=True)
    assert ledger_lines.count("\n") == 2 and ",SH," not in ledger_lines


def test_navigation_shows_the_inventory_pages_by_role(client, login):
    login("depot_staff", depot="BJ")
    nav = _html(client.get("/")).split('aria-label="Main">')[1].split("</nav>")[0]
    for label in ("Stock", "Receive", "Transfers", "Move stock"):
        assert f">{label}</a>" in nav
    assert ">Import CSV</a>" not in nav
    _logout(client)
    login("planner")
    nav = _html(client.get("/")).split('aria-label="Main">')[1].split("</nav>")[0]
    assert ">Import CSV</a>" in nav and ">Receive</a>" not in nav
