"""CSV through the API: uploads (body or multipart) all-or-nothing, and downloads."""

from __future__ import annotations

import csv
import io

from core.db import UnitOfWork
from inventory.service import catalog, queries
from tests.inventory.conftest import new_serials

PARTS = (
    "part_number,description,family,serialized,unit_cost,superseded_by\n"
    "FAN-1,Fan tray,fan,no,80,FAN-2\n"
    "FAN-2,Fan tray v2,fan,no,95,\n"
)


def _parts(engine) -> list[str]:
    return [p.part_number for p in catalog.list_parts(UnitOfWork(engine))]


def test_parts_are_imported_from_a_text_csv_body(client, auth_for, engine):
    answer = client.post(
        "/api/v1/parts/import",
        data=PARTS.encode(),
        content_type="text/csv; charset=utf-8",
        headers=auth_for("planner"),
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["summary"] == "parts: 2 rows, 2 created, 0 updated, 0 unchanged"
    assert _parts(engine) == ["FAN-1", "FAN-2"]


def test_stock_is_imported_from_a_multipart_upload(client, auth_for, make_part, engine):
    part = make_part(serialized=True)
    serials = new_serials(2)
    text = f"depot,part_number,qty,serials\nJN,{part},2,{serials[0]};{serials[1]}\n"
    answer = client.post(
        "/api/v1/stock/import",
        data={"file": (io.BytesIO(text.encode("gb18030")), "opening.csv")},
        content_type="multipart/form-data",
        headers=auth_for("admin"),
    )
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["units"], answer.get_json()["created"]) == (2, 1)
    row = queries.stock(UnitOfWork(engine), depot="JN", part_number=part)[0]
    assert row.good == 2


def test_a_bad_upload_lists_every_problem_and_imports_nothing(client, auth_for, make_part, engine):
    part = make_part()
    text = f"depot,part_number,qty,colour\nBJ,{part},3,\nBJ,{part},three,\nMARS,{part},1,\n"
    answer = client.post(
        "/api/v1/stock/import", data=text, content_type="text/csv", headers=auth_for("planner")
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid"
    assert body["detail"].startswith("3 problem(s) on 3 line(s)")
    assert body["fields"] == [
        {
            "line": 1,
            "field": "colour",
            "message": "unknown column; the columns are "
            "depot, part_number, qty, serials, condition",
        },
        {"line": 3, "field": "qty", "message": "must be a whole number > 0"},
        {"line": 4, "field": "depot", "message": "unknown depot 'MARS'"},
    ]
    assert queries.stock(UnitOfWork(engine), part_number=part) == []


def test_uploads_need_csv_a_file_field_and_a_planner(client, auth_for, engine):
    planner = auth_for("planner")
    as_json = client.post("/api/v1/parts/import", json={"csv": PARTS}, headers=planner)
    assert as_json.status_code == 415
    assert as_json.get_json()["error"] == "unsupported_media_type"
    no_file = client.post(
        "/api/v1/parts/import",
        data={"other": "x"},
        content_type="multipart/form-data",
        headers=planner,
    )
    assert no_file.status_code == 422
    binary = client.post(
        "/api/v1/parts/import",
        data=b"\xff\xfe\x00\x81\x30",
        content_type="text/csv",
        headers=planner,
    )
    assert binary.status_code == 422
    staff = client.post(
        "/api/v1/parts/import",
        data=PARTS,
        content_type="text/csv",
        headers=auth_for("depot_staff", "BJ"),
    )
    assert staff.status_code == 403
    assert _parts(engine) == []


def test_a_replayed_import_answers_again_and_writes_once(client, auth_for, make_part, engine):
    part = make_part()
    headers = {**auth_for("planner"), "Idempotency-Key": "opening-stock"}
    text = f"depot,part_number,qty\nSY,{part},6\n"
    first = client.post("/api/v1/stock/import", data=text, content_type="text/csv", headers=headers)
    second = client.post(
        "/api/v1/stock/import", data=text, content_type="text/csv", headers=headers
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert queries.stock(UnitOfWork(engine), depot="SY", part_number=part)[0].good == 6
    other = client.post(
        "/api/v1/stock/import",
        data={"file": (io.BytesIO(f"depot,part_number,qty\nSY,{part},7\n".encode()), "x.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert other.status_code == 422
    assert queries.stock(UnitOfWork(engine), depot="SY", part_number=part)[0].good == 6


def test_stock_and_ledger_download_as_csv(client, auth_for, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 3)
    stock_up("SH", part, 1)
    reader = auth_for("engineer")
    stock = client.get("/api/v1/stock.csv?depot=bj", headers=reader)
    assert stock.status_code == 200
    assert stock.mimetype == "text/csv"
    assert 'filename="stock-BJ-' in stock.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(stock.get_data(as_text=True))))
    assert [(r["depot"], r["part_number"], r["good"]) for r in rows] == [("BJ", part, "3")]
    entries = client.get(f"/api/v1/ledger.csv?part_number={part}", headers=reader)
    lines = list(csv.DictReader(io.StringIO(entries.get_data(as_text=True))))
    assert [(r["depot"], r["qty"]) for r in lines] == [("BJ", "3"), ("SH", "1")]
    assert client.get("/api/v1/stock.csv?depot=ZZ", headers=reader).status_code == 404
    assert client.get("/api/v1/ledger.csv?part_number=NO-SUCH", headers=reader).status_code == 404
