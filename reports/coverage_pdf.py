"""The coverage report's PDF sections: the map and the cities, the part families,
the hours of approval with their chart, the gaps and the transfers closing them.

Tables are the report's own frames, laid out by ``reports.files`` (headings in the
reader's language, numbers formatted by their key); a few columns that only help
a spreadsheet (latitude, longitude, the reason codes next to their words) are left
out of the print.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from core.i18n import gettext, is_chinese
from reports.catalogue import Section
from reports.coverage_charts import coverage_map, share_by_hour
from reports.files import columns_of
from reports.pdf_blocks import Look, data_table
from reports.service.report import Report, TableInfo

PRINTED = {
    "by_city": [
        "city",
        "city_zh",
        "province",
        "installed_units",
        "covered_units",
        "covered_pct",
        "covered_emergency_pct",
        "gaps",
        "fastest_depot",
        "fastest_hours",
    ],
    "by_hour": [
        "hour",
        "covered_pct",
        "covered_emergency_pct",
        "cities_out_of_reach",
        "out_of_reach",
        "out_of_reach_emergency",
    ],
    "gaps": [
        "city",
        "part_number",
        "family",
        "installed_units",
        "best_depot",
        "best_hours",
        "fastest_depot",
        "fastest_hours",
        "why",
    ],
    "closing_transfers": [
        "city",
        "part_number",
        "installed_units",
        "from_depot",
        "to_depot",
        "units",
        "to_city_hours",
        "from_available",
        "from_target",
        "note",
    ],
}

# Tables printed with one city column (in Chinese on a Chinese page).
CITY_ONCE = ("gaps", "closing_transfers")


def sections(
    report: Report, look: Look, tables: Mapping[str, TableInfo], labels: Mapping[str, str]
) -> list[Section]:
    """The PDF's sections after the cover; ``tables`` are the kind's table titles and
    descriptions, ``labels`` its column headings in words."""

    def table(name: str, empty: str) -> Flowable:
        frame = report.tables[name]
        keep = [column for column in PRINTED.get(name, list(frame.columns)) if column in frame]
        printed: pd.DataFrame = frame[keep]
        if name in CITY_ONCE and chinese and "city_zh" in frame:
            # One city column where the page is narrow: the reader's name for it.
            printed = printed.assign(
                city=frame["city_zh"].where(frame["city_zh"] != "", frame["city"])
            )
        # An empty table prints its note; its columns need no measuring.
        columns = columns_of(printed, labels) if len(printed) else []
        return data_table(look, printed, columns, empty=empty)

    font = look.font
    chinese = font.cjk and is_chinese()

    depots = report.details.get("depots", pd.DataFrame(columns=["depot", "lat", "lon"]))
    nothing = gettext("No installed base.")
    return [
        Section(
            str(tables["by_city"].title),
            str(tables["by_city"].description),
            [
                coverage_map(report.tables["by_city"], depots, font),
                Spacer(1, 4 * mm),
                table("by_city", nothing),
            ],
        ),
        Section(
            str(tables["by_family"].title),
            str(tables["by_family"].description),
            [table("by_family", nothing)],
        ),
        Section(
            str(tables["by_hour"].title),
            str(tables["by_hour"].description),
            [
                share_by_hour(report.tables["by_hour"], font),
                Spacer(1, 4 * mm),
                table("by_hour", nothing),
            ],
        ),
        Section(
            str(tables["gaps"].title),
            str(tables["gaps"].description),
            [table("gaps", gettext("No gaps: every installed unit is covered."))],
        ),
        Section(
            str(tables["closing_transfers"].title),
            str(tables["closing_transfers"].description),
            [table("closing_transfers", gettext("No gaps to close."))],
        ),
    ]
