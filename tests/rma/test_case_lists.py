"""The case lists and the escalations list page on the server: a page of rows at a
time, sorted by the column asked for, filtered by what desks filter on, and counted
over the whole selection (never just the rows shown)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core import clock
from core.db import UnitOfWork
from rma.service import customers, escalations, ladder
from tests.rma.test_pages import MONDAY_10_SHANGHAI, _html, _open, _row, _switch


def _numbers(html: str) -> list[str]:
    """The case numbers of a list's rows, in the order shown."""
    return re.findall(r'<tr data-testid="case-(RMA-\d{4}-\d{6})"', html)


def _total(html: str) -> str:
    match = re.search(r'data-testid="case-total">([^<]+)<', html)
    assert match, "no total"
    return match.group(1)


@pytest.fixture
def many_repairs(engine, engineer, account, install, make_part):
    """27 entitled C-3 repairs at one Nanjing site (no stock needed: the unit comes in)."""
    part = make_part(serialized=True)
    acct = account("Nanjing")
    with clock.frozen(MONDAY_10_SHANGHAI):
        return [
            _open(engine, engineer, install(acct, part), level="C-3", kind="repair")
            for _ in range(27)
        ]


def test_a_long_list_pages_on_the_server_and_counts_the_whole_selection(
    client, login, many_repairs
):
    _switch(client, login, "supervisor")
    first = _html(client.get("/rmas?scope=all&per_page=25"))
    assert len(_numbers(first)) == 25
    assert _total(first) == "27 cases"
    assert "1–25 of 27" in first and "Page 1 of 2" in first
    second = _html(client.get("/rmas?scope=all&per_page=25&page=2"))
    assert len(_numbers(second)) == 2
    assert set(_numbers(first)) | set(_numbers(second)) == {r.number for r in many_repairs}
    # Newest first by default on "all cases"; the pager keeps the filters.
    assert _numbers(first)[0] == many_repairs[-1].number
    assert re.search(r'href="/rmas\?[^"]*scope=all[^"]*page=2', first)


def _unit_of(engine, supervisor, code: str, name: str, part: str):
    """An installed unit at the one Nanjing site of a new customer called ``name``."""
    today = clock.local(clock.now()).date()
    customer = customers.create_customer(UnitOfWork(engine), supervisor, code, name)
    site = customers.create_site(UnitOfWork(engine), supervisor, customer.id, "HQ", "Nanjing")
    return customers.create_installed_unit(
        UnitOfWork(engine),
        supervisor,
        f"{code}0001",
        part,
        site.id,
        today - timedelta(days=30),
        today + timedelta(days=300),
    )


def test_the_lists_sort_by_a_column_both_ways(
    client, login, engine, engineer, supervisor, make_part
):
    part = make_part(serialized=True)
    zulu = _open(
        engine, engineer, _unit_of(engine, supervisor, "ZULU", "Zulu Labs", part), kind="repair"
    )
    aardvark = _open(
        engine,
        engineer,
        _unit_of(engine, supervisor, "AARD", "Aardvark Networks", part),
        kind="repair",
    )
    _switch(client, login, "supervisor")
    ascending = _html(client.get("/rmas?scope=all&sort=customer&order=asc"))
    assert _numbers(ascending) == [aardvark.number, zulu.number]
    descending = _html(client.get("/rmas?scope=all&sort=customer&order=desc"))
    assert _numbers(descending) == [zulu.number, aardvark.number]
    # The header says which way the list is sorted, and its link turns it round.
    header = re.search(r'<th[^>]*data-sort-key="customer"[^>]*>.*?</th>', ascending, re.S)
    assert header and 'aria-sort="ascending"' in header.group(0)
    assert "order=desc" in header.group(0)
    # An unknown sort key falls back to the default instead of failing.
    assert client.get("/rmas?scope=all&sort=drop+table").status_code == 200


def test_the_lists_filter_by_kind_level_depot_reporter_text_and_risk(
    client, login, engine, make_user, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    wang, li = make_user("engineer", username="wang.fang"), make_user("engineer", username="li.na")
    shanghai, harbin = account("Shanghai"), account("Harbin")
    with clock.frozen(MONDAY_10_SHANGHAI):  # a working Monday: Shanghai delivers in time
        replacement = _open(engine, wang, install(shanghai, part), level="C-2")
        backorder = _open(engine, li, install(harbin, make_part(serialized=True)), level="C-1")
        repair = _open(engine, li, install(harbin, part), level="C-3", kind="repair")
    assert replacement.depot_code == "SH" and not replacement.at_risk
    assert backorder.backorder and repair.status == "approved"
    _switch(client, login, "supervisor")

    def listed(query: str) -> set[str]:
        # At the instant they were opened: no promised pick-up has passed yet.
        with clock.frozen(MONDAY_10_SHANGHAI):
            html = _html(client.get(f"/rmas?scope=all&{query}"))
        shown = set(_numbers(html))
        assert _total(html).startswith(f"{len(shown)} case")  # counts what it selects
        return shown

    assert listed("kind=repair") == {repair.number}
    assert listed("fault_level=C-1") == {backorder.number}
    assert listed("depot=SH") == {replacement.number}
    assert listed("reporter=li.") == {backorder.number, repair.number}
    assert listed(f"q={harbin.customer.name.lower()}") == {backorder.number, repair.number}
    assert listed(f"q={replacement.number}") == {replacement.number}
    assert listed(f"q={replacement.serial}") == {replacement.number}
    assert listed("at_risk=1") == {backorder.number}
    assert listed("kind=repair&fault_level=C-1") == set()
    # A promised pick-up that passed unmet (the 18:00 collection went without the unit)
    # puts the case at risk at once, as its page says, before the escalation run
    # records it. Until then the unit quoted to leave at 10:00 is not late.
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=2)):
        html = _html(client.get("/rmas?scope=all&at_risk=1"))
    assert set(_numbers(html)) == {backorder.number}
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=9)):
        html = _html(client.get("/rmas?scope=all&at_risk=1"))
    assert set(_numbers(html)) == {backorder.number, replacement.number}
    assert 'data-testid="at-risk"' in _row(html, f"case-{replacement.number}")


def test_an_unknown_filter_value_is_said_on_the_page_and_lists_nothing(client, login, many_repairs):
    _switch(client, login, "supervisor")
    response = client.get("/rmas?scope=all&status=bogus")
    html = _html(response)
    assert response.status_code == 422
    assert 'data-testid="form-error"' in html and "status must be one of" in html
    assert _numbers(html) == [] and _total(html) == "0 cases"


def test_overdue_and_due_soon_are_counted_over_the_whole_selection(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 28, serialized=True)
    acct = account("Shanghai")
    with clock.frozen(MONDAY_10_SHANGHAI):
        late = [_open(engine, engineer, install(acct, part)) for _ in range(27)]
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=22)):
        soon = _open(engine, engineer, install(acct, part))
    _switch(client, login, "supervisor")
    # 26 h after the first 27 were approved: past their 24-hour promise; the last one,
    # approved 4 h ago, is still due in 20 h: neither overdue nor due soon.
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=26)):
        html = _html(client.get("/rmas/open?per_page=25"))
    assert len(_numbers(html)) == 25
    assert re.search(r'data-testid="overdue-count">27 overdue<', html)
    assert 'data-testid="due-soon-count"' not in html
    # Sorted by the due time: the most overdue first, the one still running last.
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=26)):
        last_page = _html(client.get("/rmas/open?per_page=25&page=2"))
    assert _numbers(last_page)[-1] == soon.number
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=20, minutes=30)):
        html = _html(client.get("/rmas/open?per_page=25"))
    assert re.search(r'data-testid="due-soon-count">27 due soon<', html)
    assert "overdue-count" not in html
    assert {r.number for r in late} <= set(_numbers(html)) | set(
        _numbers(_html(client.get("/rmas/open?per_page=25&page=2")))
    )


def test_the_escalations_list_pages_by_case_and_counts_every_waiting_escalation(
    client, login, engine, many_repairs
):
    ladder.seed_ladder(UnitOfWork(engine))
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(hours=26)
    )
    assert len(raised) == 27 * 2  # steps 1 and 2 of each C-3 case
    _switch(client, login, "supervisor")
    html = _html(client.get("/escalations?per_page=25"))
    groups = re.findall(r'data-testid="escalated-(RMA-\d{4}-\d{6})"', html)
    assert len(groups) == 25
    assert re.search(r'data-testid="escalation-count">54<', html)
    assert "1–25 of 27" in html
    rest = _html(client.get("/escalations?per_page=25&page=2"))
    assert len(re.findall(r'data-testid="escalated-', rest)) == 2
    assert 'data-testid="no-escalations"' in _html(client.get("/escalations?fault_level=C-1"))
    customer = re.escape(many_repairs[0].number)
    only_one = _html(client.get(f"/escalations?q={many_repairs[0].number}"))
    assert re.findall(r'data-testid="escalated-(RMA-\d{4}-\d{6})"', only_one) == [
        many_repairs[0].number
    ]
    assert re.search(rf'data-testid="escalated-{customer}"', only_one)
    row = _row(only_one, f"escalation-{raised[0].id}")
    assert "acknowledge-" in row
