"""What a report is asked for: a period and the optional filters every report page,
download, API call and terminal command shares.

``Filters.parse`` turns the text people type (query parameters, command options)
into checked values: the period (``reports.service.period``), a depot code of the
network, a fault level, a part family and a rebalancing plan number. Each report
states which filters it honours (``reports.catalogue.ReportKind.filters``); a
filter it does not honour is refused, never silently ignored, so a download
always is what its link says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.db import UnitOfWork
from core.errors import Invalid
from core.i18n import gettext, lazy_gettext
from depots.service.snapshot import network
from inventory.models import FAMILIES
from reports.service.period import Period
from rma.models import FAULT_LEVELS

# The filters, in the order forms and covers show them, with their words.
FILTER_LABELS: Mapping[str, Any] = {
    "period": lazy_gettext("Period"),
    "depot": lazy_gettext("Depot"),
    "fault_level": lazy_gettext("Fault level"),
    "family": lazy_gettext("Part family"),
    "plan": lazy_gettext("Rebalancing plan"),
}
FILTER_NAMES: tuple[str, ...] = tuple(FILTER_LABELS)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


# What a filter is told when its value is none of the known ones, in the filter's own
# words (each language names a depot, a fault level and a part family differently).
_UNKNOWN: Mapping[str, Any] = {
    "depot": lazy_gettext("depot %(value)r is not one of %(known)s"),
    "fault_level": lazy_gettext("fault level %(value)r is not one of %(known)s"),
    "family": lazy_gettext("part family %(value)r is not one of %(known)s"),
}


def _one_of(name: str, value: str, known: Sequence[str]) -> str:
    """``value`` when it is one of ``known``; else ``Invalid`` for the filter ``name``
    listing ``known`` in their order."""
    if value not in known:
        raise Invalid(str(_UNKNOWN[name]) % {"value": value, "known": ", ".join(known)}, field=name)
    return value


@dataclass(frozen=True)
class Filters:
    """A report's period and filters; ``None`` means "all"."""

    period: Period
    depot: str | None = None
    fault_level: str | None = None
    family: str | None = None
    plan: int | None = None
    applies: tuple[str, ...] = field(default=FILTER_NAMES, compare=False)

    @classmethod
    def parse(
        cls,
        uow: UnitOfWork,
        *,
        start: date | str | None = None,
        end: date | str | None = None,
        depot: str | None = None,
        fault_level: str | None = None,
        family: str | None = None,
        plan: int | str | None = None,
        applies: Collection[str] = FILTER_NAMES,
        today: date | None = None,
    ) -> Filters:
        """Checked filters from typed text. ``Invalid`` (naming the field) for a date
        that is none or a period ``Period.parse`` refuses, an unknown depot code,
        fault level or family, a plan that is no positive whole number, and for any
        filter given that is not in ``applies``."""
        given = {
            "period": _clean(_text(start)) or _clean(_text(end)),
            "depot": _clean(depot),
            "fault_level": _clean(fault_level),
            "family": _clean(family),
            "plan": _clean(_text(plan)),
        }
        for name, value in given.items():
            if value and name not in applies:
                raise Invalid(
                    gettext(
                        "this report has no %(filter)s filter; it can be filtered by %(known)s",
                        filter=str(FILTER_LABELS[name]).lower(),
                        known=", ".join(str(FILTER_LABELS[n]).lower() for n in applies)
                        or gettext("nothing"),
                    ),
                    field=name,
                )
        period = Period.parse(
            start if "period" in applies else None,
            end if "period" in applies else None,
            today=today,
            names=("from", "to"),
        )
        depot_code = _clean(depot)
        if depot_code is not None:
            depot_code = _one_of("depot", depot_code.upper(), sorted(network(uow).depot_by_code))
        level = _clean(fault_level)
        if level is not None:
            level = _one_of("fault_level", level.upper(), FAULT_LEVELS)
        part_family = _clean(family)
        if part_family is not None:
            part_family = _one_of("family", part_family.lower(), FAMILIES)
        plan_number: int | None = None
        plan_text = _clean(_text(plan))
        if plan_text is not None:
            if not plan_text.isdigit() or int(plan_text) < 1 or len(plan_text) > 12:
                raise Invalid(
                    gettext("plan must be a plan number, not %(value)r", value=plan_text),
                    field="plan",
                )
            plan_number = int(plan_text)
        return cls(
            period=period,
            depot=depot_code,
            fault_level=level,
            family=part_family,
            plan=plan_number,
            applies=tuple(name for name in FILTER_NAMES if name in applies),
        )

    def described(self) -> list[tuple[str, str]]:
        """The filters that apply as (label, value) in the reader's language, "all"
        for an unset one: for a PDF's cover and a page's heading."""
        values = {
            "period": gettext(
                "%(period)s (%(days)s days, Asia/Shanghai dates, both included)",
                period=self.period.label,
                days=self.period.days,
            ),
            "depot": self.depot or gettext("all depots"),
            "fault_level": self.fault_level or gettext("all fault levels"),
            "family": self.family or gettext("all part families"),
            "plan": str(self.plan) if self.plan is not None else gettext("the latest plan"),
        }
        return [(str(FILTER_LABELS[name]), values[name]) for name in self.applies]

    def query(self) -> dict[str, str]:
        """The filters as the query parameters of a page or download link (the
        period always; the others when set)."""
        args: dict[str, str] = {}
        if "period" in self.applies:
            args["from"] = self.period.start.isoformat()
            args["to"] = self.period.end.isoformat()
        for name in ("depot", "fault_level", "family", "plan"):
            value = getattr(self, name)
            if name in self.applies and value is not None:
                args[name] = str(value)
        return args

    @property
    def slug(self) -> str:
        """What a file name says of the filters: ``2026-11-01_2026-11-30-SHA-C-1``."""
        parts = [self.period.slug] if "period" in self.applies else []
        parts += [
            str(value) for value in (self.depot, self.fault_level, self.family) if value is not None
        ]
        if self.plan is not None:
            parts.append(f"plan-{self.plan}")
        return "-".join(parts)
