"""The page frame every printed document shares (core.pdf): in the reader's
language when made for a page, English from the command line or without a
Chinese font."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reportlab.platypus import Paragraph

from core import pdf

ROOT = Path(__file__).resolve().parents[2]
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
PRINTED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@pytest.fixture(scope="module")
def pdftotext() -> str:
    """pdftotext (poppler-utils), installed on first use when missing."""
    if shutil.which("pdftotext") is None:
        subprocess.run(
            ["sh", str(ROOT / "tools" / "ensure-chromium.sh")], capture_output=True, check=False
        )
    found = shutil.which("pdftotext")
    if found is None:
        pytest.fail("this test needs poppler-utils (pdftotext); run tools/ensure-chromium.sh")
    return found


def _document(font: pdf.Fonts) -> bytes:
    style = pdf.styles(font)
    story = [Paragraph("RMA-2026-000123", style.body)]
    return pdf.build_pdf(story, title="RMA-2026-000123", font=font, printed_at=PRINTED)


def _text(tool: str, content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "frame.pdf"
    path.write_bytes(content)
    return subprocess.run(
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_a_pdf_made_for_a_chinese_page_is_framed_in_chinese(app, pdftotext, tmp_path):
    font = pdf.fonts()
    if not font.cjk:
        pytest.fail("the Chinese font is missing: run tools/ensure-chromium.sh")
    with app.test_request_context("/", headers=CHINESE):
        text = _text(pdftotext, _document(font), tmp_path)
    assert "备件管理 · RMA-2026-000123" in text
    assert "打印时间 2026-03-02 09:30" in text and "第 1 页，共 1 页" in text


def test_a_pdf_made_outside_a_page_or_without_a_chinese_font_is_english(app, pdftotext, tmp_path):
    text = _text(pdftotext, _document(pdf.fonts()), tmp_path)
    assert "Spares · RMA-2026-000123" in text
    assert "Printed 2026-03-02 09:30 (Asia/Shanghai)" in text and "Page 1 of 1" in text
    latin = pdf.Fonts(regular=pdf.FALLBACK_FONT, bold=pdf.FALLBACK_BOLD, cjk=False)
    with app.test_request_context("/", headers=CHINESE):
        text = _text(pdftotext, _document(latin), tmp_path)
    assert "Page 1 of 1" in text and "第" not in text
