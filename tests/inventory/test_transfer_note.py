"""The transfer note PDF: a real PDF, readable text, barcodes, Chinese names, pages
that are not blank, more pages when long, and no crash without the Chinese font."""

from __future__ import annotations

import logging
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import core.pdf
from core.pdf import code128
from inventory.documents import render_transfer_note
from inventory.models import Part, Transfer, TransferDiscrepancy, TransferLine, TransferSerial
from inventory.service.transfers import TransferView

REPO_ROOT = Path(__file__).resolve().parents[2]
ENSURE_TOOLS = REPO_ROOT / "tools" / "ensure-chromium.sh"  # installs poppler-utils and the font
DEPOTS = {"BJ": "Beijing depot · 北京", "SH": "Shanghai depot · 上海"}
SHIPPED_AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@pytest.fixture(scope="module")
def poppler() -> None:
    """pdftoppm/pdftotext/pdffonts (poppler-utils), installed on first use when missing."""
    if shutil.which("pdftoppm") is None:
        subprocess.run(["sh", str(ENSURE_TOOLS)], capture_output=True, check=False)
    if shutil.which("pdftoppm") is None:
        pytest.fail("these tests need poppler-utils (pdftoppm); run tools/ensure-chromium.sh")


def _part(number: str, *, serialized: bool, description: str = "") -> Part:
    return Part(
        part_number=number,
        description=description or f"{number} description",
        family="optic",
        serialized=serialized,
        unit_cost=Decimal("100.00"),
    )


def _view(
    *,
    status: str = "shipped",
    serial_count: int = 3,
    received: set[str] | None = None,
    discrepancies: list[TransferDiscrepancy] | None = None,
) -> tuple[TransferView, dict[str, Part]]:
    transfer = Transfer(
        id=42,
        from_depot="BJ",
        to_depot="SH",
        status=status,
        note="for RMA-2026-0117",
        created_by="staff-bj",
        created_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        shipped_by="staff-bj" if status != "draft" else None,
        shipped_at=SHIPPED_AT if status != "draft" else None,
        received_by="staff-sh" if status == "received" else None,
        received_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC) if status == "received" else None,
    )
    parts = {
        "SFP-10G-LR": _part("SFP-10G-LR", serialized=True, description="10GBASE-LR SFP+ 光模块"),
        "CAB-DAC-10G-3M": _part("CAB-DAC-10G-3M", serialized=False),
    }
    lines = [
        TransferLine(id=1, transfer_id=42, part_number="CAB-DAC-10G-3M", qty=6),
        TransferLine(id=2, transfer_id=42, part_number="SFP-10G-LR", qty=serial_count),
    ]
    serials = []
    if status != "draft":
        serials = [
            TransferSerial(
                transfer_id=42,
                serial=f"BJ21{n:07d}",
                part_number="SFP-10G-LR",
                received=f"BJ21{n:07d}" in (received or set()),
            )
            for n in range(serial_count)
        ]
    if status == "received":
        lines[0].qty_received = 6
        lines[1].qty_received = len(received or set())
    return TransferView(transfer, lines, serials, discrepancies or []), parts


def _write(tmp_path: Path, pdf: bytes) -> Path:
    path = tmp_path / "note.pdf"
    path.write_bytes(pdf)
    return path


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _fonts(path: Path) -> str:
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and grey bytes of a binary PGM (P5) file as pdftoppm writes it."""
    data = path.read_bytes()
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:
        while data[position : position + 1].isspace():
            position += 1
        start = position
        while not data[position : position + 1].isspace():
            position += 1
        fields.append(data[start:position])
    magic, width, height, maxval = fields
    assert magic == b"P5" and maxval == b"255"
    pixels = data[position + 1 :]
    assert len(pixels) == int(width) * int(height)
    return int(width), int(height), pixels


def _pages(tmp_path: Path, pdf_path: Path) -> list[tuple[int, int, bytes]]:
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", str(pdf_path), str(tmp_path / "page")], check=True
    )
    return [_read_pgm(p) for p in sorted(tmp_path.glob("page-*.pgm"))]


def _ink(pixels: bytes) -> float:
    """Share of pixels that are clearly not white."""
    return sum(1 for value in pixels if value < 160) / len(pixels)


def test_the_note_is_a_pdf_with_every_part_number_serial_and_the_transfer_id(tmp_path, poppler):
    view, parts = _view(serial_count=3)
    pdf = render_transfer_note(view, DEPOTS, parts)
    assert pdf.startswith(b"%PDF-")
    text = _text(_write(tmp_path, pdf))
    for expected in ("SFP-10G-LR", "CAB-DAC-10G-3M", "BJ210000000", "BJ210000002", "T42"):
        assert expected in text
    assert "Shipped by (BJ)" in text and "Received by (SH)" in text
    assert "not serialized" in text  # the bulk line says why it has no serials


def test_times_print_in_asia_shanghai(tmp_path, poppler):
    view, parts = _view()
    text = _text(_write(tmp_path, render_transfer_note(view, DEPOTS, parts)))
    assert "2026-03-02 09:30" in text  # 01:30 UTC shipped
    assert "2026-03-01 16:00" in text  # 08:00 UTC drafted


def test_pages_render_into_images_that_are_not_blank(tmp_path, poppler):
    view, parts = _view(serial_count=4)
    pages = _pages(tmp_path, _write(tmp_path, render_transfer_note(view, DEPOTS, parts)))
    assert pages
    for width, height, pixels in pages:
        assert (width, height) == (331, 468)  # A4 at 40 dpi
        assert _ink(pixels) > 0.01
    # A blank page has no ink at all: the measure can tell the difference.
    assert _ink(bytes([255]) * 1000) == 0


def test_a_long_transfer_continues_on_more_pages_with_the_table_header_repeated(tmp_path, poppler):
    view, parts = _view(serial_count=90)
    path = _write(tmp_path, render_transfer_note(view, DEPOTS, parts))
    pages = _pages(tmp_path, path)
    assert len(pages) >= 3
    assert all(_ink(pixels) > 0.01 for _, _, pixels in pages)
    text = _text(path)
    page_texts = text.split("\f")
    assert f"Page 2 of {len(pages)}" in page_texts[1]
    assert "Serial numbers" in page_texts[1]  # header row repeated
    assert all(f"BJ21{n:07d}" in text for n in range(90))


def test_chinese_depot_names_are_embedded_when_the_font_is_present(tmp_path, poppler):
    if not core.pdf.CJK_FONT_PATH.is_file():
        pytest.skip(f"{core.pdf.CJK_FONT_PATH} missing; tools/ensure-chromium.sh installs it")
    view, parts = _view()
    path = _write(tmp_path, render_transfer_note(view, DEPOTS, parts))
    embedded = [line for line in _fonts(path).splitlines() if "WenQuanYi" in line]
    assert embedded and " yes " in embedded[0]  # the glyphs travel inside the PDF
    text = _text(path)
    assert "北京" in text and "上海" in text and "光模块" in text


def test_a_missing_font_falls_back_to_helvetica_with_a_warning(
    tmp_path, poppler, monkeypatch, caplog
):
    monkeypatch.setattr(core.pdf, "CJK_FONT_PATH", tmp_path / "no-such-font.ttc")
    view, parts = _view()
    with caplog.at_level(logging.WARNING, logger="core.pdf"):
        pdf = render_transfer_note(view, DEPOTS, parts)
    assert "no-such-font.ttc is missing" in caplog.text
    path = _write(tmp_path, pdf)
    assert "WenQuanYi" not in _fonts(path) and "Helvetica" in _fonts(path)
    assert "SFP-10G-LR" in _text(path)
    assert all(_ink(pixels) > 0.01 for _, _, pixels in _pages(tmp_path, path))


def test_a_damaged_font_file_does_not_stop_printing(tmp_path, poppler, monkeypatch, caplog):
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"this is not a font")
    monkeypatch.setattr(core.pdf, "CJK_FONT_PATH", broken)
    view, parts = _view()
    with caplog.at_level(logging.WARNING, logger="core.pdf"):
        pdf = render_transfer_note(view, DEPOTS, parts)
    assert pdf.startswith(b"%PDF-") and "could not be loaded" in caplog.text


def test_a_received_note_marks_missing_serials_and_lists_discrepancies(tmp_path, poppler):
    shortfall = TransferDiscrepancy(
        transfer_id=42,
        part_number="SFP-10G-LR",
        kind="short",
        qty=1,
        serial="BJ210000001",
        note="shipped but not received",
    )
    view, parts = _view(
        status="received",
        serial_count=2,
        received={"BJ210000000"},
        discrepancies=[shortfall],
    )
    text = _text(_write(tmp_path, render_transfer_note(view, DEPOTS, parts)))
    assert "BJ210000000 · received" in text
    assert "BJ210000001 · NOT received" in text
    assert "Discrepancies found on receipt" in text and "shipped but not received" in text
    assert "staff-sh" in text


def test_a_draft_note_says_serials_are_chosen_when_shipped(tmp_path, poppler):
    view, parts = _view(status="draft")
    text = _text(_write(tmp_path, render_transfer_note(view, DEPOTS, parts)))
    assert "serials recorded when shipped" in text and "status draft" in text


def test_barcodes_fit_their_column_and_refuse_what_code128_cannot_carry():
    narrow = code128("BJ2100000001234567", max_width=150)
    assert 140 < narrow.width <= 150 + 1e-6
    wide = code128("T1", max_width=500)
    assert wide.barWidth == core.pdf.MAX_BAR_WIDTH  # short codes are not blown up
    tiny = code128("X" * 60, max_width=50)
    assert tiny.barWidth == core.pdf.MIN_BAR_WIDTH  # never thinner than a scanner reads
    for value in ("", "北京-1", "tab\there"):
        with pytest.raises(ValueError, match="printable ASCII"):
            code128(value, max_width=100)
