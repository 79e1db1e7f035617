"""The RMA API: the journeys through HTTP, the contract other tools rely on, the
rights of each role, and refusals that change nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import clock
from core.db import UnitOfWork
from inventory.service import ledger, queries
from rma.service import escalations, ladder

ENSURE_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "ensure-chromium.sh"
MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")
ALL_DEPOTS = {"BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"}


def _open(client, headers, serial, *, level="C-2", kind="advance_replacement", **extra):
    body = {"serial": serial, "fault_level": level, "kind": kind, "symptom": "no power", **extra}
    return client.post("/api/v1/rmas", json=body, headers=headers)


def _step(client, headers, number, action, body=None):
    return client.post(f"/api/v1/rmas/{number}/{action}", json=body, headers=headers)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        # Installs poppler-utils and the Chinese font on a fresh machine.
        subprocess.run(["sh", str(ENSURE_TOOLS)], capture_output=True, check=False)
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _available(engine, depot, part):
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0].available if rows else 0


# --- opening ----------------------------------------------------------------------------------


def test_an_entitled_replacement_answers_201_with_entitlement_due_and_allocation(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    stock_up("BJ", part, 1, serialized=True)
    unit = install(account("Suzhou"), part)
    headers = auth_for("engineer")
    with clock.frozen(MONDAY_10_SHANGHAI):
        answer = _open(client, headers, unit.serial)
    assert answer.status_code == 201, answer.get_json()
    rma = answer.get_json()
    assert re.match(r"^RMA-2026-\d{6}$", rma["number"])
    assert (rma["status"], rma["part_number"], rma["serial"]) == ("allocated", part, unit.serial)
    assert rma["reported_at"] == "2026-03-02T10:00:00+08:00"
    assert rma["entitlement"] == {
        "entitled": True,
        "reason": rma["entitlement"]["reason"],
        "phase": "in_warranty",
        "warranty_end": unit.warranty_end.isoformat(),
        "contract": rma["entitlement"]["contract"],
        "coverage": "5x8",
    }
    assert rma["entitlement"]["reason"].startswith("in warranty")
    assert rma["due"] == {
        "replacement_delivery": "2026-03-03T10:00:00+08:00",
        "repair_return": None,
        "defective_return": None,
    }
    assert rma["at_risk"] is False and rma["backorder"] is False
    allocation = rma["allocation"]
    assert (allocation["depot"], allocation["service"], allocation["part_number"]) == (
        "SH",
        "standard",
        part,
    )
    assert ISO_WITH_OFFSET.match(allocation["ships_at"])
    assert allocation["promised_delivery"] <= rma["due"]["replacement_delivery"]
    assert isinstance(allocation["cost"], (int, float)) and allocation["cost"] > 0
    alternatives = allocation["alternatives"]
    assert {a["depot"] for a in alternatives} == ALL_DEPOTS
    assert alternatives[0]["depot"] == "SH" and alternatives[0]["reason"] == "chosen"
    for alternative in alternatives:
        assert {"depot", "arrival", "cost", "meets_due", "reason"} <= alternative.keys()
    beijing = next(a for a in alternatives if a["depot"] == "BJ")
    assert ISO_WITH_OFFSET.match(beijing["arrival"]) and beijing["reason"] != "chosen"
    # Each reason also comes as a code with its arguments (what pages translate).
    assert alternatives[0]["reason_code"] == "chosen"
    assert beijing["reason_code"] == "costlier"
    assert float(beijing["reason_args"]["cost"]) == pytest.approx(beijing["cost"])
    guangzhou = next(a for a in alternatives if a["depot"] == "GZ")
    assert (guangzhou["reason_code"], guangzhou["reason_args"]) == ("no_stock", {})
    assert rma["allowed_actions"] == ["ship", "cancel"]
    assert rma["customer"]["name"].startswith("Customer")
    assert rma["site"]["city"]["name"] == "Suzhou" and rma["site"]["city"]["name_zh"] == "苏州"
    assert [e["action"] for e in rma["events"]] == ["open", "approve", "allocate"]
    assert rma["events"][0]["detail"]["kind"] == "advance_replacement"


def test_time_left_counts_down_and_goes_negative_when_overdue(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    headers = auth_for("engineer")
    with clock.frozen(MONDAY_10_SHANGHAI):
        number = _open(client, headers, install(account("Suzhou"), part).serial).get_json()[
            "number"
        ]
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=6)):
        hours = client.get(f"/api/v1/rmas/{number}", headers=headers).get_json()["due_in_hours"]
    assert hours == {"replacement_delivery": 18.0, "repair_return": None, "defective_return": None}
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=30)):
        rma = client.get(f"/api/v1/rmas/{number}", headers=headers).get_json()
    assert rma["due_in_hours"]["replacement_delivery"] == -6.0
    assert rma["due_met"]["replacement_delivery"] is None


def test_a_billable_rma_waits_for_a_supervisors_approval(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    unit = install(account("Chengdu", coverage=None), part, phase="out_of_warranty")
    answer = _open(client, auth_for("engineer"), unit.serial)
    assert answer.status_code == 201
    rma = answer.get_json()
    assert (rma["status"], rma["billable"], rma["allocation"]) == ("requested", True, None)
    assert rma["entitlement"]["entitled"] is False
    assert rma["due"]["replacement_delivery"] is None
    assert rma["allowed_actions"] == ["approve", "cancel"]
    refused = _step(client, auth_for("engineer"), rma["number"], "approve", {"confirm": True})
    assert refused.status_code == 403
    # The price to confirm: the part's unit cost and the shipping quote of the depot
    # the allocation would choose now.
    supervisor = auth_for("supervisor")
    quote = client.get(f"/api/v1/rmas/{rma['number']}", headers=supervisor).get_json()[
        "approval_quote"
    ]
    assert quote["depot"] == "CD" and quote["part_number"] == part and not quote["backorder"]
    assert quote["charge"] == pytest.approx(quote["unit_cost"] + quote["shipping"])
    assert quote["shipping"] > 0
    # Without an explicit confirmation nothing is approved.
    for body in (None, {}, {"confirm": False}, {"confirm": "yes"}):
        unconfirmed = _step(client, supervisor, rma["number"], "approve", body)
        assert unconfirmed.status_code == 422, body
        assert unconfirmed.get_json()["error"] == "invalid"
    assert _rma_of(client, supervisor, rma["number"])["status"] == "requested"
    approved = _step(
        client,
        supervisor,
        rma["number"],
        "approve",
        {
            "confirm": True,
            "comment": "customer accepted by phone",
            "confirmed_charge": quote["charge"],
        },
    )
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "allocated" and body["approval_quote"] is None
    assert body["allocation"]["depot"] == "CD"
    approval = next(e for e in body["events"] if e["action"] == "approve")
    assert approval["detail"]["comment"] == "customer accepted by phone"
    assert float(approval["detail"]["charge"]) == pytest.approx(quote["charge"])
    assert approval["detail"]["part_number"] == part
    again = _step(client, supervisor, rma["number"], "approve", {"confirm": True})
    assert again.status_code == 409
    assert again.get_json()["allowed"] == ["ship", "cancel"]


def test_an_approval_at_a_price_that_has_changed_is_refused_and_changes_nothing(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("CD", part, 1, serialized=True)
    unit = install(account("Chengdu", coverage=None), part, phase="out_of_warranty")
    number = _open(client, auth_for("engineer"), unit.serial).get_json()["number"]
    supervisor = auth_for("supervisor")
    charge = _rma_of(client, supervisor, number)["approval_quote"]["charge"]
    stale = _step(
        client, supervisor, number, "approve", {"confirm": True, "confirmed_charge": charge - 100}
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"] == "conflict"
    assert float(stale.get_json()["charge"]) == pytest.approx(charge)
    assert number in stale.get_json()["detail"] and "CNY" in stale.get_json()["detail"]
    assert _rma_of(client, supervisor, number)["status"] == "requested"


def _rma_of(client, headers, number):
    return client.get(f"/api/v1/rmas/{number}", headers=headers).get_json()


def test_an_rma_can_be_opened_by_part_number_and_site_when_the_serial_is_unknown(
    client, auth_for, account, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("WH", part, 1, serialized=True)
    acct = account("Wuhan")
    answer = client.post(
        "/api/v1/rmas",
        json={
            "part_number": part.lower(),
            "site_id": acct.site.id,
            "fault_level": "C-3",
            "kind": "advance_replacement",
            "symptom": "label unreadable, unit dead",
        },
        headers=auth_for("supervisor"),
    )
    assert answer.status_code == 201, answer.get_json()
    rma = answer.get_json()
    assert (rma["serial"], rma["part_number"], rma["site"]["id"]) == (None, part, acct.site.id)
    # A contract covers replacements without a known serial.
    assert rma["entitlement"]["entitled"] is True and rma["status"] == "allocated"


def test_no_stock_anywhere_answers_a_backorder_without_allocation(
    client, auth_for, account, install, make_part
):
    unit = install(account("Chengdu"), make_part(serialized=True))
    rma = _open(client, auth_for("engineer"), unit.serial).get_json()
    assert (rma["status"], rma["backorder"], rma["allocation"]) == ("approved", True, None)


def test_a_remote_site_that_no_depot_reaches_in_time_is_at_risk(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SY", part, 1, serialized=True)
    with clock.frozen(datetime(2026, 3, 6, 9, 30, tzinfo=UTC)):  # Friday 17:30 Shanghai
        rma = _open(
            client, auth_for("engineer"), install(account("Lhasa"), part).serial, level="C-3"
        ).get_json()
    assert rma["at_risk"] is True and rma["allocation"]["depot"] == "SY"
    assert rma["allocation"]["promised_delivery"] > rma["due"]["replacement_delivery"]
    assert rma["allocation"]["alternatives"][0]["meets_due"] is False


def test_opening_twice_with_the_same_idempotency_key_opens_one_rma(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("JN", part, 2, serialized=True)
    unit = install(account("Jinan"), part)
    headers = {**auth_for("engineer"), "Idempotency-Key": "open-1"}
    first = _open(client, headers, unit.serial)
    second = _open(client, headers, unit.serial)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["number"] == second.get_json()["number"]
    listed = client.get("/api/v1/rmas", headers=headers).get_json()
    assert [r["number"] for r in listed] == [first.get_json()["number"]]


def test_a_second_open_rma_for_the_same_serial_is_a_conflict(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("JN", part, 2, serialized=True)
    unit = install(account("Jinan"), part)
    number = _open(client, auth_for("engineer"), unit.serial).get_json()["number"]
    second = _open(client, auth_for("engineer"), unit.serial)
    assert second.status_code == 409 and number in second.get_json()["detail"]


# --- journeys -----------------------------------------------------------------------------------


def test_the_whole_advance_replacement_journey_through_the_api(
    client, engine, auth_for, account, install, make_part, stock_up, tmp_path
):
    part = make_part(serialized=True)
    serials = stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen"), part)
    # Tokens are issued before the clock is frozen in the past, so they stay valid.
    engineer, gz, sh = (
        auth_for("engineer"),
        auth_for("depot_staff", "GZ"),
        auth_for("depot_staff", "SH"),
    )
    with clock.frozen(MONDAY_10_SHANGHAI):
        number = _open(client, engineer, unit.serial, level="C-1").get_json()["number"]
    assert _available(engine, "GZ", part) == 0

    wrong_depot = _step(client, sh, number, "ship", {"serial": serials[0]})
    assert wrong_depot.status_code == 403
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=1)):
        shipped = _step(client, gz, number, "ship", {"serial": serials[0].lower()})
    assert shipped.status_code == 200, shipped.get_json()
    assert (shipped.get_json()["status"], shipped.get_json()["shipped_serial"]) == (
        "shipped",
        serials[0],
    )

    delivered_at = "2026-03-02T20:00:00+08:00"  # 10 hours after approval
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=12)):
        delivered = _step(client, engineer, number, "deliver", {"delivered_at": delivered_at})
    assert delivered.status_code == 200, delivered.get_json()
    rma = delivered.get_json()
    assert rma["delivered_at"] == delivered_at
    assert rma["due_met"]["replacement_delivery"] is True
    assert rma["due"]["defective_return"] == "2026-03-17T20:00:00+08:00"
    assert rma["allowed_actions"] == ["receive-defective", "cancel"]
    # Instants inside the history answer in Shanghai time too (they are stored in UTC).
    assert rma["events"][-1]["detail"] == {"delivered_at": delivered_at, "within_24h": True}

    elsewhere = _step(
        client,
        sh,
        number,
        "receive-defective",
        {"depot": "GZ", "serial": unit.serial},
    )
    assert elsewhere.status_code == 403
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(days=3)):
        received = _step(
            client,
            gz,
            number,
            "receive-defective",
            {"depot": "gz", "serial": unit.serial},
        )
    assert received.status_code == 200, received.get_json()
    assert received.get_json()["due_met"]["defective_return"] is True
    assert queries.stock(UnitOfWork(engine), depot="GZ", part_number=part)[0].defective == 1

    confirmed = _step(client, engineer, number, "confirm-cause", {"cause": "PSU failed"})
    assert confirmed.status_code == 200 and confirmed.get_json()["cause_confirmed_at"]
    closed = _step(
        client,
        engineer,
        number,
        "close",
        {"rating": 4, "remarks": "quick\nthanks", "signed_by": "Mr. Li 李"},
    )
    assert closed.status_code == 200, closed.get_json()
    rma = closed.get_json()
    assert (rma["status"], rma["rating"], rma["signed_by"], rma["remarks"]) == (
        "closed",
        4,
        "Mr. Li 李",
        "quick\nthanks",
    )
    assert rma["signed_at"] and rma["allowed_actions"] == []
    assert [e["action"] for e in rma["events"]] == [
        "open",
        "approve",
        "allocate",
        "ship",
        "deliver",
        "receive-defective",
        "confirm-cause",
        "close",
    ]
    assert ledger.check_books(UnitOfWork(engine)) == []

    pdf = client.get(f"/api/v1/rmas/{number}/service-record.pdf", headers=engineer)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert f'filename="{number}-service-record.pdf"' in pdf.headers["Content-Disposition"]
    printed = _pdf_text(pdf.data, tmp_path)
    assert number in printed and "Mr. Li" in printed and "深圳" in printed
    assert "NOT YET SIGNED" not in printed and "PSU failed" in printed


def test_the_repair_journey_through_the_api(client, auth_for, account, install, make_part):
    unit = install(account("Wuhan", coverage=None), make_part(serialized=True))
    wh, bj = auth_for("depot_staff", "WH"), auth_for("depot_staff", "BJ")
    rma = _open(client, auth_for("engineer"), unit.serial, kind="repair").get_json()
    number = rma["number"]
    assert (rma["status"], rma["allocation"]) == ("approved", None)
    assert rma["allowed_actions"] == ["receive-defective", "cancel"]
    received_at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 Shanghai
    with clock.frozen(received_at):
        rma = _step(
            client, wh, number, "receive-defective", {"depot": "WH", "serial": unit.serial}
        ).get_json()
    assert rma["status"] == "received"
    # 72 working hours of 5x8 = 9 working days: Friday 13 March, 10:00.
    assert rma["due"]["repair_return"] == "2026-03-13T10:00:00+08:00"
    assert _step(client, bj, number, "start-repair").status_code == 403
    for action, status in (
        ("start-repair", "in_repair"),
        ("finish-repair", "repaired"),
        ("return-repaired", "returned"),
    ):
        with clock.frozen(received_at + timedelta(days=2)):
            answer = _step(client, wh, number, action)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["status"] == status
    assert answer.get_json()["due_met"]["repair_return"] is True
    closed = _step(
        client, auth_for("supervisor"), number, "close", {"rating": 5, "signed_by": "Ms. Chen"}
    )
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


def test_the_loaner_journey_through_the_api(
    client, engine, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    serials = stock_up("XA", part, 1, serialized=True)
    unit = install(account("Xi'an", loaner=True), part)
    rma = _open(client, auth_for("engineer"), unit.serial, kind="loaner").get_json()
    number = rma["number"]
    assert rma["status"] == "allocated" and rma["allocation"]["depot"] == "XA"
    xa = auth_for("depot_staff", "XA")
    assert _step(client, xa, number, "ship", {"serial": serials[0]}).status_code == 200
    assert _step(client, xa, number, "deliver").status_code == 200
    back = _step(client, xa, number, "loaner-back", {"depot": "XA"})
    assert back.status_code == 200, back.get_json()
    rma = back.get_json()
    assert (rma["status"], rma["returned_serial"]) == ("back", serials[0])
    assert rma["due_met"]["defective_return"] is True
    assert queries.stock(UnitOfWork(engine), depot="XA", part_number=part)[0].quarantine == 1


def test_cancel_releases_the_reserved_unit(
    client, engine, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    number = _open(client, auth_for("engineer"), install(account("Xi'an"), part).serial).get_json()[
        "number"
    ]
    assert _available(engine, "XA", part) == 0
    cancelled = _step(client, auth_for("engineer"), number, "cancel", {"reason": "fixed itself"})
    assert cancelled.status_code == 200
    rma = cancelled.get_json()
    assert (rma["status"], rma["cancel_reason"], rma["allowed_actions"]) == (
        "cancelled",
        "fixed itself",
        [],
    )
    assert rma["due_in_hours"]["replacement_delivery"] is None
    assert _available(engine, "XA", part) == 1
    again = _step(client, auth_for("engineer"), number, "cancel", {"reason": "again"})
    assert again.status_code == 409
    assert again.get_json()["allowed"] == [] and again.get_json()["status"] == "cancelled"


def test_an_illegal_step_answers_409_with_the_allowed_steps_and_changes_nothing(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("BJ", part, 1, serialized=True)
    number = _open(
        client, auth_for("engineer"), install(account("Beijing"), part).serial
    ).get_json()["number"]
    for action, body, headers in (
        ("close", {"rating": 5, "signed_by": "X"}, auth_for("engineer")),
        ("deliver", None, auth_for("engineer")),
        ("receive-defective", {"depot": "BJ"}, auth_for("depot_staff", "BJ")),
        ("start-repair", None, auth_for("depot_staff", "BJ")),
        ("loaner-back", {"depot": "BJ"}, auth_for("depot_staff", "BJ")),
        ("approve", {"confirm": True}, auth_for("supervisor")),
    ):
        answer = _step(client, headers, number, action, body)
        assert answer.status_code == 409, (action, answer.get_json())
        error = answer.get_json()
        assert error["error"] == "conflict" and error["allowed"] == ["ship", "cancel"]
        assert error["status"] == "allocated"
    rma = client.get(f"/api/v1/rmas/{number}", headers=auth_for("engineer")).get_json()
    assert rma["status"] == "allocated" and len(rma["events"]) == 3


# --- reading ------------------------------------------------------------------------------------


def test_the_list_filters_by_status_depot_fault_level_open_and_mine(
    client, auth_for, make_user, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    stock_up("GZ", part, 1, serialized=True)
    me, colleague = auth_for("engineer"), auth_for("supervisor")
    shanghai = _open(client, me, install(account("Shanghai"), part).serial, level="C-1").get_json()
    guangzhou = _open(
        client, colleague, install(account("Guangzhou"), part).serial, level="C-3"
    ).get_json()
    repair = _open(client, me, install(account("Wuhan"), part).serial, kind="repair").get_json()
    _step(client, me, repair["number"], "cancel", {"reason": "duplicate"})

    def numbers(query: str, headers=me) -> list[str]:
        answer = client.get(f"/api/v1/rmas{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [r["number"] for r in answer.get_json()]

    everything = [repair["number"], guangzhou["number"], shanghai["number"]]
    assert numbers("") == everything  # newest first
    assert numbers("?status=allocated") == [guangzhou["number"], shanghai["number"]]
    assert numbers("?depot=gz") == [guangzhou["number"]]
    assert numbers("?fault_level=C-1") == [shanghai["number"]]
    assert numbers("?open=true") == [guangzhou["number"], shanghai["number"]]
    assert numbers("?mine=true") == [repair["number"], shanghai["number"]]
    assert numbers("?mine=true&open=true") == [shanghai["number"]]
    assert numbers("?mine=true", auth_for("depot_staff", "GZ")) == [guangzhou["number"]]
    assert numbers("?mine=true&depot=SH", auth_for("depot_staff", "GZ")) == []
    assert numbers("?limit=1&offset=1") == [guangzhou["number"]]
    assert numbers("", auth_for("planner")) == everything  # anyone signed in reads
    listed = client.get("/api/v1/rmas?limit=1", headers=me).get_json()[0]
    assert "events" not in listed and listed["site"]["city"]["name"] == "Wuhan"


def test_reading_needs_a_token(client):
    for path in ("/api/v1/rmas", "/api/v1/rmas/RMA-2026-000001", "/api/v1/customers"):
        assert client.get(path).status_code == 401


def test_an_unclosed_rma_prints_a_record_marked_not_yet_signed(
    client, auth_for, account, install, make_part, stock_up, tmp_path
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    number = _open(
        client, auth_for("engineer"), install(account("Shanghai"), part).serial
    ).get_json()["number"]
    answer = client.get(f"/api/v1/rmas/{number}/service-record.pdf", headers=auth_for("planner"))
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF-")
    printed = _pdf_text(answer.data, tmp_path)
    assert number in printed and "NOT YET SIGNED" in printed
    unknown = client.get(
        "/api/v1/rmas/RMA-2026-999999/service-record.pdf", headers=auth_for("planner")
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"


# --- escalations --------------------------------------------------------------------------------


def test_supervisors_see_and_acknowledge_escalations_once(
    client, engine, auth_for, account, install, make_part, stock_up
):
    ladder.seed_ladder(UnitOfWork(engine))
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    engineer = auth_for("engineer")
    with clock.frozen(MONDAY_10_SHANGHAI):
        number = _open(
            client, engineer, install(account("Shanghai"), part).serial, level="C-2"
        ).get_json()["number"]
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(hours=2)
    )
    assert [e.step for e in raised] == [1]

    assert client.get("/api/v1/escalations", headers=auth_for("engineer")).status_code == 403
    listed = client.get("/api/v1/escalations", headers=auth_for("supervisor"))
    assert listed.status_code == 200
    (item,) = listed.get_json()
    assert (item["rma"], item["step"], item["fault_level"], item["acknowledged_by"]) == (
        number,
        1,
        "C-2",
        None,
    )
    assert item["customer"]["name"].startswith("Customer")
    assert (
        client.get("/api/v1/escalations?fault_level=C-1", headers=auth_for("supervisor")).get_json()
        == []
    )

    path = f"/api/v1/escalations/{item['id']}/acknowledge"
    assert client.post(path, headers=auth_for("engineer")).status_code == 403
    too_long = client.post(path, json={"note": "x" * 501}, headers=auth_for("supervisor"))
    assert too_long.status_code == 422
    note = "called the site, spare on its way"
    acknowledged = client.post(path, json={"note": note}, headers=auth_for("supervisor"))
    assert acknowledged.status_code == 200, acknowledged.get_json()
    assert acknowledged.get_json()["acknowledged_by"] is not None
    assert acknowledged.get_json()["acknowledge_note"] == note
    twice = client.post(path, headers=auth_for("supervisor"))
    assert twice.status_code == 409 and twice.get_json()["error"] == "conflict"
    # The refusal names the case and the rung, never the escalation's internal id.
    assert f"{number} step 1 was already acknowledged by" in twice.get_json()["detail"]
    assert client.get("/api/v1/escalations", headers=auth_for("supervisor")).get_json() == []
    every = client.get("/api/v1/escalations?open=false", headers=auth_for("admin")).get_json()
    assert [e["id"] for e in every] == [item["id"]]
    rma = client.get(f"/api/v1/rmas/{number}", headers=auth_for("engineer")).get_json()
    assert rma["escalations"][0]["acknowledged_at"] is not None
    assert rma["escalations"][0]["acknowledge_note"] == note
    assert rma["events"][-1]["action"] == "acknowledge-escalation"
    assert rma["events"][-1]["detail"]["note"] == note
    history = client.get("/api/v1/escalations/acknowledged", headers=auth_for("supervisor"))
    assert [(e["rma"], e["step"], e["acknowledge_note"]) for e in history.get_json()] == [
        (number, 1, note)
    ]
    missing = client.post("/api/v1/escalations/999999/acknowledge", headers=auth_for("supervisor"))
    assert missing.status_code == 404


def test_every_rung_of_a_case_is_acknowledged_at_once_with_one_note(
    client, engine, auth_for, account, install, make_part
):
    ladder.seed_ladder(UnitOfWork(engine))
    engineer, supervisor = auth_for("engineer"), auth_for("supervisor")  # tokens of today
    with clock.frozen(MONDAY_10_SHANGHAI):
        number = _open(
            client,
            engineer,
            install(account("Wuhan"), make_part(serialized=True)).serial,
            level="C-1",
            kind="repair",
        ).get_json()["number"]
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(days=4)
    )
    assert sorted(e.step for e in raised) == [1, 2, 3]
    path = f"/api/v1/rmas/{number}/escalations/acknowledge"
    assert client.post(path, json={"note": "x"}, headers=engineer).status_code == 403
    done = client.post(path, json={"note": "HQ lab on it"}, headers=supervisor)
    assert done.status_code == 200, done.get_json()
    assert [(e["step"], e["acknowledge_note"]) for e in done.get_json()] == [
        (3, "HQ lab on it"),
        (2, "HQ lab on it"),
        (1, "HQ lab on it"),
    ]
    assert client.get("/api/v1/escalations", headers=supervisor).get_json() == []
    again = client.post(path, json={}, headers=supervisor)
    assert again.status_code == 409 and number in again.get_json()["detail"]
    unknown = client.post(
        "/api/v1/rmas/RMA-2026-999999/escalations/acknowledge", headers=supervisor
    )
    assert unknown.status_code == 404
    history = client.get("/api/v1/escalations/acknowledged?fault_level=C-1", headers=supervisor)
    assert sorted(e["step"] for e in history.get_json()) == [1, 2, 3]
    assert (
        client.get(
            "/api/v1/escalations/acknowledged?fault_level=C-2", headers=supervisor
        ).get_json()
        == []
    )
