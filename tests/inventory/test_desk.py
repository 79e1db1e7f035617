"""The depot desk: the pick list names the unit to pick (the oldest free good unit,
a different one for each case) and its bin; the returns page is open to engineers
and supervisors, who read it (overdue units marked), while depot staff receive
there; a unit's page links its RMA and the customer where it is installed."""

# The RMA tests' factories (a customer account, an installed unit, an engineer) are
# imported as fixtures, and test functions take them by name.
# ruff: noqa: F811

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from core import clock
from core.db import UnitOfWork
from inventory.service import bins, ledger
from rma.service import lifecycle, opening, returns
from rma.service import queries as rma_queries
from rma.service.opening import OpenRequest
from tests.conftest import csrf_token
from tests.rma.conftest import account, engineer, install, supervisor  # noqa: F401

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _open(engine, engineer, unit):
    return opening.open_rma(
        UnitOfWork(engine),
        engineer,
        OpenRequest(
            fault_level="C-2",
            kind="advance_replacement",
            symptom="power supply LED red",
            serial=unit.serial,
        ),
    )


def _logout(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_the_pick_list_names_the_oldest_free_unit_for_each_case_and_its_bin(
    client, login, engine, engineer, account, install, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    oldest = stock_up("SH", part, 1, serialized=True)[0]
    next_oldest = stock_up("SH", part, 1, serialized=True)[0]
    newest = stock_up("SH", part, 1, serialized=True)[0]
    bins.set_default_bin(UnitOfWork(engine), staff("SH"), "SH", part, "S-01-1")
    bins.move_unit(UnitOfWork(engine), staff("SH"), next_oldest, "S-09-9")
    customer = account("Shanghai")
    with clock.frozen(MONDAY_10_SHANGHAI):
        first = _open(engine, engineer, install(customer, part))
        second = _open(engine, engineer, install(customer, part))
    assert first.depot_code == second.depot_code == "SH"

    login("depot_staff", depot="SH")
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(minutes=30)):
        html = _html(client.get("/rmas/pick-list"))
    picks = {rma.number: _row(html, f"pick-{rma.number}") for rma in (first, second)}
    suggested = {
        number: re.search(r'data-testid="suggested-serial">([^<]+)<', row)[1]
        for number, row in picks.items()
    }
    # Each case its own unit, the oldest ones, in the order they leave; never the newest.
    assert sorted(suggested.values()) == sorted([oldest, next_oldest])
    assert newest not in html
    for number, serial in suggested.items():
        expected_bin = "S-09-9" if serial == next_oldest else "S-01-1"
        assert f'data-testid="suggested-bin">{expected_bin}<' in picks[number]

    # Shipping the suggested serial from the row takes exactly that unit.
    number = first.number
    response = client.post(
        f"/rmas/{number}/ship",
        data={
            "csrf_token": csrf_token(client, "/rmas/pick-list"),
            "serial": suggested[number],
            "back": "pick-list",
        },
    )
    assert response.status_code == 302
    assert lifecycle_shipped(engine, number) == suggested[number]
    assert ledger.check_books(UnitOfWork(engine)) == []


def lifecycle_shipped(engine, number: str) -> str | None:
    """The serial the case shipped."""
    return rma_queries.get_rma(UnitOfWork(engine), number).rma.shipped_serial


def test_returns_are_read_by_engineers_and_supervisors_and_received_by_staff(
    client, login, engine, engineer, account, install, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit)
        lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serials[0])
        lifecycle.deliver(UnitOfWork(engine), engineer, rma.number)

    for role in ("engineer", "supervisor"):
        login(role)
        with clock.frozen(MONDAY_10_SHANGHAI + timedelta(days=20)):  # past the 15 days
            response = client.get("/rmas/returns")
            overdue = _html(client.get("/rmas/returns?overdue=1"))
        assert response.status_code == 200
        row = _row(_html(response), f"return-{rma.number}")
        assert unit.serial in row and 'data-testid="overdue"' in row
        assert 'data-testid="receive-form-' not in row  # they read; staff receive
        assert f"return-{rma.number}" in overdue
        _logout(client)

    login("depot_staff", depot="SH")
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(days=1)):
        row = _row(_html(client.get("/rmas/returns")), f"return-{rma.number}")
        not_yet = _html(client.get("/rmas/returns?overdue=1"))
    assert f'data-testid="receive-form-{rma.number}"' in row and "overdue" not in row
    assert f"return-{rma.number}" not in not_yet
    _logout(client)
    login("planner")
    assert client.get("/rmas/returns").status_code == 403


def test_a_units_page_links_its_rma_and_the_customer_it_is_installed_at(
    client, login, engine, engineer, account, install, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 1, serialized=True)
    customer = account("Shanghai")
    unit = install(customer, part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit)
        lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serials[0])
        lifecycle.deliver(UnitOfWork(engine), engineer, rma.number)
    login("engineer")
    # The replacement went out on the case: its history names the RMA, and links it.
    html = _html(client.get(f"/units/{serials[0]}"))
    links = re.findall(r'data-testid="unit-link">(.*?)</dd>', html, re.S)
    assert any(f'href="/rmas/{rma.number}"' in link for link in links)
    # It is installed at the customer's site now (the replacement took the old one's
    # place): the page names the customer and links its page.
    assert any(customer.customer.name in link for link in links)
    assert any(f"/customers/{customer.customer.id}" in link for link in links)


def test_a_returned_defective_unit_links_the_case_it_came_back_on(
    client, login, engine, engineer, account, install, make_part, stock_up, staff
):
    part = make_part(serialized=True)
    serials = stock_up("SH", part, 1, serialized=True)
    unit = install(account("Shanghai"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit)
        lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serials[0])
        lifecycle.deliver(UnitOfWork(engine), engineer, rma.number)
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(days=2)):
        returns.receive_defective(UnitOfWork(engine), staff("SH"), rma.number, "SH", unit.serial)
    login("depot_staff", depot="SH")
    html = _html(client.get(f"/units/{unit.serial}"))
    links = re.findall(r'data-testid="unit-link">(.*?)</dd>', html, re.S)
    assert any(f'href="/rmas/{rma.number}"' in link for link in links)
    assert "defective" in re.search(r'data-testid="unit-condition">(.*?)</dd>', html, re.S)[1]
