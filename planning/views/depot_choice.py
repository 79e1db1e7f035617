"""The depot-choice calculator: which depot would ship a replacement for a part to a
city if it were requested now (or at the time given), and why the others lost.
Nothing is reserved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template, request

from core import auth, clock
from core.errors import DomainError, Invalid
from core.i18n import gettext, lazy_gettext
from core.web import uow
from depots.service import network
from optimizer.depot_choice import DepotDecision
from planning.views import CHOICE_READERS, views
from planning.views.common import failed, part_numbers
from rma.models import FAULT_LEVELS
from rma.service import allocation
from rma.service.allocation import Options

TEMPLATE = "planning/depot_choice.html"
LEVEL_HINTS = {
    "C-1": lazy_gettext("whole network down; emergency courier allowed"),
    "C-2": lazy_gettext("part of the network misbehaves"),
    "C-3": lazy_gettext("performance degraded"),
}


def _local_instant(raw: str | None) -> datetime | None:
    """A ``datetime-local`` field (Asia/Shanghai wall-clock time) as an aware instant."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            gettext("Requested at: %(value)r is not a date and time", value=value), field="at"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.SHANGHAI)
    if not 2000 <= parsed.year <= 2199:
        raise Invalid(gettext("Requested at: a date between the years 2000 and 2199"), field="at")
    return clock.as_utc(parsed)


@dataclass(frozen=True)
class Choice:
    decision: DepotDecision
    options: Options
    requested: str


@views.route("/depot-choice")
@auth.page_roles(*CHOICE_READERS)
def depot_choice_page() -> Any:
    args = request.args
    part = (args.get("part_number") or "").strip().upper()
    city = (args.get("city") or "").strip()
    level = (args.get("fault_level") or "C-2").strip().upper()
    context: dict[str, Any] = {
        "form": {"part_number": part, "city": city, "fault_level": level, "at": args.get("at")},
        "cities": network.list_cities(uow()),
        "part_numbers": part_numbers(),
        "levels": FAULT_LEVELS,
        "level_hints": LEVEL_HINTS,
        "reason_text": reason_text,
        "emergency_text": emergency_text,
        "choice": None,
    }
    if not (part or city or args.get("at")):
        return render_template(TEMPLATE, error=None, **context)
    try:
        if not part:
            raise Invalid(gettext("Part number: enter the part to replace"), field="part_number")
        if not city:
            raise Invalid(gettext("City: choose the customer's city"), field="city")
        if level not in FAULT_LEVELS:
            raise Invalid(
                gettext("Fault level: one of %(levels)s", levels=", ".join(FAULT_LEVELS)),
                field="fault_level",
            )
        at = _local_instant(args.get("at"))
        decision, options = allocation.preview(uow(), part, city, level, at)
    except DomainError as error:
        return failed(TEMPLATE, error, **context)
    context["choice"] = Choice(decision, options, part)
    return render_template(TEMPLATE, error=None, **context)


# --- why a depot won or lost, in the reader's words ------------------------------------------


def _when(text: Any) -> str:
    """An ISO 8601 instant from the optimizer's arguments as Asia/Shanghai wall-clock time."""
    try:
        return f"{clock.local(datetime.fromisoformat(str(text))):%Y-%m-%d %H:%M}"
    except ValueError:
        return str(text)


def duration_text(minutes: Any) -> str:
    """A span of whole minutes in words: ``3 h 20 min``."""
    try:
        total = int(minutes)
    except (TypeError, ValueError):
        return str(minutes)
    if total < 1:
        return gettext("under a minute")
    hours, rest = divmod(total, 60)
    if hours and rest:
        return gettext("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    if hours:
        return gettext("%(hours)d h", hours=hours)
    return gettext("%(minutes)d min", minutes=rest)


def reason_text(alternative: Any) -> str:
    """Why a depot was chosen or not, from the optimizer's reason code and arguments;
    the optimizer's English sentence when there is no code to word it from."""
    code = getattr(alternative, "reason_code", "") or ""
    args = dict(getattr(alternative, "reason_args", {}) or {})
    if code == "chosen":
        return gettext("chosen")
    if code == "no_stock":
        return gettext("no stock")
    if code == "no_lane":
        return gettext("no transit lane to the site")
    if code == "late":
        return gettext("arrives %(arrival)s, after the due time", arrival=_when(args["arrival"]))
    if code == "later_than_winner":
        return gettext(
            "arrives %(arrival)s, after the due time and %(later)s after %(winner)s",
            arrival=_when(args["arrival"]),
            later=duration_text(args["later_minutes"]),
            winner=args["winner"],
        )
    if code == "below_target":
        return gettext(
            "would fall below target stock (%(left)s < %(target)s)",
            left=args["left"],
            target=args["target"],
        )
    if code == "costlier":
        return gettext("costs %(cost)s CNY, %(extra)s more", cost=args["cost"], extra=args["extra"])
    if code == "later_same_cost":
        return gettext(
            "same cost, arrives %(arrival)s, %(later)s later",
            arrival=_when(args["arrival"]),
            later=duration_text(args["later_minutes"]),
        )
    if code == "tie_by_code":
        return gettext(
            "same cost and arrival as %(winner)s, which comes first by code",
            winner=args["winner"],
        )
    return str(alternative.reason)


def emergency_text(alternative: Any) -> str:
    """Why the emergency courier was or was not booked at a depot, in words."""
    code = getattr(alternative, "emergency_code", "") or ""
    args = dict(getattr(alternative, "emergency_args", {}) or {})
    if code == "not_booked_standard_on_time":
        return gettext(
            "not booked: standard service from %(depot)s meets the due time", depot=args["depot"]
        )
    if code == "booked_sooner":
        return gettext(
            "booked: arrives %(arrival)s, %(sooner)s sooner than standard",
            arrival=_when(args["arrival"]),
            sooner=duration_text(args["sooner_minutes"]),
        )
    if code == "not_booked_no_sooner":
        return gettext("not booked: it arrives no sooner than standard service")
    return str(alternative.emergency_note)
