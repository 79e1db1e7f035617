"""The inventory in Chinese and English: pages, flashes, form errors and the refusals
of the services in the reader's language; the API and the CLI stay English with
stable error codes; the transfer note prints in the reader's language; a transfer
is T2 everywhere (pages, URLs, the ledger's CSV, the note's file name)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from core.db import UnitOfWork
from inventory.service import transfers
from inventory.service.transfers import LineIn
from tests.conftest import csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en"}


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _post(client, path: str, data: dict, form_path: str, headers=CHINESE):
    token = csrf_token(client, form_path)
    return client.post(path, data={"csrf_token": token, **data}, headers=headers)


def test_the_stock_page_speaks_the_readers_language(client, login, make_part, stock_up):
    stock_up("BJ", make_part(), 3)
    login("depot_staff", depot="BJ")
    chinese = _html(client.get("/stock", headers=CHINESE))
    assert "BJ 库存" in chinese and "查找单件" in chinese and "可用" in chinese
    assert "Find a unit" not in chinese
    english = _html(client.get("/stock", headers=ENGLISH))
    assert "Stock at BJ" in english and "Find a unit" in english


def test_form_errors_and_refusals_are_chinese_on_the_page_english_in_the_api(
    client, login, auth_for, engine, make_part, stock_up, staff
):
    part = make_part()
    stock_up("BJ", part, 1)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 5)])
    login("depot_staff", depot="BJ")
    path = f"/transfers/T{view.transfer.id}"
    # A service's refusal (insufficient stock), raised while the page asked: Chinese.
    response = _post(client, f"{path}/ship", {}, path)
    assert response.status_code == 409
    html = _html(response)
    assert "未做任何更改。" in html and "可用良品只有 0 件" not in html
    assert "BJ 的" in html and "需要 5" in html
    # The same refusal over the API: English, with its stable code, whatever the browser says.
    api = client.post(
        f"/api/v1/transfers/{view.transfer.id}/ship",
        headers={**auth_for("depot_staff", "BJ"), **CHINESE},
    )
    body = api.get_json()
    assert api.status_code == 409 and body["error"] == "insufficient_stock"
    assert body["detail"].isascii() and "needed" in body["detail"]
    # A form error of the page itself (a blank part number line): Chinese.
    response = _post(
        client,
        "/transfers/new",
        {"from_depot": "BJ", "to_depot": "SH", "part_number": ["", part], "qty": ["2", "x"]},
        "/transfers/new",
    )
    assert response.status_code == 422 and "第 1 行：请输入备件编号" in _html(response)


def test_an_empty_receipt_is_refused_in_chinese_and_confirmed_all_arrived_works(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part()
    stock_up("BJ", part, 2)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 2)])
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    login("depot_staff", depot="SH")
    path = f"/transfers/T{view.transfer.id}"
    response = _post(client, f"{path}/receive", {}, path)
    assert response.status_code == 422
    assert "勾选“全部按发运到货”" in _html(response)
    assert transfers.get_transfer(UnitOfWork(engine), view.transfer.id).transfer.status == "shipped"
    response = _post(client, f"{path}/receive", {"all_arrived": "1"}, path)
    assert response.status_code == 302
    assert "已按发运全部收货" in _html(client.get(path, headers=CHINESE))


def test_the_cli_speaks_english(app, engine, make_part, stock_up, staff):
    part = make_part()
    stock_up("BJ", part, 1)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    result = app.test_cli_runner().invoke(
        args=["transfers", "receive", f"T{view.transfer.id}", "--as-shipped"]
    )
    assert result.exit_code == 4 and "only a shipped one arrives" in result.output


@pytest.fixture(scope="module")
def pdftotext() -> str:
    found = shutil.which("pdftotext")
    if found is None:
        tools = Path(__file__).resolve().parents[2] / "tools" / "ensure-chromium.sh"
        subprocess.run(["sh", str(tools)], capture_output=True, check=False)
        found = shutil.which("pdftotext")
    if found is None:
        pytest.fail("this test needs pdftotext (poppler-utils)")
    return found


def _pdf_text(pdftotext: str, data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "note.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_the_transfer_note_prints_in_the_readers_language(
    client, login, engine, make_part, stock_up, staff, pdftotext, tmp_path
):
    part = make_part(serialized=True)
    stock_up("BJ", part, 1, serialized=True)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    login("planner")
    note = client.get(f"/transfers/T{view.transfer.id}/note.pdf", headers=CHINESE)
    assert note.status_code == 200
    assert f'filename="transfer-T{view.transfer.id}.pdf"' in note.headers["Content-Disposition"]
    chinese = _pdf_text(pdftotext, note.data, tmp_path)
    assert "调拨单" in chinese and "收货人" in chinese and "已发运" in chinese
    assert "北京" in chinese and f"T{view.transfer.id}" in chinese
    english = _pdf_text(
        pdftotext,
        client.get(f"/transfers/{view.transfer.id}/note.pdf", headers=ENGLISH).data,
        tmp_path,
    )
    assert "Transfer note" in english and "Received by" in english and "shipped" in english


def test_a_transfer_is_t_and_its_id_in_the_ledger_csv_and_urls(
    client, login, engine, make_part, stock_up, staff
):
    part = make_part()
    stock_up("BJ", part, 1)
    view = transfers.create_transfer(UnitOfWork(engine), staff("BJ"), "BJ", "SH", [LineIn(part, 1)])
    transfers.ship_transfer(UnitOfWork(engine), staff("BJ"), view.transfer.id)
    login("depot_staff", depot="BJ")
    code = f"T{view.transfer.id}"
    rows = list(csv.DictReader(io.StringIO(client.get(f"/ledger.csv?part_number={part}").text)))
    assert {row["reference"] for row in rows if row["kind"] == "transfer_ship"} == {code}
    html = _html(client.get(f"/ledger?part_number={part}"))
    assert f'href="/transfers/{code}">{code}</a>' in html
    assert client.get(f"/transfers/{code.lower()}").status_code == 200
    assert client.get(f"/transfers/{view.transfer.id}").status_code == 200
    assert client.get("/transfers/X1").status_code == 404
