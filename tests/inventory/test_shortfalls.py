"""A transfer with missing units stays partially received: the missing units stay in
transit until a late parcel brings them (in transit -> good, the shortfall resolved
'arrived') or they are written off with a reason (out of the books, the transfer
received). Through the pages, the API and the CLI, on both databases; refused steps
change nothing, and the books balance after every step."""

from __future__ import annotations

import re
from html import unescape

import pytest
from click.testing import Result

from core.db import UnitOfWork
from inventory.service import ledger, queries, transfers
from inventory.service.transfers import LineIn
from tests.conftest import bearer, csrf_token
from tests.inventory.conftest import require_room_for_partial_receipts


@pytest.fixture
def engine(any_engine):
    """Every test here runs on both databases (the factories follow this engine)."""
    require_room_for_partial_receipts(any_engine)
    return any_engine


def _stock(engine, depot: str, part: str) -> tuple[int, int]:
    """(good, in transit) of a part at a depot."""
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return (rows[0].good, rows[0].in_transit) if rows else (0, 0)


def _books(engine) -> None:
    assert ledger.check_books(UnitOfWork(engine)) == []


def _shipped(engine, staff, planner, lines: dict[str, int], route=("BJ", "SH")):
    source, target = route
    draft = transfers.create_transfer(
        UnitOfWork(engine), planner, source, target, [LineIn(p, q) for p, q in lines.items()]
    )
    return transfers.ship_transfer(UnitOfWork(engine), staff(source), draft.transfer.id)


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _post(client, path: str, data: dict, form_path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data})


# --- the API --------------------------------------------------------------------------------


def test_missing_serials_stay_in_transit_until_a_late_parcel_brings_them(
    client, auth_for, engine, make_part, stock_up, staff, planner
):
    part = make_part(serialized=True)
    stock_up("BJ", part, 3, serialized=True)
    shipped = _shipped(engine, staff, planner, {part: 3})
    code, url = f"T{shipped.transfer.id}", f"/api/v1/transfers/{shipped.transfer.id}"
    sent = sorted(row.serial for row in shipped.serials)
    receiver = auth_for("depot_staff", "SH")

    first = client.post(
        f"{url}/receive",
        json={"lines": [{"part_number": part, "serials": sent[:1]}]},
        headers=receiver,
    ).get_json()
    assert first["status"] == "partially_received" and first["code"] == code
    assert sorted(d["serial"] for d in first["discrepancies"] if d["awaiting_arrival"]) == sent[1:]
    assert _stock(engine, "SH", part) == (1, 2)
    units = {s: client.get(f"/api/v1/units/{s}", headers=receiver).get_json() for s in sent}
    assert [units[s]["location"] for s in sent] == ["depot", "in_transit", "in_transit"]
    _books(engine)

    # A serial that already arrived cannot arrive again; nothing changes.
    again = client.post(
        f"{url}/late-parcels",
        json={"lines": [{"part_number": part, "serials": sent[:1]}]},
        headers=receiver,
    )
    assert again.status_code == 409 and "already arrived" in again.get_json()["detail"]
    assert client.post(f"{url}/late-parcels", json={}, headers=receiver).status_code == 422
    assert _stock(engine, "SH", part) == (1, 2)

    late = client.post(
        f"{url}/late-parcels",
        json={"lines": [{"part_number": part, "serials": [sent[2]]}]},
        headers=receiver,
    ).get_json()
    assert late["status"] == "partially_received"
    assert {d["serial"]: d["resolution"] for d in late["discrepancies"]} == {
        sent[1]: None,
        sent[2]: "arrived",
    }
    assert _stock(engine, "SH", part) == (2, 1)
    rest = client.post(f"{url}/late-parcels", json={"all_missing": True}, headers=receiver)
    assert rest.status_code == 200 and rest.get_json()["status"] == "received"
    assert _stock(engine, "SH", part) == (3, 0)
    history = client.get(f"/api/v1/ledger?reference={code}", headers=receiver).get_json()
    assert [line["kind"] for line in history["items"]].count("transfer_late_receipt") == 4
    _books(engine)


def test_a_bulk_shortfall_filled_in_part_is_split_then_written_off_with_a_reason(
    client, auth_for, engine, make_part, stock_up, staff, planner
):
    part = make_part()
    stock_up("BJ", part, 10)
    shipped = _shipped(engine, staff, planner, {part: 10})
    url = f"/api/v1/transfers/{shipped.transfer.id}"
    receiver = auth_for("depot_staff", "SH")
    client.post(
        f"{url}/receive", json={"lines": [{"part_number": part, "qty": 6}]}, headers=receiver
    )
    assert _stock(engine, "SH", part) == (6, 4)

    late = client.post(
        f"{url}/late-parcels", json={"lines": [{"part_number": part, "qty": 3}]}, headers=receiver
    ).get_json()
    shorts = sorted((d["qty"], d["resolution"]) for d in late["discrepancies"])
    assert shorts == [(1, None), (3, "arrived")]
    assert _stock(engine, "SH", part) == (9, 1)

    # Only the receiving depot writes off, and only with a reason.
    sender = auth_for("depot_staff", "BJ")
    body = {"reason": "lost by the courier"}
    assert client.post(f"{url}/write-off", json=body, headers=sender).status_code == 403
    assert client.post(f"{url}/write-off", json={"reason": ""}, headers=receiver).status_code == 422
    assert _stock(engine, "SH", part) == (9, 1)
    done = client.post(f"{url}/write-off", json=body, headers=receiver).get_json()
    assert done["status"] == "received"
    assert [
        (d["qty"], d["resolution"], d["resolution_note"])
        for d in done["discrepancies"]
        if d["resolution"] == "written_off"
    ] == [(1, "written_off", "lost by the courier")]
    assert _stock(engine, "SH", part) == (9, 0)
    # Received now: nothing waits, so neither a late parcel nor a write-off is possible.
    refused = client.post(f"{url}/write-off", json=body, headers=receiver)
    assert refused.status_code == 409 and "partially received" in refused.get_json()["detail"]
    lines = client.get(
        f"/api/v1/ledger?reference=T{shipped.transfer.id}", headers=receiver
    ).get_json()["items"]
    written = [line for line in lines if line["kind"] == "transfer_write_off"]
    assert [(w["bucket"], w["qty"]) for w in written] == [("in_transit", -1)]
    assert "lost by the courier" in written[0]["reason"]
    _books(engine)


# --- the pages ------------------------------------------------------------------------------


def test_the_page_receives_short_then_takes_the_late_parcel(
    client, login, engine, make_part, stock_up, staff, planner
):
    tracked, bulk = make_part(serialized=True), make_part()
    stock_up("BJ", tracked, 2, serialized=True)
    stock_up("BJ", bulk, 5)
    shipped = _shipped(engine, staff, planner, {tracked: 2, bulk: 5})
    path = f"/transfers/T{shipped.transfer.id}"
    line = {row.part_number: row.id for row in shipped.lines}
    sent = sorted(row.serial for row in shipped.serials)
    login("depot_staff", depot="SH")

    html = _html(client.get(path))
    assert 'data-testid="all-arrived"' in html
    response = _post(
        client,
        f"{path}/receive",
        {f"serials-{line[tracked]}": sent[0], f"qty-{line[bulk]}": "4"},
        path,
    )
    assert response.status_code == 302
    html = _html(client.get(path))
    assert 'data-status="partially_received"' in html
    assert "2 units in transit" in html and 'data-testid="late-parcel-form"' in html
    assert sent[1] in re.search(r'data-testid="missing-serials-[^"]+">([^<]*)<', html)[1]

    response = _post(
        client,
        f"{path}/late-parcel",
        {"expected": [tracked, bulk], f"late-serials-{line[tracked]}": sent[1]},
        path,
    )
    assert response.status_code == 302
    assert "still missing" in _html(client.get(path))
    response = _post(
        client,
        f"{path}/late-parcel",
        {"expected": [bulk], "all_missing": "1", f"late-qty-{line[bulk]}": "1"},
        path,
    )
    assert response.status_code == 422  # both a count and "everything arrived": which?
    assert "Nothing was changed." in _html(response)
    response = _post(client, f"{path}/late-parcel", {"expected": [bulk], "all_missing": "1"}, path)
    assert response.status_code == 302
    html = _html(client.get(path))
    assert "is complete" in html and 'data-status="received"' in html
    assert _stock(engine, "SH", tracked) == (2, 0) and _stock(engine, "SH", bulk) == (5, 0)
    _books(engine)


def test_the_page_writes_off_with_a_reason_only(
    client, login, engine, make_part, stock_up, staff, planner
):
    part = make_part()
    stock_up("BJ", part, 3)
    shipped = _shipped(engine, staff, planner, {part: 3})
    path = f"/transfers/{shipped.transfer.id}"  # a bare id opens the same page
    login("depot_staff", depot="SH")
    line = shipped.lines[0].id
    assert _post(client, f"{path}/receive", {f"qty-{line}": "1"}, path).status_code == 302
    response = _post(client, f"{path}/write-off", {"reason": "   "}, path)
    assert response.status_code == 422 and "say why" in _html(response)
    assert _stock(engine, "SH", part) == (1, 2)
    response = _post(client, f"{path}/write-off", {"reason": "box crushed in transit"}, path)
    assert response.status_code == 302
    html = _html(client.get(path))
    assert "written off" in html and "box crushed in transit" in html
    assert 'data-testid="write-off-form"' not in html
    assert _stock(engine, "SH", part) == (1, 0)
    _books(engine)


# --- the terminal ---------------------------------------------------------------------------


def _run(app, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_the_cli_receives_short_takes_a_late_parcel_and_writes_off(
    app, engine, make_part, stock_up, staff, planner
):
    tracked, bulk = make_part(serialized=True), make_part()
    stock_up("BJ", tracked, 2, serialized=True)
    stock_up("BJ", bulk, 4)
    shipped = _shipped(engine, staff, planner, {tracked: 2, bulk: 4})
    code = f"T{shipped.transfer.id}"
    sent = sorted(row.serial for row in shipped.serials)

    refused = _run(app, "transfers", "receive", code)
    assert refused.exit_code == 2 and "confirm that everything arrived" in refused.output
    result = _run(
        app, "transfers", "receive", code, "--serials", f"{tracked}={sent[0]}", "--qty", f"{bulk}=4"
    )
    assert result.exit_code == 0, result.output
    assert f"{code}: partially_received; 1 unit(s) still missing" in result.output
    late = _run(app, "transfers", "receive-late", code.lower(), "--serials", f"{tracked}={sent[1]}")
    assert late.exit_code == 0 and f"{code}: received" in late.output
    assert _stock(engine, "SH", tracked) == (2, 0)
    assert _run(app, "transfers", "write-off", code, "--reason", "x").exit_code == 4
    assert _run(app, "transfers", "receive", "X9").exit_code == 2  # not a transfer code
    _books(engine)


def test_the_cli_writes_off_what_is_missing(app, engine, make_part, stock_up, staff, planner):
    part = make_part()
    stock_up("BJ", part, 2)
    shipped = _shipped(engine, staff, planner, {part: 2})
    code = f"T{shipped.transfer.id}"
    assert _run(app, "transfers", "receive", code, "--qty", f"{part}=0").exit_code == 0
    assert _stock(engine, "SH", part) == (0, 2)
    result = _run(app, "transfers", "write-off", code, "--reason", "never left the truck")
    assert result.exit_code == 0 and f"{code}: received" in result.output
    assert _stock(engine, "SH", part) == (0, 0)
    _books(engine)


def test_an_api_token_of_a_sender_cannot_receive(
    client, api_token, engine, make_part, stock_up, staff, planner
):
    part = make_part()
    stock_up("BJ", part, 1)
    shipped = _shipped(engine, staff, planner, {part: 1})
    sender = bearer(api_token("depot_staff", depot="BJ"))
    answer = client.post(
        f"/api/v1/transfers/{shipped.transfer.id}/receive",
        json={"as_shipped": True},
        headers=sender,
    )
    assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden"
    assert _stock(engine, "SH", part) == (0, 1)
