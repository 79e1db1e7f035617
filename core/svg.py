"""A ``reportlab.graphics`` drawing as inline SVG for a web page.

Charts are drawn once, with ``reportlab.graphics``, for the PDF and the page alike;
the page gets the drawing as an ``<svg>`` element of its own markup (no image file),
so it scales with the page and its words are the page's text.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing

# The PDF font's registered name means nothing to a browser: pages draw chart text
# with these (Chinese included).
WEB_FONTS = "system-ui, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif"


def inline_svg(drawing: Drawing, *, key: str, title: str = "") -> str:
    """The drawing as an inline, width-fluid ``<svg class="chart">`` element.

    ``key`` makes the clip path's id unique on the page (several charts share one
    page); ``title`` is the chart's accessible name.
    """
    markup = renderSVG.drawToString(drawing)
    markup = markup[max(markup.find("<svg"), 0) :]
    markup = re.sub(r'<svg width="[^"]*" height="[^"]*"', "<svg", markup, count=1)
    markup = markup.replace(
        "<svg", f'<svg class="chart" role="img" aria-label="{escape(title)}"', 1
    )
    markup = markup.replace("<title>...</title>", f"<title>{escape(title)}</title>", 1)
    markup = markup.replace("<desc>...</desc>", "", 1)
    markup = markup.replace('id="clip"', f'id="clip-{key}"').replace(
        "url(#clip)", f"url(#clip-{key})"
    )
    return re.sub(r"font-family: [^;\"]+", f"font-family: {WEB_FONTS}", markup)
