"""The service record PDF: a real A4 PDF with the RMA number, barcode, customer,
site and city (in Chinese), the promises and whether each was kept, the history
in Shanghai time, the customer's verdict and signature block; pages that are not
blank; more pages for long histories; unsigned records marked as such."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import core.pdf
from depots.models import City
from rma.documents import render_service_record
from rma.models import Customer, Rma, RmaEvent, Site
from rma.service.promises import commitments
from rma.service.queries import RmaView

REPO_ROOT = Path(__file__).resolve().parents[2]
ENSURE_TOOLS = REPO_ROOT / "tools" / "ensure-chromium.sh"  # installs poppler-utils and the font
REPORTED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
URUMQI = City(id=7, name="Urumqi", name_zh="乌鲁木齐", province="Xinjiang", lat=43.8, lon=87.6)


@pytest.fixture(scope="module")
def poppler() -> None:
    """pdftoppm/pdftotext (poppler-utils), installed on first use when missing."""
    if shutil.which("pdftoppm") is None:
        subprocess.run(["sh", str(ENSURE_TOOLS)], capture_output=True, check=False)
    if shutil.which("pdftoppm") is None:
        pytest.fail("these tests need poppler-utils (pdftoppm); run tools/ensure-chromium.sh")


def _event(n: int, action: str, before: str | None, after: str, **detail: object) -> RmaEvent:
    return RmaEvent(
        id=n,
        rma_id=1,
        at=REPORTED + timedelta(hours=n),
        actor="eng-wang" if action != "ship" else "staff-xa",
        action=action,
        from_status=before,
        to_status=after,
        detail=json.dumps(detail),
    )


def _view(*, closed: bool = True, late: bool = False, extra_events: int = 0) -> RmaView:
    delivered = REPORTED + timedelta(hours=30 if late else 20)
    rma = Rma(
        id=1,
        number="RMA-2026-000042",
        customer_id=1,
        site_id=1,
        serial="FX2201000123",
        part_number="SW-48P-10G",
        fault_level="C-1",
        kind="advance_replacement",
        symptom="Switch reboots every few minutes.\nFans at full speed.",
        status="closed" if closed else "delivered",
        reported_by="eng-wang",
        entitled=True,
        entitlement_reason="in warranty until 2026-12-31",
        phase="in_warranty",
        warranty_end=date(2026, 12, 31),
        coverage="7x24",
        reported_at=REPORTED,
        approved_at=REPORTED,
        approved_by="eng-wang",
        allocated_at=REPORTED,
        shipped_at=REPORTED + timedelta(hours=2),
        delivered_at=delivered,
        due_replacement=REPORTED + timedelta(hours=24),
        due_defective_return=delivered + timedelta(days=15),
        depot_code="XA",
        ship_part_number="SW-48P-10G",
        service="standard",
        promised_delivery=REPORTED + timedelta(hours=18),
        shipping_cost=Decimal("1180.50"),
        shipped_serial="XA2101009999",
    )
    events = [
        _event(1, "open", None, "requested", fault_level="C-1", kind="advance_replacement"),
        _event(2, "approve", "requested", "approved", automatic=True),
        _event(3, "allocate", "approved", "allocated", depot="XA", service="standard"),
        _event(4, "ship", "allocated", "shipped", serial="XA2101009999", depot="XA"),
        _event(
            5,
            "deliver",
            "shipped",
            "delivered",
            delivered_at=delivered.isoformat(),
            within_24h=True,
        ),
    ]
    for n in range(extra_events):
        events.append(_event(6 + n, "note", "delivered", "delivered", text=f"follow-up call {n}"))
    if closed:
        rma.defective_received_at = delivered + timedelta(days=3)
        rma.return_depot, rma.returned_serial = "XA", "FX2201000123"
        rma.rating, rma.remarks, rma.signed_by = 4, "Fast, friendly; 很好", "Li Wei 李伟"
        rma.signed_at = rma.closed_at = delivered + timedelta(days=4)
        events += [
            _event(90, "receive-defective", "delivered", "defective_received", depot="XA"),
            _event(91, "close", "defective_received", "closed", rating=4, signed_by="Li Wei"),
        ]
    customer = Customer(id=1, code="XJ-GRID", name="Xinjiang Grid", name_zh="新疆电网")
    site = Site(id=1, customer_id=1, name="Urumqi DC 2", city_id=7, address="Wall Rd 1")
    return RmaView(rma, customer, site, events)


def _render(view: RmaView, tmp_path: Path, **kwargs: object) -> Path:
    pdf = render_service_record(
        view,
        city=URUMQI,
        contract="K-XJ-7X24",
        part_description="48-port 10G switch",
        printed_at=REPORTED + timedelta(days=6),
        **kwargs,
    )
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    return path


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


# A page with only its header, footer and a few lines still has some ink; a blank one none.
MIN_INK = 0.004


def _page_inks(tmp_path: Path, path: Path) -> list[float]:
    """For each page rendered at 40 dpi in grey: the share of clearly non-white pixels."""
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(path), str(tmp_path / "page")], check=True)
    inks = []
    for page in sorted(tmp_path.glob("page-*.pgm")):
        data = page.read_bytes()
        # P5 header: magic, width, height, maxval, each followed by one whitespace byte.
        header = data.split(maxsplit=4)
        width, height = int(header[1]), int(header[2])
        pixels = data[len(data) - width * height :]
        assert (width, height) == (331, 468)  # A4 at 40 dpi
        inks.append(sum(1 for value in pixels if value < 160) / len(pixels))
    return inks


def test_signed_record_names_number_customer_site_unit_and_signer(tmp_path, poppler):
    text = _text(_render(_view(), tmp_path))
    for expected in (
        "RMA-2026-000042",
        "Xinjiang Grid",
        "Urumqi DC 2",
        "FX2201000123",
        "SW-48P-10G",
        "48-port 10G switch",
        "C-1",
        "Advance replacement",
        "K-XJ-7X24",
        "7x24",
        "Li Wei",
        "Fast, friendly",
    ):
        assert expected in text, expected
    assert re.search(r"4\s*/\s*5", text)  # the rating, next to its four filled stars
    assert "NOT YET SIGNED" not in text


def test_chinese_names_of_customer_city_and_signer_print_when_the_font_is_present(
    tmp_path, poppler
):
    if not core.pdf.CJK_FONT_PATH.is_file():
        pytest.skip(f"{core.pdf.CJK_FONT_PATH} missing; tools/ensure-chromium.sh installs it")
    text = _text(_render(_view(), tmp_path))
    for expected in ("乌鲁木齐", "新疆电网", "李伟", "很好", "服务记录单"):
        assert expected in text, expected


def test_history_and_signature_times_print_in_asia_shanghai(tmp_path, poppler):
    text = _text(_render(_view(), tmp_path))
    assert "2026-03-02 11:00" in text  # the "open" event, 03:00 UTC
    assert "2026-03-02 10:00" in text  # reported, 02:00 UTC
    # delivered 20 h after the report; signed four days later: 2026-03-07 06:00 Shanghai
    assert "2026-03-07 06:00" in text


def test_promises_say_met_or_missed(tmp_path, poppler):
    on_time = _text(_render(_view(), tmp_path))
    assert "delivered within 24 hours" in on_time and "MET" in on_time
    assert re.search(r"not applicable to this\s+kind of\s+service", on_time)  # repair
    late_dir = tmp_path / "late"
    late_dir.mkdir()
    late = _text(_render(_view(late=True), late_dir))
    assert "MISSED by 6 h" in late


def test_open_promises_say_how_much_time_is_left_or_how_overdue(tmp_path, poppler):
    view = _view(closed=False)
    state = {p.key: p for p in commitments(view.rma, view.rma.delivered_at + timedelta(days=16))}
    assert state["replacement_delivery"].met is True
    assert state["defective_return"].met is None
    assert state["defective_return"].hours_left == -24.0
    assert state["repair_return"].applicable is False and state["repair_return"].due is None
    text = _text(_render(view, tmp_path))  # printed 6 days after the report
    # Due 15 days after the delivery (20 h after the report); printed 6 days after the report.
    assert "open, 9 d 20 h left" in text


def test_an_unclosed_record_prints_marked_not_yet_signed(tmp_path, poppler):
    text = _text(_render(_view(closed=False), tmp_path))
    assert text.count("NOT YET SIGNED") >= 3  # page header, title block, verdict
    assert not re.search(r"4\s*/\s*5", text) and "Li Wei" not in text
    assert "Rating (circle one)" in text


def test_pages_render_and_are_not_blank(tmp_path, poppler):
    inks = _page_inks(tmp_path, _render(_view(), tmp_path))
    assert inks and all(ink > MIN_INK for ink in inks)


def test_a_long_history_continues_on_more_pages(tmp_path, poppler):
    path = _render(_view(extra_events=150), tmp_path)
    inks = _page_inks(tmp_path, path)
    assert len(inks) >= 3 and all(ink > MIN_INK for ink in inks)
    text = _text(path)
    pages = text.split("\f")
    assert f"Page 2 of {len(inks)}" in pages[1]
    assert "Detail" in pages[1]  # the history's header row is repeated
    assert "follow-up call 0" in text and "follow-up call 149" in text
    assert "Li Wei" in pages[len(inks) - 1]  # the verdict comes last, after the history


def test_a_missing_chinese_font_still_prints(tmp_path, poppler, monkeypatch, caplog):
    monkeypatch.setattr(core.pdf, "CJK_FONT_PATH", tmp_path / "no-such-font.ttc")
    with caplog.at_level(logging.WARNING, logger="core.pdf"):
        path = _render(_view(), tmp_path)
    assert "no-such-font.ttc is missing" in caplog.text
    assert "RMA-2026-000042" in _text(path)
    assert all(ink > MIN_INK for ink in _page_inks(tmp_path, path))


def test_a_cancelled_case_says_so_and_its_promises_were_not_reached(tmp_path, poppler):
    view = _view(closed=False)
    rma = view.rma
    rma.status, rma.delivered_at, rma.due_defective_return = "cancelled", None, None
    rma.cancelled_at, rma.cancel_reason = REPORTED + timedelta(hours=5), "customer fixed it"
    assert all(p.hours_left is None for p in commitments(rma, REPORTED + timedelta(days=3)))
    text = _text(_render(view, tmp_path))
    assert "Cancelled" in text and "customer fixed it" in text
    assert "not reached" in text
