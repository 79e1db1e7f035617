"""The 24-hour coverage report in the catalogue: for every city and part with
installed base, can a depot holding available stock deliver within 24 hours of an
approval now, by the lanes, at the normal cut-off; weighted by installed units.
The data are ``reports.service.coverage``; the map and the by-hour chart
``reports.coverage_charts``; the PDF's sections ``reports.coverage_pdf``.

Filters: ``depot`` limits the *supply* to that depot's stock (what its own shelves
reach; transfers then go into it); ``family`` one part family; ``fault_level``
C-1 judges "now", the gaps and the transfers with the emergency courier a C-1
case may book (C-2 and C-3: standard service, as without the filter). The period
does not apply: coverage is a fact of now and today's stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from core import clock
from core.db import UnitOfWork
from core.i18n import gettext, lazy_gettext
from core.pdf import Fonts
from reports import coverage_pdf
from reports.catalogue import Chart, ReportKind, Section
from reports.coverage_charts import coverage_map, share_by_hour
from reports.files import labels_of
from reports.pdf_blocks import Look, fmt_int, fmt_pct
from reports.service import coverage as data
from reports.service.filters import Filters
from reports.service.report import Figure, Report, TableInfo

NAME = "coverage"
AFTER_CUTOFF_HOUR = 19  # the first whole hour after the 18:00 pick-up cut-off
CUTOFF_HOUR = 18

TABLES: Mapping[str, TableInfo] = {
    "by_family": TableInfo(
        lazy_gettext("Coverage by part family"),
        lazy_gettext(
            "Installed units of each part family and how many a depot holding available "
            "stock reaches within 24 hours of an approval now."
        ),
    ),
    "by_city": TableInfo(
        lazy_gettext("Coverage by city"),
        lazy_gettext(
            "Each city with installed base, least covered first: installed and covered "
            "units, the share with the emergency courier, and the depot whose lane "
            "arrives soonest whatever its stock."
        ),
    ),
    "by_hour": TableInfo(
        lazy_gettext("Coverage by hour of approval"),
        lazy_gettext(
            "The covered share for an approval today at each hour (Asia/Shanghai) with "
            "today's stock, by standard service and with the C-1 emergency courier, and "
            "the cities no depot reaches within 24 hours at that hour."
        ),
    ),
    "gaps": TableInfo(
        lazy_gettext("Gaps"),
        lazy_gettext(
            "Each city and part not covered now: the depot holding stock that arrives "
            "soonest, the fastest lane to the city whatever the stock, and why."
        ),
    ),
    "closing_transfers": TableInfo(
        lazy_gettext("Transfers that would close the gaps"),
        lazy_gettext(
            "For each gap, largest installed base first, one unit from a depot with stock "
            "to spare (above its target, else any available) to the depot that reaches "
            "the city soonest; and the gaps no transfer can close."
        ),
    ),
}


def columns() -> dict[str, Any]:
    return {
        "family": lazy_gettext("Part family"),
        "installed_units": lazy_gettext("Installed units"),
        "covered_units": lazy_gettext("Covered units"),
        "covered_pct": lazy_gettext("Covered %"),
        "covered_emergency_pct": lazy_gettext("With emergency %"),
        "pairs": lazy_gettext("Cities × parts"),
        "gaps": lazy_gettext("Gaps"),
        "province": lazy_gettext("Province"),
        "lat": lazy_gettext("Latitude"),
        "lon": lazy_gettext("Longitude"),
        "fastest_depot": lazy_gettext("Fastest depot"),
        "fastest_hours": lazy_gettext("Fastest lane (h)"),
        "hour": lazy_gettext("Hour of approval"),
        "approved_at": lazy_gettext("Approved at"),
        "cities_out_of_reach": lazy_gettext("Cities out of reach"),
        "out_of_reach": lazy_gettext("Out of reach (standard)"),
        "out_of_reach_emergency": lazy_gettext("Out of reach (emergency courier)"),
        "best_depot": lazy_gettext("Nearest depot with stock"),
        "best_hours": lazy_gettext("Its arrival (h)"),
        "reason": lazy_gettext("Reason code"),
        "why": lazy_gettext("Why not covered"),
        "from_depot": lazy_gettext("From depot"),
        "to_depot": lazy_gettext("To depot"),
        "moved_part": lazy_gettext("Part moved"),
        "units": lazy_gettext("Units moved"),
        "to_city_hours": lazy_gettext("Then to the city (h)"),
        "from_available": lazy_gettext("Available at sender"),
        "from_target": lazy_gettext("Sender's target"),
        "closes": lazy_gettext("Closes the gap"),
        "how": lazy_gettext("How code"),
        "note": lazy_gettext("Note"),
    }


def _why(reason: str) -> str:
    return {
        data.OUT_OF_REACH: gettext("no depot's lane arrives within 24 hours"),
        data.NO_STOCK_ANYWHERE: gettext(
            "no depot holds the part or a part that supersedes it available"
        ),
        data.STOCK_TOO_FAR: gettext("only depots more than 24 hours away hold it"),
    }.get(reason, reason)


def _note(how: str) -> str:
    return {
        data.SENT_ABOVE_TARGET: gettext("from stock above the sender's target"),
        data.SENT_BELOW_TARGET: gettext(
            "no depot holds any above its target: the sender falls below target"
        ),
        data.SAME_TRANSFER: gettext("closed by the unit already sent to this depot"),
        data.OUT_OF_REACH: gettext(
            "no transfer closes it: no depot reaches the city within 24 hours"
        ),
        data.NO_STOCK_ANYWHERE: gettext("no transfer closes it: no depot has a unit to send"),
    }.get(how, how)


def _hours(hours: list[int]) -> str:
    """Hours 0-23 as ranges of approval times: ``07:00-18:00, 21:00``."""
    ranges: list[tuple[int, int]] = []
    for hour in sorted(hours):
        if ranges and ranges[-1][1] == hour - 1:
            ranges[-1] = (ranges[-1][0], hour)
        else:
            ranges.append((hour, hour))
    return ", ".join(f"{a:02d}:00" if a == b else f"{a:02d}:00–{b:02d}:00" for a, b in ranges)


def reach_notes(by_hour: pd.DataFrame) -> list[str]:
    """For each city out of reach at some hour, the approval hours it is within 24
    hours, by standard service and with the emergency courier (read off ``by_hour``)."""
    far: dict[str, tuple[list[int], list[int]]] = {}
    for row in by_hour.itertuples(index=False):
        for name in filter(None, str(row.out_of_reach).split(", ")):
            far.setdefault(name, ([], []))[0].append(int(row.hour))
        for name in filter(None, str(row.out_of_reach_emergency).split(", ")):
            far.setdefault(name, ([], []))[1].append(int(row.hour))
    notes = []
    for city, (out, out_emergency) in sorted(far.items()):
        within = [h for h in data.HOURS if h not in out]
        within_emergency = [h for h in data.HOURS if h not in out_emergency]
        standard = (
            gettext("approved %(hours)s", hours=_hours(within)) if within else gettext("never")
        )
        courier = (
            gettext("every hour")
            if len(within_emergency) == len(data.HOURS)
            else gettext("approved %(hours)s", hours=_hours(within_emergency))
            if within_emergency
            else gettext("never")
        )
        notes.append(
            gettext(
                "%(city)s is within 24 hours by standard service: %(standard)s; with the "
                "C-1 emergency courier: %(courier)s.",
                city=city,
                standard=standard,
                courier=courier,
            )
        )
    return notes


def _pct_figure(key: str, label: str, value: float | None, note: str = "") -> Figure:
    return Figure(key, label, None if value is None else round(value, 1), fmt_pct(value), note)


def build(uow: UnitOfWork, filters: Filters) -> Report:
    now = clock.now()
    emergency_now = filters.fault_level == "C-1"
    tables = data.coverage_tables(
        uow, now=now, depot=filters.depot, family=filters.family, emergency_now=emergency_now
    )
    gaps = tables.gaps.copy()
    gaps["why"] = gaps["reason"].map(_why)
    transfers = tables.closing_transfers.copy()
    transfers["note"] = transfers["how"].map(_note)
    by_hour = tables.by_hour
    at_hour = by_hour.set_index("hour") if not by_hour.empty else pd.DataFrame()

    def share_at(hour: int) -> float | None:
        if at_hour.empty or pd.isna(at_hour.loc[hour, "covered_pct"]):
            return None
        return float(at_hour.loc[hour, "covered_pct"])

    uncovered = int(gaps["installed_units"].sum())
    closing = transfers[transfers["closes"]]
    approving = f"{clock.local(now):%H:%M}"
    figures = (
        _pct_figure(
            "covered_pct",
            gettext("Covered within 24 hours now"),
            tables.covered_pct,
            gettext("approving at %(time)s, emergency courier included", time=approving)
            if emergency_now
            else gettext("approving at %(time)s", time=approving),
        ),
        Figure(
            "installed_units",
            gettext("Installed units"),
            tables.installed_units,
            fmt_int(tables.installed_units),
        ),
        Figure(
            "uncovered_units",
            gettext("Installed units not covered"),
            uncovered,
            fmt_int(uncovered),
            gettext("gaps (city and part): %(gaps)s", gaps=fmt_int(len(gaps))),
        ),
        Figure("gaps", gettext("Gaps (city and part)"), len(gaps), fmt_int(len(gaps))),
        _pct_figure(
            "covered_at_18_pct",
            gettext("Approving at 18:00"),
            share_at(CUTOFF_HOUR),
            gettext("the last pick-up of the day"),
        ),
        _pct_figure(
            "covered_at_19_pct",
            gettext("Approving at 19:00"),
            share_at(AFTER_CUTOFF_HOUR),
            gettext("after the cut-off: next morning's pick-up"),
        ),
        _pct_figure(
            "covered_emergency_pct",
            gettext("With the C-1 emergency courier"),
            tables.covered_emergency_pct,
            gettext("approving now"),
        ),
        Figure(
            "closable_gaps",
            gettext("Gaps a transfer closes"),
            len(closing),
            fmt_int(len(closing)),
            gettext("units moved: %(units)s", units=fmt_int(int(closing["units"].sum()))),
        ),
    )
    return Report(
        name=NAME,
        filters=filters,
        generated_at=now,
        figures=figures,
        tables={
            "by_family": tables.by_family,
            "by_city": tables.by_city,
            "by_hour": by_hour,
            "gaps": gaps,
            "closing_transfers": transfers,
        },
        notes=tuple(reach_notes(by_hour)),
        details={"depots": tables.depots},
    )


def charts(report: Report, font: Fonts) -> list[Chart]:
    depots = report.details.get("depots", pd.DataFrame(columns=["depot", "lat", "lon"]))
    return [
        Chart(
            "coverage-map",
            gettext("24-hour coverage by city"),
            coverage_map(report.tables["by_city"], depots, font),
        ),
        Chart(
            "coverage-by-hour",
            gettext("Covered share by hour of approval"),
            share_by_hour(report.tables["by_hour"], font),
        ),
    ]


def sections(report: Report, look: Look) -> list[Section]:
    return coverage_pdf.sections(report, look, TABLES, labels_of(KIND))


KIND = ReportKind(
    name=NAME,
    title=lazy_gettext("24-hour coverage"),
    summary=lazy_gettext(
        "Which installed units a depot holding stock reaches within 24 hours, by city, "
        "part family and hour of approval; the gaps and the transfers that close them"
    ),
    filters=("depot", "fault_level", "family"),
    tables=TABLES,
    build=build,
    sections=sections,
    charts=charts,
    columns=columns,
    notes=(
        lazy_gettext(
            "A city and part is covered when some depot holding available stock (good "
            "units less reserved ones, of the part or a part that supersedes it) offers "
            "an arrival within 24 hours of an approval: the lane's hours after the "
            "carrier's pick-up, which waits until 09:00 for an approval after the 18:00 "
            "cut-off. Shares are weighted by installed units."
        ),
        lazy_gettext(
            "Now is when the report was made, with the stock as it stands; the hours of "
            "approval are today's (Asia/Shanghai) with the same stock. The emergency "
            "courier (C-1 only) leaves within an hour at any time and is used where it "
            "arrives sooner."
        ),
        lazy_gettext(
            "Depot filter: supply from that depot's stock only (what its own shelves "
            "reach), and transfers go into it. Fault level C-1 judges now, the gaps and "
            "the transfers with the emergency courier. The period does not apply."
        ),
        lazy_gettext(
            "A transfer closes a gap once its unit is on the receiving depot's shelf; "
            "the time the transfer itself travels is not counted."
        ),
    ),
)
