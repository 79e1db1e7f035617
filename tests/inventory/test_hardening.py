"""The security probes' findings on the inventory's own surfaces: an optional body
that is not JSON ships nothing, the stock and ledger CSV escape formulas and keep
signed quantities numbers, and ``%`` and ``_`` in its searches match themselves.
The guards themselves are tested in ``tests/core/test_hardening.py``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from core.csv_files import FORMULA_STARTS


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _assert_nothing_runs(text: str) -> None:
    """No cell a spreadsheet would run: formula-like cells are escaped or plain numbers."""
    for row in _cells(text):
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                assert re.fullmatch(r"[+-]?\d+(\.\d+)?", cell), cell


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{not json", "application/json", 422),
        ('{"serials": ', "application/json", 422),
        ("\xff", "application/json", 422),
        ("serials=SN1", "application/x-www-form-urlencoded", 415),  # what curl -d sends
    ],
)
def test_a_body_that_is_not_json_ships_nothing(
    client: FlaskClient,
    auth_for: Callable[..., Any],
    make_part: Callable[..., str],
    stock_up: Callable[..., list[str]],
    raw: str,
    content_type: str,
    status: int,
) -> None:
    """An optional body used to read such a body as no body, and ship on its defaults."""
    part = make_part()
    stock_up("SH", part, 2)
    staff_sh = auth_for("depot_staff", "SH")
    drafted = client.post(
        "/api/v1/transfers",
        json={"from_depot": "SH", "to_depot": "BJ", "lines": [{"part_number": part, "qty": 1}]},
        headers=staff_sh,
    )
    assert drafted.status_code == 201, drafted.get_json()
    number = drafted.get_json()["id"]
    answer = client.post(
        f"/api/v1/transfers/{number}/ship",
        data=raw.encode("latin-1"),
        content_type=content_type,
        headers=staff_sh,
    )
    assert answer.status_code == status
    assert answer.get_json()["error"] in ("invalid", "unsupported_media_type")
    assert client.get(f"/api/v1/transfers/{number}", headers=staff_sh).get_json()["status"] == (
        "draft"
    )
    # An empty body is still no body: the optional body's defaults.
    shipped = client.post(
        f"/api/v1/transfers/{number}/ship",
        data="",
        content_type="application/json",
        headers=staff_sh,
    )
    assert shipped.status_code == 200, shipped.get_json()


def test_stock_and_ledger_csv_escape_formulas_and_keep_signed_quantities(
    client: FlaskClient,
    auth_for: Callable[..., Any],
    make_part: Callable[..., str],
    stock_up: Callable[..., list[str]],
) -> None:
    part = make_part(description='=HYPERLINK("http://evil.example","click")')
    stock_up("SH", part, 3)
    staff_sh = auth_for("depot_staff", "SH")
    adjusted = client.post(
        "/api/v1/stock/adjustments",
        json={"depot": "SH", "part_number": part, "qty": -1, "reason": "@dropped"},
        headers=staff_sh,
    )
    assert adjusted.status_code in (200, 201), adjusted.get_json()
    stock = client.get("/api/v1/stock.csv?depot=SH", headers=staff_sh).get_data(as_text=True)
    ledger = client.get(f"/api/v1/ledger.csv?part_number={part}", headers=staff_sh)
    ledger_text = ledger.get_data(as_text=True)
    for text in (stock, ledger_text):
        _assert_nothing_runs(text)
    (row,) = [r for r in _cells(stock) if r[1] == part]
    assert row[2] == '\'=HYPERLINK("http://evil.example","click")'
    rows = _cells(ledger_text)
    header = rows[0]
    quantities = {r[header.index("qty")] for r in rows[1:]}
    reasons = {r[header.index("reason")] for r in rows[1:]}
    assert "-1" in quantities  # the adjustment took one out: a number, not text
    assert "'@dropped" in reasons


def test_percent_and_underscore_in_searches_match_themselves(
    client: FlaskClient,
    auth_for: Callable[..., Any],
    login: Callable[..., Any],
    make_part: Callable[..., str],
    stock_up: Callable[..., list[str]],
) -> None:
    wild = make_part(serialized=True, description="fan tray 50%_x")
    plain = make_part(serialized=True, description="fan tray 500 x")
    for part in (wild, plain):
        stock_up("SH", part, 1, serialized=True)
    headers = auth_for("planner")

    def parts(search: str) -> set[str]:
        answer = client.get(f"/api/v1/parts?search={quote(search)}", headers=headers)
        return {p["part_number"] for p in answer.get_json()}

    def stock(search: str) -> set[str]:
        answer = client.get(f"/api/v1/stock?search={quote(search)}", headers=headers)
        return {row["part_number"] for row in answer.get_json()}

    for search in ("%", "_", "50%_", "0%"):
        assert parts(search) == {wild}, search
        assert stock(search) == {wild}, search
    assert parts("fan tray") == {wild, plain}
    login("planner")
    for page in ("/stock?q=%25_", "/units?q=_"):
        html = client.get(page).get_data(as_text=True)
        assert plain not in html, page
    assert wild in client.get("/stock?q=%25_").get_data(as_text=True)


def test_an_idempotency_key_tells_two_uploaded_files_apart(
    client: FlaskClient, auth_for: Callable[..., Any], make_part: Callable[..., str]
) -> None:
    """The request guards read multipart fields before the view: the body the
    idempotency fingerprint reads must still be the whole upload."""
    part = make_part()
    headers = {**auth_for("planner"), "Idempotency-Key": "two-files"}

    def upload(qty: int) -> Any:
        text = f"depot,part_number,qty\nSY,{part},{qty}\n"
        return client.post(
            "/api/v1/stock/import",
            data={"file": (io.BytesIO(text.encode()), "stock.csv")},
            content_type="multipart/form-data",
            headers=headers,
        )

    assert upload(6).status_code == 200
    assert upload(7).status_code == 422  # the same key for another file


def test_the_stock_move_page_takes_a_kind_in_its_query(
    client: FlaskClient, login: Callable[..., Any]
) -> None:
    """``/stock/move?kind=...`` used to be a 500 (the kind given twice to url_for)."""
    login("depot_staff", depot="SH")
    answer = client.get("/stock/move?kind=scrap&part_number=PN-1")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/stock/move/scrap?part_number=PN-1")
    assert client.get("/stock/move?kind=nonsense").status_code == 302
    assert client.get("/stock/move/nonsense").status_code == 404
    assert client.get("/stock/move").headers["Location"].endswith("/stock/move/adjust")
