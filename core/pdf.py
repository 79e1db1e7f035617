"""What every printable PDF shares: a font that covers Chinese, styles, the page
frame (header, footer, "page x of y") and Code128 barcodes.

Depot and city names are Chinese as often as not, so documents use WenQuanYi
Micro Hei (Debian ``fonts-wqy-microhei``), which reportlab embeds as a subset
of the glyphs used. Where that font is missing the documents still print, in
Helvetica, with a logged warning: Chinese characters are then not shown
correctly, but nothing fails.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from core import clock
from core.i18n import force_locale, gettext

log = logging.getLogger(__name__)

CJK_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FALLBACK_FONT = "Helvetica"
FALLBACK_BOLD = "Helvetica-Bold"

INK = colors.HexColor("#1d2733")
MUTED = colors.HexColor("#5b6775")
RULE = colors.HexColor("#b8c1cc")
SHADE = colors.HexColor("#eef2f6")

PAGE_MARGIN = 16 * mm
CONTENT_WIDTH = A4[0] - 2 * PAGE_MARGIN  # what a page's frame holds across
HEADER_HEIGHT = 12 * mm
FOOTER_HEIGHT = 10 * mm

# Below this a printed bar is too thin for a handheld scanner; above it the code
# is needlessly wide (points; 0.5 pt is about 0.18 mm, one dot pair at 300 dpi).
MIN_BAR_WIDTH = 0.5
MAX_BAR_WIDTH = 1.0
QUIET_BARS = 10

_registered: dict[Path, str] = {}
_warned: set[Path] = set()


@dataclass(frozen=True)
class Fonts:
    """The font names to draw with, and whether they can show Chinese."""

    regular: str
    bold: str
    cjk: bool


def _fallback(path: Path, why: str) -> Fonts:
    if path not in _warned:
        _warned.add(path)
        log.warning(
            "PDF font %s %s; printing in %s, Chinese text will not show", path, why, FALLBACK_FONT
        )
    return Fonts(FALLBACK_FONT, FALLBACK_BOLD, cjk=False)


def fonts() -> Fonts:
    """The fonts for the next document: WenQuanYi Micro Hei from ``CJK_FONT_PATH``
    (registered once), else Helvetica with one logged warning. Never raises."""
    path = Path(CJK_FONT_PATH)
    name = _registered.get(path)
    if name is not None and path.is_file():
        return Fonts(name, name, cjk=True)
    if not path.is_file():
        return _fallback(path, "is missing")
    name = f"SparesCJK{len(_registered)}"
    try:
        # A .ttc holds several faces; the first is Micro Hei itself.
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    except Exception as error:  # a damaged or foreign font file must not stop printing
        return _fallback(path, f"could not be loaded ({error})")
    _registered[path] = name
    # The face has no bold; headings are set larger instead.
    return Fonts(name, name, cjk=True)


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    big: ParagraphStyle
    caption: ParagraphStyle


def styles(font: Fonts) -> Styles:
    """Paragraph styles in ``font``; sizes in points."""

    def style(name: str, size: float, *, bold: bool = False, color: Any = INK, **extra: Any):
        return ParagraphStyle(
            name,
            fontName=font.bold if bold else font.regular,
            fontSize=size,
            leading=size * 1.3,
            textColor=color,
            **extra,
        )

    return Styles(
        title=style("title", 17, bold=True, spaceAfter=2),
        heading=style("heading", 11.5, bold=True, spaceBefore=8, spaceAfter=4),
        body=style("body", 9.5),
        small=style("small", 8, color=MUTED),
        cell=style("cell", 8.5),
        cell_bold=style("cell_bold", 9, bold=True),
        big=style("big", 16, bold=True),
        caption=style("caption", 7.5, alignment=1),
    )


def text(value: object) -> str:
    """``value`` as Paragraph markup: None is empty, ``<`` and ``&`` are escaped."""
    return "" if value is None else escape(str(value))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as wall-clock time in Asia/Shanghai (empty for None)."""
    return "" if value is None else clock.local(value).strftime(fmt)


def code128(
    value: str,
    *,
    max_width: float,
    bar_height: float = 10 * mm,
    max_bar_width: float = MAX_BAR_WIDTH,
) -> Code128:
    """A Code128 barcode of ``value`` (printable ASCII only) as a flowable, its bars
    narrowed to fit ``max_width`` points but never below ``MIN_BAR_WIDTH``.

    Raises ``ValueError`` for an empty value or characters Code128 cannot carry.
    """
    if not value or not all(32 <= ord(ch) < 127 for ch in value):
        raise ValueError(f"Code128 carries printable ASCII only, not {value!r}")
    modules = Code128(value, barWidth=1.0, quiet=0).width
    # The symbology asks for a quiet zone of ten bar widths each side; reportlab's
    # default of a quarter inch would take a third of a table column.
    bar_width = max(MIN_BAR_WIDTH, min(max_bar_width, max_width / (modules + 2 * QUIET_BARS)))
    quiet = QUIET_BARS * bar_width
    return Code128(value, barWidth=bar_width, barHeight=bar_height, lquiet=quiet, rquiet=quiet)


def labelled_barcode(
    value: str,
    style: ParagraphStyle,
    *,
    max_width: float,
    bar_height: float = 10 * mm,
    note: str = "",
) -> list[Flowable]:
    """A barcode centred over its value (and an optional ``note``), for a table cell.
    The code keeps its quiet zones, so neighbouring text never touches the bars."""
    barcode = code128(value, max_width=max_width, bar_height=bar_height)
    barcode.hAlign = "CENTER"
    caption = text(value) + (f" · {text(note)}" if note else "")
    return [barcode, Paragraph(caption, style)]


def _frame_language(font: Fonts) -> AbstractContextManager[None]:
    """The language of the page frame: the reader's (a PDF made for a Chinese page
    is framed in Chinese), English when the font cannot draw Chinese."""
    return nullcontext() if font.cjk else force_locale("en")


def _numbered_canvas(font: Fonts, footer_left: str, page_of: str) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each footer can say
    "page x of y"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                width, _ = self._pagesize
                self.setFont(font.regular, 7.5)
                self.setFillColor(MUTED)
                self.drawString(PAGE_MARGIN, PAGE_MARGIN - 7 * mm, footer_left)
                self.drawRightString(
                    width - PAGE_MARGIN,
                    PAGE_MARGIN - 7 * mm,
                    page_of % {"number": number, "pages": total},
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def build_pdf(
    story: Sequence[Flowable],
    *,
    title: str,
    header_right: str = "",
    font: Fonts | None = None,
    printed_at: datetime | None = None,
    pagesize: tuple[float, float] = A4,
) -> bytes:
    """Lay ``story`` out on A4 pages (or ``pagesize``) with the house header (title,
    ``header_right``) and footer (printed time in Asia/Shanghai, page x of y);
    return the PDF file's bytes. Long stories flow onto further pages."""
    font = font or fonts()
    printed = local_time(printed_at or clock.now())
    with _frame_language(font):
        brand = gettext("Spares")
        printed_line = gettext("Printed %(time)s (Asia/Shanghai)", time=printed)
        page_of = gettext("Page %(number)s of %(pages)s")  # filled in on each page
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN + HEADER_HEIGHT,
        bottomMargin=PAGE_MARGIN + FOOTER_HEIGHT - 6 * mm,
        title=title,
        author="Spares",
        creator="Spares",
    )

    def header(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        width, height = doc.pagesize
        top = height - PAGE_MARGIN
        canvas.saveState()
        canvas.setFillColor(INK)
        canvas.setFont(font.bold, 10)
        canvas.drawString(PAGE_MARGIN, top - 4 * mm, f"{brand} · {title}")
        canvas.setFont(font.regular, 9)
        canvas.drawRightString(width - PAGE_MARGIN, top - 4 * mm, header_right)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(PAGE_MARGIN, top - 6.5 * mm, width - PAGE_MARGIN, top - 6.5 * mm)
        canvas.line(PAGE_MARGIN, PAGE_MARGIN - 4 * mm, width - PAGE_MARGIN, PAGE_MARGIN - 4 * mm)
        canvas.restoreState()

    on_page: Callable[[Canvas, SimpleDocTemplate], None] = header
    document.build(
        list(story),
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=_numbered_canvas(font, printed_line, page_of),
    )
    return buffer.getvalue()
