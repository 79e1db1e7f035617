"""The inventory API for reservations, transfers, the ledger and serialized units."""

from __future__ import annotations

from core.db import UnitOfWork
from inventory.service import ledger, queries


def _stock(engine, depot: str, part: str) -> queries.StockRow | None:
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0] if rows else None


def _books_balance(engine) -> bool:
    return ledger.check_books(UnitOfWork(engine)) == []


# --- reservations ------------------------------------------------------------------------------


def test_a_reservation_holds_stock_and_answers_the_agreed_contract(
    client, auth_for, make_part, stock_up, engine
):
    part = make_part()
    stock_up("BJ", part, 10)
    engineer = auth_for("engineer")
    held = client.post(
        "/api/v1/reservations",
        json={"depot": "BJ", "part_number": part, "qty": 10, "reference": "RMA-1"},
        headers=engineer,
    )
    assert held.status_code == 201, held.get_json()
    body = held.get_json()
    assert {"id", "depot", "part_number", "qty", "reference", "status"} <= set(body)
    assert (body["depot"], body["part_number"], body["qty"], body["reference"], body["status"]) == (
        "BJ",
        part,
        10,
        "RMA-1",
        "active",
    )
    short = client.post(
        "/api/v1/reservations",
        json={"depot": "BJ", "part_number": part, "qty": 1, "reference": "RMA-2"},
        headers=engineer,
    )
    assert short.status_code == 409
    assert (short.get_json()["error"], short.get_json()["available"]) == ("insufficient_stock", 0)
    row = _stock(engine, "BJ", part)
    assert (row.good, row.reserved, row.available) == (10, 10, 0)


def test_release_gives_stock_back_and_pick_takes_it_off_the_shelf(
    client, auth_for, make_part, stock_up, engine
):
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 3, serialized=True)
    staff = auth_for("depot_staff", "SH")
    first = client.post(
        "/api/v1/reservations",
        headers=staff,
        json={"depot": "SH", "part_number": part, "qty": 1, "reference": "RMA-10"},
    ).get_json()
    second = client.post(
        "/api/v1/reservations",
        headers=staff,
        json={"depot": "SH", "part_number": part, "qty": 2, "reference": "RMA-11"},
    ).get_json()
    released = client.post(f"/api/v1/reservations/{first['id']}/release", headers=staff)
    assert released.status_code == 200
    assert released.get_json()["status"] == "released"
    assert (
        client.post(f"/api/v1/reservations/{first['id']}/release", headers=staff).status_code == 200
    )
    bad_pick = client.post(
        f"/api/v1/reservations/{second['id']}/pick", json={"serials": serials[:1]}, headers=staff
    )
    assert bad_pick.status_code == 422
    picked = client.post(
        f"/api/v1/reservations/{second['id']}/pick", json={"serials": serials[1:]}, headers=staff
    )
    assert picked.status_code == 200, picked.get_json()
    body = picked.get_json()
    assert body["reservation"]["status"] == "picked"
    assert body["movement"]["kind"] == "pick"
    assert body["movement"]["stock"]["good"] == 1
    assert body["movement"]["stock"]["reserved"] == 0
    customer = client.get(f"/api/v1/units/{serials[1]}", headers=staff).get_json()
    assert customer["location"] == "customer"
    listed = client.get("/api/v1/reservations?depot=sh&status=picked", headers=staff).get_json()
    assert [r["reference"] for r in listed] == ["RMA-11"]
    by_ref = client.get("/api/v1/reservations?reference=RMA-10", headers=staff).get_json()
    assert [r["status"] for r in by_ref] == ["released"]
    assert client.get("/api/v1/reservations?status=lost", headers=staff).status_code == 422
    assert _books_balance(engine)


def test_staff_of_another_depot_cannot_touch_its_reservations(
    client, auth_for, make_part, stock_up
):
    part = make_part()
    stock_up("GZ", part, 2)
    held = client.post(
        "/api/v1/reservations",
        headers=auth_for("planner"),
        json={"depot": "GZ", "part_number": part, "qty": 1},
    ).get_json()
    outsider = auth_for("depot_staff", "BJ")
    assert (
        client.post(
            "/api/v1/reservations",
            headers=outsider,
            json={"depot": "GZ", "part_number": part, "qty": 1},
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/reservations/{held['id']}/release", headers=outsider).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/reservations/{held['id']}/pick", headers=outsider).status_code == 403
    )
    assert (
        client.post(
            f"/api/v1/reservations/{held['id']}/pick", headers=auth_for("planner")
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/reservations/999999/release", headers=auth_for("planner")).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/reservations/{2**40}/release", headers=auth_for("planner")
        ).status_code
        == 422
    )


# --- transfers ------------------------------------------------------------------------------


def test_a_transfer_is_drafted_shipped_by_the_source_and_received_by_the_destination(
    client, auth_for, make_part, stock_up, engine
):
    bulk, tracked = make_part(), make_part(serialized=True)
    stock_up("BJ", bulk, 10)
    serials = stock_up("BJ", tracked, 2, serialized=True)
    created = client.post(
        "/api/v1/transfers",
        json={
            "from_depot": "BJ",
            "to_depot": "SH",
            "note": "rebalance",
            "lines": [
                {"part_number": bulk, "qty": 4},
                {"part_number": tracked, "qty": 2},
                {"part_number": bulk.lower(), "qty": 1},
            ],
        },
        headers=auth_for("planner"),
    )
    assert created.status_code == 201, created.get_json()
    draft = created.get_json()
    assert draft["status"] == "draft"
    assert {(line["part_number"], line["qty"]) for line in draft["lines"]} == {
        (bulk, 5),
        (tracked, 2),
    }
    receiver, shipper = auth_for("depot_staff", "SH"), auth_for("depot_staff", "BJ")
    url = f"/api/v1/transfers/{draft['id']}"
    assert client.post(f"{url}/ship", headers=receiver).status_code == 403
    shipped = client.post(
        f"{url}/ship", json={"serials": {tracked.lower(): serials}}, headers=shipper
    )
    assert shipped.status_code == 200, shipped.get_json()
    assert shipped.get_json()["status"] == "shipped"
    assert sorted(s["serial"] for s in shipped.get_json()["serials"]) == sorted(serials)
    assert _stock(engine, "SH", bulk).in_transit == 5
    assert client.post(f"{url}/receive", headers=shipper).status_code == 403
    received = client.post(
        f"{url}/receive",
        json={
            "lines": [
                {"part_number": bulk, "qty": 4},
                {"part_number": tracked, "serials": [serials[0]]},
            ]
        },
        headers=receiver,
    )
    assert received.status_code == 200, received.get_json()
    body = received.get_json()
    assert (body["code"], body["status"]) == (f"T{draft['id']}", "partially_received")
    assert {
        (d["part_number"], d["kind"], d["qty"], d["serial"], d["awaiting_arrival"])
        for d in body["discrepancies"]
    } == {(bulk, "short", 1, None, True), (tracked, "short", 1, serials[1], True)}
    # What did not arrive is still on its way, not gone.
    assert (_stock(engine, "SH", bulk).good, _stock(engine, "SH", bulk).in_transit) == (4, 1)
    assert _stock(engine, "SH", tracked).in_transit == 1
    assert _stock(engine, "BJ", bulk).good == 5
    again = client.get(url, headers=auth_for("engineer")).get_json()
    assert again == body
    assert _books_balance(engine)

    # The bulk unit turns up in a late parcel; the serial is written off.
    late = client.post(
        f"{url}/late-parcels", json={"lines": [{"part_number": bulk, "qty": 1}]}, headers=receiver
    )
    assert late.status_code == 200, late.get_json()
    assert late.get_json()["status"] == "partially_received"
    assert (_stock(engine, "SH", bulk).good, _stock(engine, "SH", bulk).in_transit) == (5, 0)
    assert client.post(f"{url}/write-off", json={}, headers=receiver).status_code == 422
    written = client.post(
        f"{url}/write-off", json={"reason": "lost by the courier"}, headers=receiver
    )
    assert written.status_code == 200, written.get_json()
    final = written.get_json()
    assert final["status"] == "received"
    assert {
        (d["serial"], d["resolution"], d["resolution_note"]) for d in final["discrepancies"]
    } == {
        (None, "arrived", ""),
        (serials[1], "written_off", "lost by the courier"),
    }
    assert _stock(engine, "SH", tracked).in_transit == 0
    unit = client.get(f"/api/v1/units/{serials[1]}", headers=receiver).get_json()
    assert unit["location"] == "missing"
    assert _books_balance(engine)


def test_an_empty_receipt_is_422_and_all_arrived_must_be_said(
    client, auth_for, make_part, stock_up, engine
):
    part = make_part()
    stock_up("GZ", part, 3)
    draft = client.post(
        "/api/v1/transfers",
        json={"from_depot": "GZ", "to_depot": "CD", "lines": [{"part_number": part, "qty": 3}]},
        headers=auth_for("planner"),
    ).get_json()
    url = f"/api/v1/transfers/{draft['id']}"
    assert client.post(f"{url}/ship", headers=auth_for("depot_staff", "GZ")).status_code == 200
    receiver = auth_for("depot_staff", "CD")
    for body in (None, {}, {"lines": []}, {"as_shipped": False}):
        answer = client.post(f"{url}/receive", json=body, headers=receiver)
        assert answer.status_code == 422, (body, answer.get_json())
        assert answer.get_json()["error"] == "invalid"
    both = {"as_shipped": True, "lines": [{"part_number": part, "qty": 3}]}
    assert client.post(f"{url}/receive", json=both, headers=receiver).status_code == 422
    assert _stock(engine, "CD", part).in_transit == 3  # nothing was received
    done = client.post(f"{url}/receive", json={"as_shipped": True}, headers=receiver)
    assert done.status_code == 200 and done.get_json()["status"] == "received"
    assert (_stock(engine, "CD", part).good, _stock(engine, "CD", part).in_transit) == (3, 0)


def test_shipping_what_is_not_available_is_409_and_changes_nothing(
    client, auth_for, make_part, stock_up, engine
):
    plenty, scarce = make_part(), make_part()
    stock_up("CD", plenty, 5)
    stock_up("CD", scarce, 1)
    staff = auth_for("depot_staff", "CD")
    draft = client.post(
        "/api/v1/transfers",
        json={
            "from_depot": "CD",
            "to_depot": "WH",
            "lines": [{"part_number": plenty, "qty": 5}, {"part_number": scarce, "qty": 2}],
        },
        headers=staff,
    ).get_json()
    before = client.get("/api/v1/ledger", headers=staff).get_json()
    answer = client.post(f"/api/v1/transfers/{draft['id']}/ship", headers=staff)
    assert answer.status_code == 409
    assert answer.get_json()["part_number"] == scarce
    assert client.get(f"/api/v1/transfers/{draft['id']}", headers=staff).get_json()["status"] == (
        "draft"
    )
    assert client.get("/api/v1/ledger", headers=staff).get_json() == before
    assert _stock(engine, "CD", plenty).good == 5
    assert _stock(engine, "WH", plenty) is None


def test_transfers_refuse_outsiders_bad_lines_and_late_cancellation(
    client, auth_for, make_part, stock_up
):
    part = make_part()
    stock_up("SY", part, 3)
    outsider = auth_for("depot_staff", "JN")
    body = {"from_depot": "SY", "to_depot": "XA", "lines": [{"part_number": part, "qty": 1}]}
    assert client.post("/api/v1/transfers", json=body, headers=outsider).status_code == 403
    assert (
        client.post("/api/v1/transfers", json=body, headers=auth_for("engineer")).status_code == 403
    )
    planner = auth_for("planner")
    for bad in (
        {**body, "lines": []},
        {**body, "to_depot": "SY"},
        {**body, "lines": [{"part_number": part, "qty": 0}]},
        {**body, "lines": [{"part_number": part}]},
        {**body, "lines": "everything"},
    ):
        assert client.post("/api/v1/transfers", json=bad, headers=planner).status_code == 422
    assert (
        client.post(
            "/api/v1/transfers", json={**body, "to_depot": "QQ"}, headers=planner
        ).status_code
        == 404
    )
    draft = client.post("/api/v1/transfers", json=body, headers=planner).get_json()
    url = f"/api/v1/transfers/{draft['id']}"
    assert client.post(f"{url}/cancel", headers=outsider).status_code == 403
    assert (
        client.post(
            f"{url}/ship",
            json={"serials": {"NOPE-1": ["ABC123"]}},
            headers=auth_for("depot_staff", "SY"),
        ).status_code
        == 422
    )
    cancelled = client.post(f"{url}/cancel", headers=planner)
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(f"{url}/ship", headers=auth_for("depot_staff", "SY")).status_code == 409
    assert (
        client.post(
            "/api/v1/transfers/424242/ship", headers=auth_for("depot_staff", "SY")
        ).status_code
        == 404
    )


def test_transfers_are_listed_by_status_and_depot(client, auth_for, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 4)
    planner = auth_for("planner")
    ids = []
    for target in ("SH", "GZ"):
        ids.append(
            client.post(
                "/api/v1/transfers",
                json={
                    "from_depot": "BJ",
                    "to_depot": target,
                    "lines": [{"part_number": part, "qty": 1}],
                },
                headers=planner,
            ).get_json()["id"]
        )
    client.post(f"/api/v1/transfers/{ids[0]}/ship", headers=auth_for("depot_staff", "BJ"))
    shipped = client.get("/api/v1/transfers?status=shipped", headers=planner).get_json()
    assert [t["id"] for t in shipped] == [ids[0]]
    to_gz = client.get("/api/v1/transfers?depot=gz", headers=planner).get_json()
    assert [t["id"] for t in to_gz] == [ids[1]]
    assert [
        t["id"] for t in client.get("/api/v1/transfers?depot=BJ", headers=planner).get_json()
    ] == ids[::-1]
    assert client.get("/api/v1/transfers?status=lost", headers=planner).status_code == 422


# --- ledger and units -----------------------------------------------------------------------


def test_the_ledger_pages_newest_first(client, auth_for, make_part, stock_up):
    part = make_part()
    for qty in (1, 2, 3, 4, 5):
        stock_up("JN", part, qty)
    reader = auth_for("supervisor")
    first = client.get(f"/api/v1/ledger?part_number={part}&limit=2", headers=reader).get_json()
    assert [line["qty"] for line in first["items"]] == [5, 4]
    assert first["items"][0]["at"].endswith("+08:00")
    second = client.get(
        f"/api/v1/ledger?part_number={part}&limit=2&before_id={first['next_before_id']}",
        headers=reader,
    ).get_json()
    assert [line["qty"] for line in second["items"]] == [3, 2]
    last = client.get(
        f"/api/v1/ledger?part_number={part}&limit=2&before_id={second['next_before_id']}",
        headers=reader,
    ).get_json()
    assert ([line["qty"] for line in last["items"]], last["next_before_id"]) == ([1], None)
    assert client.get("/api/v1/ledger?depot=SH", headers=reader).get_json()["items"] == []
    assert client.get("/api/v1/ledger?before_id=0", headers=reader).status_code == 422
    assert client.get("/api/v1/ledger?limit=5000", headers=reader).status_code == 422


def test_units_are_found_by_serial_and_listed_by_place(client, auth_for, make_part, stock_up):
    part = make_part(serialized=True)
    serials = stock_up("XA", part, 2, serialized=True)
    reader = auth_for("engineer")
    unit = client.get(f"/api/v1/units/{serials[0].lower()}", headers=reader)
    assert unit.status_code == 200
    body = unit.get_json()
    assert (body["serial"], body["depot"], body["location"], body["condition"]) == (
        serials[0],
        "XA",
        "depot",
        "good",
    )
    assert [(h["kind"], h["qty"]) for h in body["history"]] == [("receipt", 1)]
    listed = client.get(
        f"/api/v1/units?depot=XA&part_number={part}&condition=good&location=depot", headers=reader
    ).get_json()
    assert [u["serial"] for u in listed] == serials
    assert client.get("/api/v1/units?location=moon", headers=reader).status_code == 422
    assert client.get("/api/v1/units/NOSUCHSERIAL", headers=reader).status_code == 404
