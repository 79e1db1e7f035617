"""The RMA pages in the reader's language: Simplified Chinese for a Chinese reader,
English otherwise, the API always English. Names with a Chinese form come Chinese
first; stored system text (statuses, kinds, history details, reasons) reads as
words of the reader's language, never as codes; refusals and messages name the case.
E-mails go out in each recipient's language whatever the page that caused them."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core import auth, clock
from core.db import UnitOfWork, transactional
from rma.models import Notification
from rma.service import customers, escalations, ladder, lifecycle, promises
from tests.conftest import csrf_token
from tests.rma.test_pages import MONDAY_10_SHANGHAI, _html, _open, _rma, _row, _switch
from tests.rma.test_service_record import poppler  # noqa: F401  (the fixture: pdftotext)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
MONDAY_19_SHANGHAI = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # after the 18:00 pick-up


def _zh_post(client, path: str, data: dict, *, form_path: str):
    token = csrf_token(client, form_path)
    return client.post(path, data={"csrf_token": token, **data}, headers=ZH)


def _chinese_unit(engine, supervisor, part: str, city: str = "Shanghai"):
    """An installed unit of ``part`` at the site of a customer with a Chinese name."""
    today = clock.local(clock.now()).date()
    customer = customers.create_customer(
        UnitOfWork(engine), supervisor, "BOSH", "Bank of Shanghai", name_zh="上海银行"
    )
    site = customers.create_site(UnitOfWork(engine), supervisor, customer.id, "Pudong DC", city)
    return customers.create_installed_unit(
        UnitOfWork(engine),
        supervisor,
        "BOSH00000001",
        part,
        site.id,
        today - timedelta(days=30),
        today + timedelta(days=300),
    )


def test_a_case_reads_in_chinese_with_chinese_names_first_and_labels_not_codes(
    client, login, engine, engineer, supervisor, staff, make_part, stock_up
):
    part = make_part(serialized=True)
    [serial] = stock_up("SH", part, 1, serialized=True)
    unit = _chinese_unit(engine, supervisor, part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, unit)
        lifecycle.ship(UnitOfWork(engine), staff("SH"), rma.number, serial)
    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=5)):
        lifecycle.deliver(UnitOfWork(engine), engineer, rma.number)
    _switch(client, login, "engineer")

    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=6)):
        html = _html(client.get(f"/rmas/{rma.number}", headers=ZH))
    assert '<html lang="zh-Hans-CN">' in html
    assert '上海银行 <span class="muted">Bank of Shanghai</span>' in html
    assert '上海 <span class="muted">Shanghai</span>' in html
    assert 'data-testid="status">已送达<' in html
    assert "批准后 24 小时内送达替换件" in html and "整机先行更换" in html
    delivered = _row(html, "history-deliver")
    assert "已送达" in delivered and "24 小时内</b> 是" in delivered
    assert "已分配 → 已发运" in _row(html, "history-ship")
    assert "已选定" in _row(html, "alternative-SH")
    for code in ("within_24h", "advance_replacement", "defective_received", "within 24 hours"):
        assert code not in html, code

    with clock.frozen(MONDAY_10_SHANGHAI + timedelta(hours=6)):
        english = _html(client.get(f"/rmas/{rma.number}"))
    assert '<html lang="en">' in english and "Bank of Shanghai" in english
    assert "within 24 hours</b> yes" in _row(english, "history-deliver")
    assert "allocated → shipped" in _row(english, "history-ship")


def test_refusals_form_errors_and_messages_speak_the_readers_language(
    client, login, engine, auth_for, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, install(account("Shanghai"), part))
    headers = auth_for("engineer")
    _switch(client, login, "engineer")
    page = f"/rmas/{rma.number}"

    refused = _zh_post(client, f"{page}/deliver", {}, form_path=page)
    html = _html(refused)
    assert refused.status_code == 409
    assert "未做任何更改。" in html and f"{rma.number} 当前状态为“已分配”" in html
    assert "当前可执行：发运, 取消。" in html
    # The API says the same in English, whatever the client's language.
    api = client.post(f"/api/v1/rmas/{rma.number}/deliver", headers={**headers, **ZH})
    assert api.status_code == 409 and "cannot deliver" in api.get_json()["detail"]
    assert api.get_json()["error"] == "conflict"

    unsure = _zh_post(client, f"{page}/cancel", {"reason": " "}, form_path=page)
    assert unsure.status_code == 422 and "原因：为什么取消工单？" in _html(unsure)
    assert _rma(engine, rma.number).status == "allocated"

    done = _zh_post(client, f"{page}/cancel", {"reason": "客户已自行修复"}, form_path=page)
    assert done.status_code == 302
    assert f"{rma.number} 已取消；其预留的库存均已释放。" in _html(client.get(page, headers=ZH))


def test_a_c1_case_says_whether_the_emergency_courier_was_booked_and_why_not(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    # Harbin at 19:00, stock only in Beijing: the standard carrier leaves tomorrow
    # morning and arrives after the due time; the emergency courier leaves now.
    far = make_part(serialized=True)
    stock_up("BJ", far, 1, serialized=True)
    with clock.frozen(MONDAY_19_SHANGHAI):
        booked = _open(engine, engineer, install(account("Harbin"), far), level="C-1")
    assert (booked.depot_code, booked.service) == ("BJ", "emergency")
    # Shanghai at 10:00, stock in Shanghai: standard service keeps the promise.
    near = make_part(serialized=True)
    stock_up("SH", near, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        standard = _open(engine, engineer, install(account("Shanghai"), near), level="C-1")
        nothing = _open(
            engine, engineer, install(account("Shanghai"), make_part(serialized=True)), level="C-1"
        )
        routine = _open(engine, engineer, install(account("Shanghai"), near), level="C-2")
    assert standard.service == "standard" and nothing.backorder
    _switch(client, login, "engineer")

    def courier(number: str, headers=None) -> str:
        html = _html(client.get(f"/rmas/{number}", headers=headers or {}))
        match = re.search(r'<p class="courier[^"]*"[^>]*>.*?</p>', html, re.S)
        return match.group(0) if match else ""

    used = courier(booked.number)
    assert 'data-state="used"' in used and "booked from BJ" in used
    assert "sooner than standard service" in used
    assert "紧急快递（C-1）：" in courier(booked.number, ZH) and "已从 BJ 预订" in courier(
        booked.number, ZH
    )
    declined = courier(standard.number)
    assert 'data-state="declined"' in declined
    # Still so once it missed its pick-up: the live re-quote then offers the courier
    # (it is after the cut-off), which is not a booking.
    with clock.frozen(MONDAY_19_SHANGHAI):
        lapsed = courier(standard.number)
    assert 'data-state="declined"' in lapsed and "booked from" not in lapsed
    assert "considered, not booked: standard service from SH meets the due time." in declined
    assert "已考虑，未预订：SH 的标准快递可按时送达" in courier(standard.number, ZH)
    assert 'data-state="backorder"' in courier(nothing.number)
    assert courier(routine.number) == ""  # only C-1 cases may book the courier


def test_the_supervisors_pages_read_in_chinese(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    ladder.seed_ladder(UnitOfWork(engine))
    part = make_part(serialized=True)
    stock_up("GZ", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        billable = _open(
            engine,
            engineer,
            install(account("Shenzhen", coverage=None), part, phase="out_of_warranty"),
        )
        late = _open(engine, engineer, install(account("Wuhan"), part), level="C-1", kind="repair")
    raised = escalations.raise_due_escalations(
        UnitOfWork(engine), MONDAY_10_SHANGHAI + timedelta(hours=3)
    )
    first = next(e for e in raised if e.rma_id == late.id and e.step == 1)
    _switch(client, login, "supervisor")

    approvals = _html(client.get("/escalations/approvals", headers=ZH))
    row = _row(approvals, f"approval-{billable.number}")
    assert "待审批的收费工单" in approvals and "质保已于" in row and "客户接受" in row
    waiting = _html(client.get("/escalations", headers=ZH))
    assert "已触发、尚未接手" in waiting and "区域服务主管" in waiting and "第 1 级" in waiting
    done = _zh_post(
        client,
        f"/escalations/{first.id}/acknowledge",
        {"note": "已安排工程师上门"},
        form_path="/escalations",
    )
    assert done.status_code == 302
    message = _html(client.get("/escalations", headers=ZH))
    assert f"{late.number} 第 1 级已确认：由您接手。" in message
    taken = _html(client.get("/escalations/acknowledged", headers=ZH))
    assert "已接手的升级" in taken and "已安排工程师上门" in taken
    ladder_page = _html(client.get("/escalations/ladder", headers=ZH))
    assert "升级阶梯" in ladder_page and "总部服务总监" in ladder_page


@pytest.mark.usefixtures("poppler")
def test_the_service_record_prints_in_the_language_of_whoever_prints_it(
    client, login, auth_for, engine, engineer, account, install, make_part, stock_up, tmp_path
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, install(account("Shanghai"), part))

    def text_of(pdf: bytes, name: str) -> str:
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return done.stdout.decode()

    headers = auth_for("engineer")
    _switch(client, login, "engineer")
    chinese = text_of(client.get(f"/rmas/{rma.number}/service-record.pdf", headers=ZH).data, "zh")
    for words in ("服务记录单", "客户评价", "故障等级", "尚未签字", "整机先行更换"):
        assert words in chinese, words
    english = text_of(client.get(f"/rmas/{rma.number}/service-record.pdf").data, "en")
    assert "The customer's verdict" in english and "客户评价" not in english
    api = client.get(
        f"/api/v1/rmas/{rma.number}/service-record.pdf", headers={**headers, **ZH}
    ).data
    assert "Fault level" in text_of(api, "api") and "故障等级" not in text_of(api, "api")


@transactional
def _set_language(uow, username: str, language: str) -> None:
    uow.session.execute(
        update(auth.User).where(auth.User.username == username).values(language=language)
    )


def test_an_email_goes_out_in_its_recipients_language_whatever_the_pages_language(
    client, login, engine, account, install, make_part, stock_up
):
    english = auth.create_user(
        UnitOfWork(engine), "sup-en", "test-password-1", "supervisor", email="en@desk.example"
    )
    chinese = auth.create_user(
        UnitOfWork(engine), "sup-zh", "test-password-1", "supervisor", email="zh@desk.example"
    )
    _set_language(UnitOfWork(engine), english.username, "en")
    _set_language(UnitOfWork(engine), chinese.username, "zh_CN")
    part = make_part(serialized=True)
    stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen", coverage=None), part, phase="out_of_warranty")
    _switch(client, login, "engineer")
    opened = _zh_post(
        client,
        "/rmas/new",
        {
            "unit": unit.serial,
            "fault_level": "C-2",
            "kind": "advance_replacement",
            "symptom": "无电",
        },
        form_path=f"/rmas/new?q={unit.serial}",
    )
    assert opened.status_code == 302
    number = opened.headers["Location"].rsplit("/", 1)[1]
    assert "收费" in _html(client.get(opened.headers["Location"], headers=ZH))
    with engine.connect() as connection:
        mails = {
            row.to_address: row
            for row in connection.execute(
                select(Notification.to_address, Notification.subject, Notification.body).where(
                    Notification.kind == "approval_needed"
                )
            )
        }
    assert mails["en@desk.example"].subject == (
        f"{number}: billable advance replacement needs approval"
    )
    assert "Price if approved now:" in mails["en@desk.example"].body
    assert mails["zh@desk.example"].subject == f"{number}：收费的整机先行更换待审批"
    assert "现在批准的费用：" in mails["zh@desk.example"].body
    assert f"/rmas/{number}" in mails["zh@desk.example"].body


def test_a_lapsed_promise_reads_in_words_in_the_allocation_and_the_history(
    client, login, engine, engineer, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("SH", part, 1, serialized=True)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _open(engine, engineer, install(account("Shanghai"), part))
    later = MONDAY_10_SHANGHAI + timedelta(hours=9)  # the 18:00 collection went without it
    assert promises.refresh_promises(UnitOfWork(engine), later) == [rma.number]
    pick_up = f"{clock.local(rma.ship_by):%Y-%m-%d %H:%M}"
    _switch(client, login, "engineer")
    with clock.frozen(later):
        html = _html(client.get(f"/rmas/{rma.number}", headers=ZH))
        english = _html(client.get(f"/rmas/{rma.number}"))
    state = re.search(r'data-testid="promise-state">([^<]+)<', html)
    assert state and state.group(1) == f"有风险：未在承诺的取件时间 {pick_up} 前发运"
    lapsed = _row(html, "history-promise-lapsed")
    assert "承诺逾期未兑现" in lapsed and f"未在承诺的取件时间 {pick_up} 前发运" in lapsed
    assert "系统" in lapsed  # the scheduled run, not a person
    assert f"not shipped by {pick_up}, the promised pick-up" in _row(
        english, "history-promise-lapsed"
    )
