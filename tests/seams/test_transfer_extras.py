"""Defect: a stranger's serial became sellable stock.

A transfer receipt that lists units nobody shipped - an unknown serial, or more
bulk units than shipped - books them as an ``extra`` discrepancy in the
receiving depot's quarantine, never in available stock. Staff of that depot
decide once: accept after inspection (quarantine -> good) or send back
(quarantine -> out of the books, the unit ``sent_back``). A serial held
elsewhere (installed at a customer) is refused and nothing is received.
Everything goes through the public surface - the API, the transfer page and
``spares transfers resolve`` - on SQLite and PostgreSQL.
"""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from tests.conftest import csrf_token
from tests.inventory.conftest import new_serials, require_room_for_partial_receipts
from tests.seams.conftest import call


@pytest.fixture
def engine(any_engine):
    """Every test here runs on both databases (the factories follow this engine)."""
    return any_engine


# --- helpers --------------------------------------------------------------------------------


def _shipped(client, auth_for, source: str, target: str, lines: dict[str, int]) -> dict:
    """A transfer drafted by a planner and shipped by the source's staff."""
    body = {
        "from_depot": source,
        "to_depot": target,
        "lines": [{"part_number": part, "qty": qty} for part, qty in lines.items()],
    }
    draft = call(client, "POST", "/api/v1/transfers", auth_for("planner"), 201, json=body)
    staff = auth_for("depot_staff", source)
    return call(client, "POST", f"/api/v1/transfers/{draft['id']}/ship", staff, 200)


def _receive(client, auth_for, transfer: dict, lines: list[dict], status: int = 200) -> dict:
    staff = auth_for("depot_staff", transfer["to_depot"])
    url = f"/api/v1/transfers/{transfer['id']}/receive"
    return call(client, "POST", url, staff, status, json={"lines": lines})


def _serials_shipped(transfer: dict) -> list[str]:
    return sorted(row["serial"] for row in transfer["serials"])


def _stock(client, auth_for, depot: str, part: str) -> dict[str, int]:
    rows = call(
        client,
        "GET",
        f"/api/v1/stock?depot={depot}&part_number={part}&include_empty=true",
        auth_for("engineer"),
        200,
    )
    keys = ("good", "reserved", "available", "quarantine", "in_transit")
    return {key: rows[0][key] for key in keys} if rows else dict.fromkeys(keys, 0)


def _extras(transfer: dict) -> list[dict]:
    return [d for d in transfer["discrepancies"] if d["kind"] == "extra"]


def _decision_url(transfer: dict, item: dict, action: str) -> str:
    return f"/api/v1/transfers/{transfer['id']}/discrepancies/{item['id']}/{action}"


def _ledger(client, auth_for, **query: str) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return call(client, "GET", f"/api/v1/ledger?{params}", auth_for("engineer"), 200)["items"]


def _stranger_at_wuhan(client, auth_for, make_part, stock_up) -> tuple[str, str, dict]:
    """Shanghai ships two units of a serialized part to Wuhan; the box also holds a
    serial nobody knows. Returns the part, the stranger's serial and the receipt."""
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    shipped = _shipped(client, auth_for, "SH", "WH", {part: 2})
    [stranger] = new_serials(1, prefix="STR")
    received = _receive(
        client,
        auth_for,
        shipped,
        [{"part_number": part, "serials": [*_serials_shipped(shipped), stranger.lower()]}],
    )
    return part, stranger, received


# --- an unknown serial on a receipt -------------------------------------------------------------


def test_an_unknown_serial_received_on_a_transfer_waits_in_quarantine_not_in_available_stock(
    client, auth_for, make_part, stock_up
):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)

    assert received["status"] == "received"
    [extra] = received["discrepancies"]
    assert (extra["kind"], extra["serial"], extra["qty"], extra["part_number"]) == (
        "extra",
        stranger,
        1,
        part,
    )
    assert extra["awaiting_decision"] is True
    assert (extra["resolution"], extra["resolved_by"], extra["resolved_at"]) == (None, None, None)
    # The two units shipped are available; the stranger is not.
    assert _stock(client, auth_for, "WH", part) == {
        "good": 2,
        "reserved": 0,
        "available": 2,
        "quarantine": 1,
        "in_transit": 0,
    }
    unit = call(client, "GET", f"/api/v1/units/{stranger}", auth_for("engineer"), 200)
    assert (unit["condition"], unit["location"], unit["depot"]) == ("quarantine", "depot", "WH")
    assert [(h["kind"], h["bucket"], h["qty"], h["reference"]) for h in unit["history"]] == [
        ("transfer_receive", "quarantine", 1, f"T{received['id']}")
    ]


def test_an_extra_cannot_be_reserved_picked_or_shipped_on_an_rma(
    client, auth_for, make_part, stock_up, account, install
):
    bulk, part = make_part(), make_part(serialized=True)
    stock_up("SH", bulk, 3)
    shipped = _shipped(client, auth_for, "SH", "WH", {bulk: 3})
    [stranger] = new_serials(1, prefix="STR")
    # A serialized unit of a part that was not on the transfer at all arrived in the box.
    received = _receive(
        client,
        auth_for,
        shipped,
        [{"part_number": bulk, "qty": 3}, {"part_number": part, "serials": [stranger]}],
    )
    assert [(d["kind"], d["serial"]) for d in received["discrepancies"]] == [("extra", stranger)]
    wuhan = auth_for("depot_staff", "WH")

    refused = call(
        client,
        "POST",
        "/api/v1/reservations",
        wuhan,
        409,
        json={"depot": "WH", "part_number": part, "qty": 1, "reference": "RMA-X"},
    )
    assert (refused["error"], refused["available"]) == ("insufficient_stock", 0)
    customer = install(account("Wuhan"), part)
    backorder = call(
        client,
        "POST",
        "/api/v1/rmas",
        auth_for("engineer"),
        201,
        json={
            "serial": customer.serial,
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "symptom": "no power",
        },
    )
    assert (backorder["backorder"], backorder["allocation"]) == (True, None)

    # With a good unit at Wuhan a case is allocated there; the stranger still cannot go.
    [good] = stock_up("WH", part, 1, serialized=True)
    other = install(account("Wuhan"), part)
    rma = call(
        client,
        "POST",
        "/api/v1/rmas",
        auth_for("engineer"),
        201,
        json={
            "serial": other.serial,
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "symptom": "no power",
        },
    )
    assert rma["allocation"]["depot"] == "WH"
    ship = f"/api/v1/rmas/{rma['number']}/ship"
    refused = call(client, "POST", ship, wuhan, 409, json={"serial": stranger})
    assert f"serial {stranger} is not good" in refused["detail"]
    shipped_rma = call(client, "POST", ship, wuhan, 200, json={"serial": good})
    assert shipped_rma["shipped_serial"] == good
    unit = call(client, "GET", f"/api/v1/units/{stranger}", wuhan, 200)
    assert (unit["condition"], unit["location"], unit["depot"]) == ("quarantine", "depot", "WH")
    assert _stock(client, auth_for, "WH", part)["quarantine"] == 1


def test_accepting_an_extra_moves_it_to_good_stock_through_the_ledger(
    client, auth_for, make_part, stock_up
):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    wuhan = auth_for("depot_staff", "WH")

    decided = call(
        client,
        "POST",
        _decision_url(received, extra, "accept"),
        wuhan,
        200,
        json={"reason": "sealed box, tested OK"},
    )

    [after] = _extras(decided)
    assert (after["resolution"], after["awaiting_decision"]) == ("accepted", False)
    assert after["resolved_by"] and after["resolved_at"]
    assert _stock(client, auth_for, "WH", part) == {
        "good": 3,
        "reserved": 0,
        "available": 3,
        "quarantine": 0,
        "in_transit": 0,
    }
    entries = _ledger(client, auth_for, serial=stranger)
    accepted = [
        (e["kind"], e["bucket"], e["qty"]) for e in entries if e["kind"] == "extra_accepted"
    ]
    assert sorted(accepted) == [("extra_accepted", "good", 1), ("extra_accepted", "quarantine", -1)]
    assert {e["reference"] for e in entries} == {f"T{received['id']}"}
    assert all(
        "sealed box, tested OK" in e["reason"] for e in entries if e["kind"] != "transfer_receive"
    )
    # Good stock now: it may be held for a case.
    call(
        client,
        "POST",
        "/api/v1/reservations",
        wuhan,
        201,
        json={"depot": "WH", "part_number": part, "qty": 3, "reference": "RMA-Y"},
    )


def test_sending_an_extra_back_takes_it_out_of_the_books(client, auth_for, make_part, stock_up):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)

    decided = call(
        client,
        "POST",
        _decision_url(received, extra, "send-back"),
        auth_for("depot_staff", "WH"),
        200,
    )

    [after] = _extras(decided)
    assert (after["resolution"], after["awaiting_decision"]) == ("sent_back", False)
    stock = _stock(client, auth_for, "WH", part)
    assert (stock["good"], stock["available"], stock["quarantine"]) == (2, 2, 0)
    unit = call(client, "GET", f"/api/v1/units/{stranger}", auth_for("engineer"), 200)
    assert (unit["location"], unit["depot"]) == ("sent_back", None)
    assert [(h["kind"], h["bucket"], h["qty"], h["reference"]) for h in unit["history"]] == [
        ("transfer_receive", "quarantine", 1, f"T{received['id']}"),
        ("extra_sent_back", "quarantine", -1, f"T{received['id']}"),
    ]
    listed = call(client, "GET", "/api/v1/units?location=sent_back", auth_for("engineer"), 200)
    assert stranger in {u["serial"] for u in listed}


def test_a_decision_is_taken_once(client, auth_for, make_part, stock_up):
    part, _, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    wuhan = auth_for("depot_staff", "WH")
    call(client, "POST", _decision_url(received, extra, "accept"), wuhan, 200)
    entries = _ledger(client, auth_for, part_number=part)

    again = call(client, "POST", _decision_url(received, extra, "accept"), wuhan, 409)
    other = call(client, "POST", _decision_url(received, extra, "send-back"), wuhan, 409)

    assert again["error"] == "conflict" and "already accepted" in again["detail"]
    assert "already accepted" in other["detail"]
    assert _ledger(client, auth_for, part_number=part) == entries
    assert _stock(client, auth_for, "WH", part)["good"] == 3


def test_only_staff_of_the_receiving_depot_decide(client, auth_for, make_part, stock_up):
    part, _, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    url = _decision_url(received, extra, "accept")
    before = _ledger(client, auth_for, part_number=part)

    sender = call(client, "POST", url, auth_for("depot_staff", "SH"), 403)
    elsewhere = call(client, "POST", url, auth_for("depot_staff", "BJ"), 403)
    planner = call(client, "POST", url, auth_for("planner"), 403)

    assert "works at SH, not WH" in sender["detail"] and "works at BJ" in elsewhere["detail"]
    assert planner["error"] == "forbidden"
    # Planners read the decision that waits.
    seen = call(client, "GET", f"/api/v1/transfers/{received['id']}", auth_for("planner"), 200)
    assert _extras(seen)[0]["awaiting_decision"] is True
    assert _ledger(client, auth_for, part_number=part) == before
    assert _stock(client, auth_for, "WH", part)["quarantine"] == 1


def test_shortfalls_and_wrong_serials_have_nothing_to_decide(
    client, auth_for, make_part, stock_up, engine
):
    require_room_for_partial_receipts(engine)
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    [on_xa_shelf] = stock_up("XA", part, 1, serialized=True)
    shipped = _shipped(client, auth_for, "SH", "WH", {part: 2})
    first, not_arrived = _serials_shipped(shipped)
    received = _receive(
        client, auth_for, shipped, [{"part_number": part, "serials": [first, on_xa_shelf]}]
    )
    kinds = {d["kind"]: d for d in received["discrepancies"]}
    assert (kinds["short"]["serial"], kinds["wrong_serial"]["serial"]) == (not_arrived, on_xa_shelf)
    assert not any(d["awaiting_decision"] for d in received["discrepancies"])
    wuhan = auth_for("depot_staff", "WH")

    short = call(client, "POST", _decision_url(received, kinds["short"], "accept"), wuhan, 409)
    wrong = call(
        client, "POST", _decision_url(received, kinds["wrong_serial"], "send-back"), wuhan, 409
    )

    assert "is short" in short["detail"] and "only an extra" in short["detail"]
    assert "is wrong serial" in wrong["detail"]
    # The unit the books had on Xi'an's shelf is ours: it is good stock at Wuhan now.
    unit = call(client, "GET", f"/api/v1/units/{on_xa_shelf}", wuhan, 200)
    assert (unit["condition"], unit["location"], unit["depot"]) == ("good", "depot", "WH")


def test_an_unknown_discrepancy_or_one_of_another_transfer_is_404(
    client, auth_for, make_part, stock_up
):
    _, _, first = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    _, _, second = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra_of_second] = _extras(second)
    wuhan = auth_for("depot_staff", "WH")

    mixed = call(client, "POST", _decision_url(first, extra_of_second, "accept"), wuhan, 404)
    unknown = call(
        client,
        "POST",
        f"/api/v1/transfers/{first['id']}/discrepancies/{extra_of_second['id'] + 1000}/accept",
        wuhan,
        404,
    )

    assert mixed["detail"] == f"unknown discrepancy {extra_of_second['id']} on T{first['id']}"
    assert unknown["error"] == "not_found"
    assert _extras(call(client, "GET", f"/api/v1/transfers/{second['id']}", wuhan, 200))[0][
        "awaiting_decision"
    ]


def test_a_serial_installed_at_a_customer_on_a_receipt_is_409_and_nothing_is_received(
    client, auth_for, make_part, stock_up, account, install
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    shipped = _shipped(client, auth_for, "SH", "WH", {part: 1})
    installed = install(account("Wuhan"), part)
    before = _ledger(client, auth_for, part_number=part)

    refused = _receive(
        client,
        auth_for,
        shipped,
        [{"part_number": part, "serials": [*_serials_shipped(shipped), installed.serial]}],
        status=409,
    )

    assert f"serial {installed.serial} is installed at" in refused["detail"]
    assert "two places" in refused["detail"]
    again = call(client, "GET", f"/api/v1/transfers/{shipped['id']}", auth_for("planner"), 200)
    assert (again["status"], again["discrepancies"]) == ("shipped", [])
    assert _stock(client, auth_for, "WH", part)["in_transit"] == 1
    assert _ledger(client, auth_for, part_number=part) == before
    call(client, "GET", f"/api/v1/units/{installed.serial}", auth_for("engineer"), 404)
    # Received as it really came, the transfer goes through.
    done = _receive(
        client, auth_for, shipped, [{"part_number": part, "serials": _serials_shipped(shipped)}]
    )
    assert (done["status"], done["discrepancies"]) == ("received", [])


def test_bulk_extras_wait_in_quarantine_and_are_accepted_or_sent_back_by_quantity(
    client, auth_for, make_part, stock_up
):
    part = make_part()
    stock_up("SH", part, 10)
    wuhan = auth_for("depot_staff", "WH")
    first = _shipped(client, auth_for, "SH", "WH", {part: 5})
    second = _shipped(client, auth_for, "SH", "WH", {part: 2})

    first = _receive(client, auth_for, first, [{"part_number": part, "qty": 8}])
    second = _receive(client, auth_for, second, [{"part_number": part, "qty": 3}])

    [extra] = _extras(first)
    assert (extra["qty"], extra["serial"], extra["awaiting_decision"]) == (3, None, True)
    assert first["lines"][0]["qty_received"] == 8
    assert _stock(client, auth_for, "WH", part) == {
        "good": 7,
        "reserved": 0,
        "available": 7,
        "quarantine": 4,
        "in_transit": 0,
    }
    call(client, "POST", _decision_url(first, extra, "accept"), wuhan, 200)
    [back] = _extras(second)
    call(client, "POST", _decision_url(second, back, "send-back"), wuhan, 200)
    stock = _stock(client, auth_for, "WH", part)
    assert (stock["good"], stock["available"], stock["quarantine"]) == (10, 10, 0)
    moves = {
        (e["kind"], e["bucket"], e["qty"], e["reference"])
        for e in _ledger(client, auth_for, part_number=part, depot="WH")
        if e["kind"].startswith("extra_")
    }
    assert moves == {
        ("extra_accepted", "quarantine", -3, f"T{first['id']}"),
        ("extra_accepted", "good", 3, f"T{first['id']}"),
        ("extra_sent_back", "quarantine", -1, f"T{second['id']}"),
    }


def test_an_extra_cannot_leave_quarantine_behind_the_decision(
    client, auth_for, make_part, stock_up
):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    bulk = make_part()
    stock_up("SH", bulk, 2)
    bulk_transfer = _receive(
        client,
        auth_for,
        _shipped(client, auth_for, "SH", "WH", {bulk: 2}),
        [{"part_number": bulk, "qty": 3}],
    )
    wuhan = auth_for("depot_staff", "WH")
    moves = [
        (
            "/api/v1/stock/condition-changes",
            {
                "depot": "WH",
                "part_number": part,
                "qty": 1,
                "serials": [stranger],
                "from_condition": "quarantine",
                "to_condition": "good",
            },
        ),
        (
            "/api/v1/stock/scrap",
            {
                "depot": "WH",
                "part_number": part,
                "qty": 1,
                "serials": [stranger],
                "reason": "r",
                "condition": "quarantine",
            },
        ),
        (
            "/api/v1/stock/adjustments",
            {
                "depot": "WH",
                "part_number": part,
                "qty": -1,
                "serials": [stranger],
                "reason": "r",
                "condition": "quarantine",
            },
        ),
        (
            "/api/v1/stock/condition-changes",
            {
                "depot": "WH",
                "part_number": bulk,
                "qty": 1,
                "from_condition": "quarantine",
                "to_condition": "good",
            },
        ),
    ]
    before = _ledger(client, auth_for, depot="WH")

    refusals = [call(client, "POST", url, wuhan, 409, json=body) for url, body in moves]

    assert all("waits" in r["detail"] or "wait for a decision" in r["detail"] for r in refusals)
    assert f"extra on T{received['id']}" in refusals[0]["detail"]
    assert _ledger(client, auth_for, depot="WH") == before
    # Stock that is not an extra still moves freely in and out of quarantine.
    call(
        client,
        "POST",
        "/api/v1/stock/receipts",
        wuhan,
        201,
        json={"depot": "WH", "part_number": bulk, "qty": 2},
    )
    for source, target in (("good", "quarantine"), ("quarantine", "good")):
        call(
            client,
            "POST",
            "/api/v1/stock/condition-changes",
            wuhan,
            201,
            json={
                "depot": "WH",
                "part_number": bulk,
                "qty": 2,
                "from_condition": source,
                "to_condition": target,
            },
        )
    [bulk_extra] = _extras(bulk_transfer)
    call(client, "POST", _decision_url(bulk_transfer, bulk_extra, "accept"), wuhan, 200)
    assert _stock(client, auth_for, "WH", bulk)["available"] == 5


def test_a_unit_sent_back_that_arrives_again_is_an_extra_again(
    client, auth_for, make_part, stock_up
):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    call(
        client,
        "POST",
        _decision_url(received, extra, "send-back"),
        auth_for("depot_staff", "WH"),
        200,
    )
    stock_up("GZ", part, 1, serialized=True)
    shipped = _shipped(client, auth_for, "GZ", "WH", {part: 1})

    again = _receive(
        client,
        auth_for,
        shipped,
        [{"part_number": part, "serials": [*_serials_shipped(shipped), stranger]}],
    )

    assert [(d["kind"], d["serial"], d["awaiting_decision"]) for d in again["discrepancies"]] == [
        ("extra", stranger, True)
    ]
    unit = call(client, "GET", f"/api/v1/units/{stranger}", auth_for("engineer"), 200)
    assert (unit["condition"], unit["location"], unit["depot"]) == ("quarantine", "depot", "WH")


# --- the transfer page ----------------------------------------------------------------------


def _page(client, path: str) -> str:
    return unescape(client.get(path).get_data(as_text=True))


def _form_post(client, path: str, data: dict, form_path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data})


def test_the_transfer_page_shows_each_extra_and_lets_receiving_staff_decide(
    client, auth_for, login, make_part, stock_up
):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    page = f"/transfers/{received['id']}"
    decide = f"{page}/discrepancies/{extra['id']}"
    login("depot_staff", depot="WH")

    html = _page(client, page)
    cell = html.split(f'data-testid="decision-{extra["id"]}"')[1].split("</td>")[0]
    assert "waiting in quarantine" in cell
    assert f'data-testid="accept-{extra["id"]}"' in cell
    assert f'data-testid="send-back-{extra["id"]}"' in cell

    answer = _form_post(client, f"{decide}/accept", {"reason": "inspected"}, page)

    assert answer.status_code == 302
    html = _page(client, answer.headers["Location"])
    assert f"extra {stranger} accepted into WH's good stock" in html
    cell = html.split(f'data-testid="decision-{extra["id"]}"')[1].split("</td>")[0]
    assert "accepted" in cell and "accept-" not in cell
    assert _stock(client, auth_for, "WH", part)["good"] == 3
    # Deciding again shows the refusal on the page, with its status, and changes nothing.
    again = _form_post(client, f"{decide}/send-back", {}, page)
    assert again.status_code == 409
    refusal = unescape(again.get_data(as_text=True))
    assert "Nothing was changed." in refusal and "already accepted" in refusal
    assert _stock(client, auth_for, "WH", part)["good"] == 3


def test_other_depots_see_the_extra_without_buttons_and_cannot_decide(
    client, auth_for, login, make_part, stock_up
):
    part, _, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    page = f"/transfers/{received['id']}"
    login("depot_staff", depot="SH")

    html = _page(client, page)
    answer = _form_post(client, f"{page}/discrepancies/{extra['id']}/send-back", {}, page)

    cell = html.split(f'data-testid="decision-{extra["id"]}"')[1].split("</td>")[0]
    assert "waiting in quarantine" in cell and "<form" not in cell
    assert answer.status_code == 403
    assert "works at SH, not WH" in answer.get_data(as_text=True)
    assert _stock(client, auth_for, "WH", part)["quarantine"] == 1


# --- the command line -----------------------------------------------------------------------


def test_spares_transfers_resolve_decides_an_extra_once(app, client, auth_for, make_part, stock_up):
    part, stranger, received = _stranger_at_wuhan(client, auth_for, make_part, stock_up)
    [extra] = _extras(received)
    runner = app.test_cli_runner()
    args = ["transfers", "resolve", str(received["id"]), str(extra["id"])]

    done = runner.invoke(args=[*args, "send-back", "--reason", "belongs to the carrier"])
    again = runner.invoke(args=[*args, "accept"])
    unknown = runner.invoke(args=["transfers", "resolve", str(received["id"]), "999999", "accept"])
    wrong = runner.invoke(args=[*args, "keep"])

    assert done.exit_code == 0, done.output
    assert done.output.strip() == (
        f"T{received['id']}: extra {stranger} sent back to its sender, out of WH's books"
    )
    assert (
        again.exit_code == 4 and "error: " in again.output and "already sent back" in again.output
    )
    assert unknown.exit_code == 3 and "unknown discrepancy 999999" in unknown.output
    assert wrong.exit_code == 2
    unit = call(client, "GET", f"/api/v1/units/{stranger}", auth_for("engineer"), 200)
    assert unit["location"] == "sent_back"
    assert "belongs to the carrier" in unit["history"][-1]["reason"]
    assert _stock(client, auth_for, "WH", part)["quarantine"] == 0
