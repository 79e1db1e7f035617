"""The depot-choice calculator: which depot would ship a replacement for a part to a
city if it were requested now (or at the time given), and why the others lost.
Nothing is reserved."""

from __future__ import annotations

from dataclasses import dataclass
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
from rma.service import allocation, wording
from rma.service.allocation import Options

TEMPLATE = "planning/depot_choice.html"
LEVEL_HINTS = {
    "C-1": lazy_gettext("whole network down; emergency courier allowed"),
    "C-2": lazy_gettext("part of the network misbehaves"),
    "C-3": lazy_gettext("performance degraded"),
}


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
        at = clock.read_optional_instant(args.get("at"), gettext("Requested at"), "at")
        decision, options = allocation.preview(uow(), part, city, level, at)
    except DomainError as error:
        return failed(TEMPLATE, error, **context)
    context["choice"] = Choice(decision, options, part)
    return render_template(TEMPLATE, error=None, **context)


def reason_text(alternative: Any) -> str:
    """Why a depot was chosen or not, in the reader's words (the RMA desk's wording of
    the optimizer's reason codes; its English sentence for a code it does not know)."""
    return wording.depot_reason(
        alternative.reason_code, alternative.reason_args, alternative.reason
    )


def emergency_text(alternative: Any) -> str:
    """Why the emergency courier was or was not booked at a depot, in the reader's words."""
    return wording.emergency_note(
        alternative.emergency_code, alternative.emergency_args, alternative.emergency_note
    )
