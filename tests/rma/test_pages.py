"""The RMA pages through the test client: engineers open cases with the form and
close them with the customer's sign-off, depot staff ship from the pick list and
receive returns, supervisors approve billable cases and take escalations.
Errors are shown on the page with a 4xx status and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from core.db import UnitOfWork
from inventory.service import ledger, queries
from rma.service import escalations, ladder, lifecycle, opening, returns
from rma.service import queries as rma_queries
from rma.service.opening import OpenRequest
from rma.views.common import format_duration
from tests.conftest import csrf_token

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------


def _html(response) -> str:
    return response.get_data(as_text=True)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _post(client, path: str, data: dict, *, form_path: str | None = None):
    token = csrf_token(client, form_path or "/rmas")
    return client.post(path, data={"csrf_token": token, **data})


def _switch(client, login, role: str, *, depot: str | None = None):
    """Sign the current user out (if any) and a new user of ``role`` in."""
    home = client.get("/")
    if home.status_code == 200:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    return login(role, depot=depot)


def _open(engine, engineer, unit, *, level: str = "C-2", kind: str = "advance_replacement"):
    return opening.open_rma(
        UnitOfWork(engine),
        engineer,
        OpenRequest(
            fault_level=level, kind=kind, symptom="power supply LED red", serial=unit.serial
        ),
    )


def _rma(engine, number: str):
    return rma_queries.get_rma(UnitOfWork(engine), number).rma


def _available(engine, depot: str, part: str) -> int:
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0].available if rows else 0


def _all_rmas(engine):
    return rma_queries.list_rmas(UnitOfWork(engine))


@pytest.fixture
def replacement_at_sh(engine, engineer, account, install, make_part, stock_up):
    """An entitled C-2 advance replacement for a Shanghai site, allocated to SH."""
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 2, serialized=True)
    unit = install(account("Shanghai"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit)
    assert rma.status == "allocated" and rma.depot_code == "SH"
    return rma, unit, serials


# --- durations and countdowns ---------------------------------------------------------------


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(seconds=20), "under a minute"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=5, minutes=20), "5 h 20 min"),
        (timedelta(hours=30, minutes=5), "30 h 5 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (timedelta(days=15), "15 d"),
        (-timedelta(hours=2), "2 h"),
    ],
)
def test_durations_read_as_people_say_them(delta, text):
    assert format_duration(delta) == text


def test_my_cases_count_down_to_the_due_time_and_show_overdue(
    client, login, engine, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    me = _switch(client, login, "engineer")
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, me, unit)
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=18, minutes=40)):
        row = _row(_html(client.get("/rmas")), f"case-{rma.number}")
    assert 'class="badge ok" data-testid="countdown">due in 5 h 20 min' in row
    assert "C-2" in row and "allocated" in row and "Shanghai" in row
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=21)):
        row = _row(_html(client.get("/rmas")), f"case-{rma.number}")
    assert 'class="badge warn" data-testid="countdown">due in 3 h' in row
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=26)):
        row = _row(_html(client.get("/rmas")), f"case-{rma.number}")
    assert 'class="badge bad" data-testid="countdown">overdue by 2 h' in row
    assert "delivery by 03-03 10:00" in row  # the due time, in Shanghai time


def test_my_cases_starts_with_my_open_cases_and_filters_to_all_open(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    acct = account("Shanghai")
    theirs = _open(engine, engineer, install(acct, part))
    me = _switch(client, login, "engineer")
    mine = _open(engine, me, install(acct, part))
    html = _html(client.get("/rmas"))
    assert mine.number in html and theirs.number not in html
    html = _html(client.get("/rmas?scope=open&fault_level=C-2&depot=SH"))
    assert mine.number in html and theirs.number in html
    assert theirs.number not in _html(client.get("/rmas?scope=open&fault_level=C-1"))


# --- opening an RMA -----------------------------------------------------------------------------


def test_serial_search_shows_the_unit_and_its_entitlement_for_every_kind(
    client, login, account, install, make_part
):
    part = make_part(serialized=True)
    unit = install(account("Hangzhou"), part)
    _switch(client, login, "engineer")
    response = client.get(f"/rmas/new?q={unit.serial.lower()}")
    assert response.status_code == 200
    row = _row(_html(response), f"match-{unit.serial}")
    assert part in row and "Hangzhou" in row and "in warranty" in row
    cells = dict(re.findall(r'data-testid="entitlement-(\w+)"[^>]*>(.*?)</td>', row, re.S))
    assert "free" in cells["advance_replacement"] and "free" in cells["repair"]
    assert "billable" in cells["loaner"]  # the contract does not include loaners
    assert "in warranty until" in row and "loaner" in row  # why, once per distinct reason
    assert re.search(rf'value="{unit.serial}"\s+id="unit-1"[^>]*checked', row)  # one match: picked


def test_engineer_opens_an_advance_replacement_with_the_form(
    client, login, engine, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    unit = install(account("Shanghai"), part)
    _switch(client, login, "engineer")
    response = _post(
        client,
        "/rmas/new",
        {
            "q": unit.serial,
            "unit": unit.serial,
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "symptom": "Fan tray alarm, temperature rising",
        },
        form_path=f"/rmas/new?q={unit.serial}",
    )
    assert response.status_code == 302, _html(response)
    (rma,) = _all_rmas(engine)
    assert response.headers["Location"].endswith(f"/rmas/{rma.number}")
    html = _html(client.get(response.headers["Location"]))
    assert f"{rma.number} opened and allocated to SH" in html
    assert 'data-testid="allocated-depot">SH<' in html
    assert "free of charge" in html and re.search(r"due in (24 h|23 h \d+ min)", html)
    alternatives = re.findall(r'data-testid="alternative-(\w+)"', html)
    assert sorted(alternatives) == ["BJ", "CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    assert 'class="badge ok">chosen' in _row(html, "alternative-SH")
    assert _available(engine, "SH", part) == 1


def test_serial_unknown_opens_a_case_for_the_site_and_the_part(
    client, login, engine, account, make_part
):
    part = make_part(serialized=True)
    acct = account("Nanjing")
    _switch(client, login, "engineer")
    html = _html(client.get(f"/rmas/new?q={acct.customer.name}"))
    assert f'<option value="{acct.site.id}"' in html and "no-matches" in html
    response = _post(
        client,
        "/rmas/new",
        {
            "unit": "unknown",
            "site_id": str(acct.site.id),
            "part_number": part.lower(),
            "fault_level": "C-3",
            "kind": "repair",
            "symptom": "CRC errors on the uplink",
        },
    )
    assert response.status_code == 302, _html(response)
    (rma,) = _all_rmas(engine)
    assert rma.serial is None and rma.part_number == part and rma.site_id == acct.site.id


LEGENDS = {"fault_level": "Fault level", "kind": "Kind"}
GOOD = {"fault_level": "C-2", "kind": "advance_replacement", "symptom": "no power"}


@pytest.mark.parametrize(
    "change, status, field, message",
    [
        ({"symptom": "   "}, 422, "symptom", "Symptom: describe"),
        ({"fault_level": ""}, 422, "fault_level", "Fault level: choose"),
        ({"fault_level": "C-9"}, 422, "fault_level", "Fault level: choose"),
        ({"kind": "swap"}, 422, "kind", "Kind: choose"),
        ({"unit": ""}, 422, "unit", "Unit: search the serial"),
        ({"unit": "NO-SUCH-SERIAL"}, 404, None, "not in the installed base"),
        ({"unit": "unknown"}, 422, "site_id", "Site: choose"),
        ({"unit": "unknown", "site_id": "first", "part_number": "X"}, 422, "site_id", "Site"),
        ({"unit": "unknown", "site_id": "{site}", "part_number": ""}, 422, "part_number", "Part"),
        (
            {"unit": "unknown", "site_id": "{site}", "part_number": "NOPE-1"},
            404,
            None,
            "unknown part",
        ),
        (
            {"unit": "unknown", "site_id": "999999", "part_number": "{part}"},
            404,
            None,
            "unknown site",
        ),
    ],
)
def test_bad_form_input_shows_the_error_and_opens_nothing(
    client, login, engine, account, install, make_part, stock_up, change, status, field, message
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    acct = account("Shanghai")
    unit = install(acct, part)
    _switch(client, login, "engineer")
    data = {
        key: value.format(site=acct.site.id, part=part)
        for key, value in {**GOOD, "unit": unit.serial, **change}.items()
    }
    response = _post(client, "/rmas/new", data)
    html = _html(response)
    assert response.status_code == status
    assert "Nothing was changed." in html and message in html
    if field in LEGENDS:
        assert re.search(rf'aria-invalid="true">\s*<legend>{LEGENDS[field]}</legend>', html)
    elif field:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html)
    assert 'name="symptom"' in html  # the form is shown again, filled in
    assert _all_rmas(engine) == []
    assert _available(engine, "SH", part) == 1


def test_second_rma_for_the_same_serial_is_refused_on_the_form(
    client, login, engine, replacement_at_sh
):
    rma, unit, _ = replacement_at_sh
    _switch(client, login, "engineer")
    response = _post(client, "/rmas/new", {**GOOD, "unit": unit.serial})
    assert response.status_code == 409
    assert f"already has an open RMA: {rma.number}" in _html(response)
    assert len(_all_rmas(engine)) == 1


# --- shipping, delivering, receiving ---------------------------------------------------------


def test_staff_of_another_depot_cannot_ship(client, login, engine, replacement_at_sh):
    rma, _, serials = replacement_at_sh
    _switch(client, login, "depot_staff", depot="BJ")
    assert rma.number not in _html(client.get("/rmas/pick-list"))
    assert 'data-testid="ship-form"' not in _html(client.get(f"/rmas/{rma.number}"))
    response = _post(client, f"/rmas/{rma.number}/ship", {"serial": serials[0]})
    assert response.status_code == 403
    assert "works at BJ, not SH" in _html(response)
    assert _rma(engine, rma.number).status == "allocated"
    assert _available(engine, "SH", rma.ship_part_number) == 1


def test_allocated_depot_ships_from_the_pick_list_with_a_scanned_serial(
    client, login, engine, replacement_at_sh
):
    rma, _, serials = replacement_at_sh
    _switch(client, login, "depot_staff", depot="SH")
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=1)):
        row = _row(_html(client.get("/rmas/pick-list")), f"pick-{rma.number}")
    assert rma.ship_part_number in row and "Shanghai" in row and "standard" in row
    assert f'data-testid="ship-serial-{rma.number}"' in row

    # A serial that is not on the shelf: the row shows why, nothing moves.
    response = _post(
        client, f"/rmas/{rma.number}/ship", {"serial": "NOT-HERE-1", "back": "pick-list"}
    )
    assert 400 <= response.status_code < 500
    row = _row(_html(response), f"pick-{rma.number}")
    assert "Nothing was changed." in row and 'value="NOT-HERE-1"' in row
    assert _rma(engine, rma.number).status == "allocated"

    response = _post(
        client, f"/rmas/{rma.number}/ship", {"serial": serials[0].lower(), "back": "pick-list"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/rmas/pick-list")
    html = _html(client.get("/rmas/pick-list"))
    assert f"{rma.number} shipped from SH" in html and f"pick-{rma.number}" not in html
    shipped = _rma(engine, rma.number)
    assert shipped.status == "shipped" and shipped.shipped_serial == serials[0]
    assert ledger.check_books(UnitOfWork(engine)) == []


def test_refused_step_answers_409_with_the_allowed_actions(
    client, login, engine, replacement_at_sh
):
    rma, _, _ = replacement_at_sh
    _switch(client, login, "engineer")
    response = _post(client, f"/rmas/{rma.number}/deliver", {})
    html = _html(response)
    assert response.status_code == 409
    assert "cannot deliver" in html and "Allowed now: ship, cancel." in html
    assert _rma(engine, rma.number).status == "allocated"


def test_delivered_replacement_is_received_from_the_returns_page(
    client, login, engine, staff, engineer, replacement_at_sh
):
    rma, unit, serials = replacement_at_sh
    lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serials[0])
    _switch(client, login, "engineer")
    response = _post(client, f"/rmas/{rma.number}/deliver", {"delivered_at": "2099-01-01T10:00"})
    assert response.status_code == 422 and "future" in _html(response)
    response = _post(client, f"/rmas/{rma.number}/deliver", {})
    assert response.status_code == 302
    assert _rma(engine, rma.number).status == "delivered"

    _switch(client, login, "depot_staff", depot="SH")
    row = _row(_html(client.get("/rmas/returns")), f"return-{rma.number}")
    assert unit.serial in row and "defective unit" in row and "due in 14 d" in row
    response = _post(
        client,
        f"/rmas/{rma.number}/receive-defective",
        {"serial": "SOMEONE-ELSES", "depot": "SH", "back": "returns"},
    )
    assert response.status_code == 422
    assert "Nothing was changed." in _row(_html(response), f"return-{rma.number}")
    response = _post(
        client,
        f"/rmas/{rma.number}/receive-defective",
        {"serial": unit.serial, "depot": "SH", "back": "returns"},
    )
    assert response.status_code == 302
    done = _rma(engine, rma.number)
    assert done.status == "defective_received" and done.return_depot == "SH"
    assert (
        queries.stock(UnitOfWork(engine), depot="SH", part_number=unit.part_number)[0].defective
        == 1
    )


def test_repair_is_received_and_moved_through_repair_from_the_returns_page(
    client, login, engine, engineer, account, install, make_part
):
    unit = install(account("Wuhan"), make_part(serialized=True))
    rma = _open(engine, engineer, unit, kind="repair")
    assert rma.status == "approved"
    _switch(client, login, "depot_staff", depot="WH")
    row = _row(_html(client.get("/rmas/returns")), f"return-{rma.number}")
    assert "unit for repair" in row and unit.serial in row
    response = _post(
        client,
        f"/rmas/{rma.number}/receive-defective",
        {"serial": unit.serial, "depot": "WH", "back": "returns"},
    )
    assert response.status_code == 302
    for label, status in [
        ("Start repair", "in_repair"),
        ("Repaired", "repaired"),
        ("Sent back", "returned"),
    ]:
        html = _html(client.get("/rmas/returns"))
        row = _row(html, f"repair-{rma.number}")
        assert "repair return by" in row and "due in" in row  # the 72-working-hour clock
        action = re.search(rf'action="/rmas/{rma.number}/([a-z-]+)"', row).group(1)
        assert f">{label}</button>" in row
        response = _post(client, f"/rmas/{rma.number}/{action}", {"back": "returns"})
        assert response.status_code == 302
        assert _rma(engine, rma.number).status == status
    assert f"repair-{rma.number}" not in _html(client.get("/rmas/returns"))


def test_loaner_comes_back_from_the_returns_page(
    client, login, engine, engineer, staff, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    serials = stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Guangzhou", loaner=True), part)
    rma = _open(engine, engineer, unit, kind="loaner")
    assert rma.status == "allocated" and rma.depot_code == "GZ"
    lifecycle.ship(UnitOfWork(engine), staff("GZ"), rma.number, serials[0])
    lifecycle.deliver(UnitOfWork(engine), engineer, rma.number)
    _switch(client, login, "depot_staff", depot="GZ")
    row = _row(_html(client.get("/rmas/returns")), f"return-{rma.number}")
    assert "loaner" in row and serials[0] in row and "ours" in row
    assert f'action="/rmas/{rma.number}/loaner-back"' in row
    response = _post(
        client,
        f"/rmas/{rma.number}/loaner-back",
        {"serial": serials[0], "depot": "GZ", "back": "returns"},
    )
    assert response.status_code == 302
    assert _rma(engine, rma.number).status == "back"
    assert queries.get_unit(UnitOfWork(engine), serials[0])[0].condition == "quarantine"


def test_service_record_prints_as_a_pdf(client, login, replacement_at_sh):
    rma, _, _ = replacement_at_sh
    _switch(client, login, "engineer")
    response = client.get(f"/rmas/{rma.number}/service-record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


# --- approval and escalations ----------------------------------------------------------------


def test_supervisor_approves_a_billable_case_at_a_confirmed_price(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen", coverage=None), part, phase="out_of_warranty")
    rma = _open(engine, engineer, unit)
    assert rma.status == "requested" and rma.billable

    _switch(client, login, "engineer")
    html = _html(client.get(f"/rmas/{rma.number}"))
    assert "If approved now" in html and 'data-testid="approve-form"' not in html
    assert 'data-testid="price-fact"' in html  # the engineer can tell the customer the price
    assert _post(client, f"/rmas/{rma.number}/approve", {"confirm": "1"}).status_code == 403

    _switch(client, login, "supervisor")
    html = _html(client.get(f"/rmas/{rma.number}"))
    price = re.search(r'data-testid="price-total">([\d,.]+) CNY', html)
    shipping = re.search(r'data-testid="price-shipping">([\d,.]+) CNY', html)
    assert price and shipping and "Shipping from GZ" in html
    charge = price.group(1).replace(",", "")
    row = _row(_html(client.get("/escalations/approvals")), f"approval-{rma.number}")
    assert "warranty ended" in row and "Shenzhen" in row and price.group(1) in row

    # Not confirmed: the row says why, nothing is approved.
    response = _post(
        client,
        f"/rmas/{rma.number}/approve",
        {"back": "approvals", "comment": "ok by phone", "confirmed_charge": charge},
        form_path="/escalations/approvals",
    )
    assert response.status_code == 422
    row = _row(_html(response), f"approval-{rma.number}")
    assert "Confirm the price" in row and 'value="ok by phone"' in row
    assert _rma(engine, rma.number).status == "requested"

    response = _post(
        client,
        f"/rmas/{rma.number}/approve",
        {"back": "approvals", "confirm": "1", "comment": "ok by phone", "confirmed_charge": charge},
        form_path="/escalations/approvals",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/escalations/approvals")
    assert f"{rma.number} approved and allocated to GZ" in _html(
        client.get("/escalations/approvals")
    )
    approved = _rma(engine, rma.number)
    assert approved.status == "allocated" and approved.approved_by is not None
    history = _row(_html(client.get(f"/rmas/{rma.number}")), "history-approve")
    assert "ok by phone" in history and price.group(1) in history
    response = _post(client, f"/rmas/{rma.number}/approve", {"confirm": "1"})
    assert response.status_code == 409 and "Allowed now: ship, cancel." in _html(response)


def test_a_price_that_changed_since_the_page_was_shown_is_not_approved(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen", coverage=None), part, phase="out_of_warranty")
    rma = _open(engine, engineer, unit)
    _switch(client, login, "supervisor")
    response = _post(
        client,
        f"/rmas/{rma.number}/approve",
        {"confirm": "1", "confirmed_charge": "1.00"},
        form_path=f"/rmas/{rma.number}",
    )
    assert response.status_code == 409
    assert f"the price of {rma.number} is now" in _html(response)
    assert _rma(engine, rma.number).status == "requested"


def test_supervisor_acknowledges_an_escalation_with_a_note(
    client, login, engine, engineer, account, install, make_part
):
    ladder.seed_ladder(UnitOfWork(engine))
    unit = install(account("Wuhan"), make_part(serialized=True))
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit, level="C-1", kind="repair")
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(hours=3)
    )
    assert raised
    first = raised[0]
    _switch(client, login, "supervisor")
    html = _html(client.get("/escalations"))
    group = re.search(
        rf'<tbody class="case-group" data-testid="escalated-{rma.number}">.*?</tbody>', html, re.S
    )
    assert group and "C-1" in group.group(0) and "Wuhan" in group.group(0)
    row = _row(html, f"escalation-{first.id}")
    assert first.notify_title in row and f"acknowledge-{first.id}" in row
    response = _post(
        client,
        f"/escalations/{first.id}/acknowledge",
        {"note": "spare coming from WH", "next": "/escalations?fault_level=C-1"},
        form_path="/escalations",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/escalations?fault_level=C-1")
    html = _html(client.get("/escalations"))
    # The message names the case and its rung, not the escalation's internal id.
    assert f"{rma.number} step 1 acknowledged" in html
    assert f"escalation-{first.id}" not in html
    again = _post(client, f"/escalations/{first.id}/acknowledge", {}, form_path="/escalations")
    assert again.status_code == 409 and f"{rma.number} step 1 was already acknowledged" in _html(
        again
    )
    taken = _row(_html(client.get("/escalations/acknowledged")), f"acknowledged-{first.id}")
    assert rma.number in taken and "spare coming from WH" in taken
    case = _html(client.get(f"/rmas/{rma.number}"))
    assert "spare coming from WH" in _row(case, "case-escalation-1")
    assert "spare coming from WH" in _row(case, "history-acknowledge-escalation")


def test_every_waiting_rung_is_taken_on_at_once_from_the_case_page(
    client, login, engine, engineer, account, install, make_part
):
    ladder.seed_ladder(UnitOfWork(engine))
    unit = install(account("Wuhan"), make_part(serialized=True))
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit, level="C-1", kind="repair")
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(days=4)
    )
    assert sorted(e.step for e in raised) == [1, 2, 3]
    _switch(client, login, "supervisor")
    case = _html(client.get(f"/rmas/{rma.number}"))
    assert 'data-testid="acknowledge-case-form"' in case
    assert "Take on all 3 waiting escalations" in case
    response = _post(
        client,
        f"/escalations/case/{rma.number}/acknowledge",
        {"note": "lab engineer on site", "next": f"/rmas/{rma.number}"},
        form_path=f"/rmas/{rma.number}",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(rma.number)
    case = _html(client.get(f"/rmas/{rma.number}"))
    assert f"{rma.number}: 3 escalations taken on (step 3, step 2, step 1)." in case
    assert 'data-testid="acknowledge-case-form"' not in case
    for step in (1, 2, 3):
        assert "lab engineer on site" in _row(case, f"case-escalation-{step}")
    assert 'data-testid="no-escalations"' in _html(client.get("/escalations"))
    again = _post(
        client, f"/escalations/case/{rma.number}/acknowledge", {}, form_path="/escalations"
    )
    assert again.status_code == 409 and "no escalation waiting" in _html(again)


# --- closing -----------------------------------------------------------------------------------


def test_closing_needs_the_customers_rating_and_signer(
    client, login, engine, staff, replacement_at_sh
):
    rma, unit, serials = replacement_at_sh
    lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serials[0])
    lifecycle.deliver(UnitOfWork(engine), staff("SH"), rma.number)
    returns.receive_defective(UnitOfWork(engine), staff("SH"), rma.number, "SH", unit.serial)
    _switch(client, login, "engineer")
    assert 'data-testid="close-form"' in _html(client.get(f"/rmas/{rma.number}"))
    path = f"/rmas/{rma.number}/close"
    for data, message in [
        ({"remarks": "quick", "signed_by": "Ms. Chen"}, "Rating:"),
        ({"rating": "6", "signed_by": "Ms. Chen"}, "Rating:"),
        ({"rating": "4", "signed_by": "  "}, "Signed by:"),
    ]:
        response = _post(client, path, data)
        assert response.status_code == 422 and message in _html(response)
        assert _rma(engine, rma.number).status == "defective_received"
    response = _post(client, path, {"rating": "4", "remarks": "fast swap", "signed_by": "Ms. Chen"})
    assert response.status_code == 302
    html = _html(client.get(f"/rmas/{rma.number}"))
    assert 'data-testid="status">closed<' in html
    assert "4/5" in html and 'data-testid="signed-by">Ms. Chen<' in html and "fast swap" in html
    closed = _rma(engine, rma.number)
    assert (closed.rating, closed.signed_by) == (4, "Ms. Chen")


def test_cancel_needs_a_reason_and_releases_the_reserved_unit(
    client, login, engine, replacement_at_sh
):
    rma, _, _ = replacement_at_sh
    _switch(client, login, "engineer")
    response = _post(client, f"/rmas/{rma.number}/cancel", {"reason": ""})
    assert response.status_code == 422 and _available(engine, "SH", rma.ship_part_number) == 1
    response = _post(client, f"/rmas/{rma.number}/cancel", {"reason": "customer fixed it"})
    assert response.status_code == 302
    assert _rma(engine, rma.number).status == "cancelled"
    assert _available(engine, "SH", rma.ship_part_number) == 2


# --- access ----------------------------------------------------------------------------------


def test_forms_need_a_csrf_token(client, login, engine, replacement_at_sh):
    rma, _, _ = replacement_at_sh
    _switch(client, login, "engineer")
    response = client.post(f"/rmas/{rma.number}/cancel", data={"reason": "no token"})
    assert response.status_code == 400
    assert _rma(engine, rma.number).status == "allocated"


@pytest.mark.parametrize(
    "role, depot, path, status",
    [
        ("depot_staff", "SH", "/rmas/new", 403),
        ("engineer", None, "/rmas/pick-list", 403),
        ("engineer", None, "/escalations", 403),
        ("planner", None, "/rmas/returns", 403),
        ("depot_staff", "SH", "/rmas/returns", 200),
        ("supervisor", None, "/escalations", 200),
        ("supervisor", None, "/escalations/approvals", 200),
        ("supervisor", None, "/escalations/acknowledged", 200),
        ("engineer", None, "/escalations/approvals", 403),
        ("planner", None, "/rmas/open", 200),
    ],
)
def test_pages_admit_only_their_roles(client, login, role, depot, path, status):
    _switch(client, login, role, depot=depot)
    assert client.get(path).status_code == status


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    response = client.get("/rmas")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_case_or_action_is_404(client, login, replacement_at_sh):
    rma, _, _ = replacement_at_sh
    _switch(client, login, "engineer")
    assert client.get("/rmas/RMA-1999-000001").status_code == 404
    assert _post(client, f"/rmas/{rma.number}/teleport", {}).status_code == 404
    assert _post(client, "/rmas/RMA-1999-000001/cancel", {"reason": "x"}).status_code == 404
