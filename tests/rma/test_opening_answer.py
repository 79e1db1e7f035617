"""Opening an RMA answers from the rows its own transaction holds (issue 12): that
answer must be exactly what reading the case back afterwards answers.

``POST /api/v1/rmas`` builds its answer inside the opening's transaction instead of
reading the case, its history, site, customer and contract again. Values the
application set (instants, money, the stored alternatives) must therefore come out
as the database gives them back: a difference would show as a POST answer that a
GET of the same case contradicts. Checked on SQLite and PostgreSQL, for each way an
opening can end: allocated (standard and emergency), backorder, waiting for a
supervisor's approval (with its price), and opened by serial.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from rma.api.answers import stored_alternatives
from rma.service import queries


@pytest.fixture
def engine(any_engine: Engine) -> Engine:
    return any_engine


def _open(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    request = {"kind": "advance_replacement", "symptom": "port flapping", **body}
    answer = client.post("/api/v1/rmas", json=request, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _read(client: Any, headers: dict[str, str], number: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/rmas/{number}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _same_as_read_back(client: Any, headers: dict[str, str], opened: dict[str, Any]) -> None:
    read = _read(client, headers, opened["number"])
    # The clocks run on between the two answers: hours left are the only difference.
    for body in (opened, read):
        body.pop("due_in_hours")
    assert opened == read


def test_an_allocated_opening_answers_what_reading_it_back_answers(
    client, auth_for, account, make_part, stock_up
):
    part = make_part()
    stock_up("SH", part, 3)
    stock_up("BJ", part, 3)
    site_id = account("Suzhou", coverage="7x24").site.id
    headers = auth_for("engineer")
    for level in ("C-1", "C-2", "C-3"):
        opened = _open(client, headers, part_number=part, site_id=site_id, fault_level=level)
        assert opened["status"] == "allocated"
        assert [e["action"] for e in opened["events"]] == ["open", "approve", "allocate"]
        assert opened["allocation"]["alternatives"] and opened["escalations"] == []
        _same_as_read_back(client, headers, opened)


def test_a_far_or_empty_network_answers_at_risk_or_backorder_as_read_back(
    client, auth_for, account, make_part, stock_up
):
    headers = auth_for("engineer")
    far = make_part()
    stock_up("SY", far, 1)  # Shenyang to Kunming: a promise at risk
    site_id = account("Kunming").site.id
    at_risk = _open(client, headers, part_number=far, site_id=site_id, fault_level="C-2")
    assert at_risk["status"] == "allocated"
    _same_as_read_back(client, headers, at_risk)
    backorder = _open(client, headers, part_number=make_part(), site_id=site_id, fault_level="C-2")
    assert backorder["backorder"] is True and backorder["status"] == "approved"
    _same_as_read_back(client, headers, backorder)


def test_a_billable_opening_answers_its_price_as_read_back(
    client, auth_for, account, make_part, stock_up
):
    part = make_part()
    stock_up("SH", part, 2)
    site_id = account("Shanghai", coverage=None).site.id  # no contract: billable
    headers = auth_for("engineer")
    opened = _open(client, headers, part_number=part, site_id=site_id, fault_level="C-2")
    assert opened["status"] == "requested" and opened["approval_quote"] is not None
    _same_as_read_back(client, headers, opened)


def test_an_opening_by_serial_answers_as_read_back(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part()
    stock_up("GZ", part, 2)
    acct = account("Shenzhen")
    unit = install(acct, part)
    headers = auth_for("engineer")
    opened = _open(client, headers, serial=unit.serial, fault_level="C-1")
    assert opened["serial"] == unit.serial and opened["status"] == "allocated"
    _same_as_read_back(client, headers, opened)


def test_stored_alternatives_answer_as_their_views_as_dicts():
    raw = json.dumps(
        [
            {
                "depot": "SH",
                "part_number": "PN-1",
                "service": "emergency",
                "ships_at": "2026-12-06T08:00:00+00:00",
                "arrival": "2026-12-06T14:00:00+00:00",
                "cost": "1200.00",
                "meets_due": True,
                "chosen": True,
                "reason": "meets the due time",
                "reason_code": "meets_due",
                "reason_args": {"hours": 6, "depots": ["BJ", "GZ"]},
                "emergency": {
                    "ships_at": "2026-12-06T08:00:00+00:00",
                    "arrival": "2026-12-06T14:00:00+00:00",
                    "cost": "1200.00",
                    "booked": True,
                    "note": "booked",
                    "note_code": "booked",
                    "note_args": {"cost": "1200.00"},
                },
            },
            {"depot": "BJ", "meets_due": False, "reason": "no stock", "emergency": None},
        ]
    )
    expected = [asdict(view) for view in queries.alternatives_of(raw)]
    assert stored_alternatives(raw) == expected
