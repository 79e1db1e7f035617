"""The RMA desk's system text in the reader's language.

What the services store and the API answers stays English and stable: event
details, at-risk reasons, depot-choice reasons, entitlement reasons. Pages, the
printed service record and e-mails say the same things in the reader's (or the
recipient's) language through the functions here, called at request time (or
inside ``core.i18n.force_locale``): durations, the case history (actions,
detail names and values), why a case is at risk, why a depot was or was not
chosen and why the emergency courier was or was not booked, why a case is free
or billable.

Every function falls back to the stored English text when it meets something it
does not know, so an old or foreign record still reads, never fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_locale

from core import clock
from core.i18n import gettext, lazy_gettext
from optimizer import depot_choice as rule
from rma import kinds
from rma.models import Status
from rma.service.ladder import HQ_DIRECTOR, HQ_MANAGER, REGIONAL_SUPERVISOR, SERVICE_ENGINEERS
from rma.service.promises import (
    BACKORDER,
    NO_DEPOT_IN_TIME,
    NOT_DELIVERED,
    NOT_SHIPPED,
    AtRiskReason,
    reason_of,
)

# --- small values -------------------------------------------------------------------------------


def is_chinese() -> bool:
    """Is the text being written Chinese (a Chinese page, or an e-mail to a Chinese reader)?"""
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def format_duration(delta: timedelta) -> str:
    """A length of time as people read it: "45 min", "5 h 20 min", "2 h", "3 d 4 h"
    (and 45 分钟, 5 小时 20 分钟 ... in Chinese); the sign is ignored."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return gettext("under a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        if hours:
            return gettext("%(days)s d %(hours)s h", days=days, hours=hours)
        return gettext("%(days)s d", days=days)
    hours += days * 24
    if hours and minutes:
        return gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    if hours:
        return gettext("%(hours)s h", hours=hours)
    return gettext("%(minutes)s min", minutes=minutes)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as Asia/Shanghai wall-clock time ("" for None)."""
    return clock.local(value).strftime(fmt) if value is not None else ""


def money(value: object) -> str:
    """An amount of CNY with two decimals and thousands separators ("" when it is none)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}"


def yes_no(value: bool) -> str:
    return gettext("yes") if value else gettext("no")


SERVICE_LABELS: dict[str, Any] = {
    "standard": lazy_gettext("standard"),
    "emergency": lazy_gettext("emergency"),
}


def service_label(service: str | None) -> str:
    """A carrier service (standard, emergency) as people read it."""
    return str(SERVICE_LABELS.get(service or "", service or ""))


# --- why a case is at risk ----------------------------------------------------------------------


def at_risk_text(why: AtRiskReason, english: str = "") -> str:
    """Why a case is at risk, in the current language (``english``: the stored text,
    said as it is when its code is unknown)."""
    if why.code == NO_DEPOT_IN_TIME:
        return gettext("no depot can deliver within 24 hours")
    if why.code == BACKORDER:
        return gettext("backorder: no depot holds the part or a part that supersedes it")
    if why.code == NOT_SHIPPED:
        return gettext("not shipped by %(when)s, the promised pick-up", when=local_time(why.at))
    if why.code == NOT_DELIVERED:
        return gettext("not delivered by %(when)s as promised", when=local_time(why.at))
    return english


def stored_at_risk_text(english: str) -> str:
    """An at-risk reason as stored on a case (English), in the current language."""
    return at_risk_text(reason_of(english), english)


# --- depot choice -----------------------------------------------------------------------------

# Batch dispatch's reasons for the depots it considered, and what re-planned a case.
DISPATCH_CHOSEN = "dispatch_chosen"
DISPATCH_NOT_CHOSEN = "dispatch_not_chosen"
BATCH_DISPATCH = "batch dispatch"


def _instant(value: object) -> str:
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return local_time(parsed) if parsed.tzinfo is not None else value
    return "" if value is None else str(value)


def _minutes(value: object) -> str:
    try:
        return format_duration(timedelta(minutes=int(str(value))))
    except ValueError:
        return str(value)


def depot_reason(code: str, args: Mapping[str, Any], english: str = "") -> str:
    """Why a depot was chosen or not (``optimizer.depot_choice``'s reason codes, and
    batch dispatch's), in the current language; ``english`` when the code is unknown."""
    if code == rule.CHOSEN:
        return gettext("chosen")
    if code == rule.NO_STOCK:
        return gettext("no stock")
    if code == rule.NO_LANE:
        return gettext("no transit lane to the site")
    if code == rule.LATE:
        return gettext("arrives %(when)s, after the due time", when=_instant(args.get("arrival")))
    if code == rule.LATER_THAN_WINNER:
        return gettext(
            "arrives %(when)s, after the due time and %(later)s after %(depot)s",
            when=_instant(args.get("arrival")),
            later=_minutes(args.get("later_minutes")),
            depot=args.get("winner", ""),
        )
    if code == rule.BELOW_TARGET:
        return gettext(
            "would fall below target stock (%(left)s < %(target)s)",
            left=args.get("left", ""),
            target=args.get("target", ""),
        )
    if code == rule.COSTLIER:
        return gettext(
            "costs %(cost)s CNY, %(extra)s more",
            cost=money(args.get("cost")),
            extra=money(args.get("extra")),
        )
    if code == rule.LATER_SAME_COST:
        return gettext(
            "same cost, arrives %(when)s, %(later)s later",
            when=_instant(args.get("arrival")),
            later=_minutes(args.get("later_minutes")),
        )
    if code == rule.TIE_BY_CODE:
        return gettext(
            "same cost and arrival as %(depot)s, which comes first by code",
            depot=args.get("winner", ""),
        )
    if code == DISPATCH_CHOSEN:
        return gettext("chosen by batch dispatch")
    if code == DISPATCH_NOT_CHOSEN:
        return gettext("not chosen: batch dispatch weighs every open case together")
    return english


def emergency_note(code: str, args: Mapping[str, Any], english: str = "") -> str:
    """Why the emergency courier was booked or not (``optimizer.depot_choice``'s note
    codes), in the current language; ``english`` when the code is unknown."""
    if code == rule.NOT_BOOKED_STANDARD_ON_TIME:
        return gettext(
            "not booked: standard service from %(depot)s meets the due time",
            depot=args.get("depot", ""),
        )
    if code == rule.BOOKED_SOONER:
        return gettext(
            "booked: arrives %(when)s, %(sooner)s sooner than standard",
            when=_instant(args.get("arrival")),
            sooner=_minutes(args.get("sooner_minutes")),
        )
    if code == rule.NOT_BOOKED_NO_SOONER:
        return gettext("not booked: it arrives no sooner than standard service")
    return english


def courier_reason(code: str, args: Mapping[str, Any], english: str = "") -> str:
    """Why the emergency courier was or was not booked, as the end of a sentence that
    already says whether it was ("booked: ...", "not booked: ..." come from
    ``emergency_note``)."""
    if code == rule.NOT_BOOKED_STANDARD_ON_TIME:
        return gettext(
            "standard service from %(depot)s meets the due time", depot=args.get("depot", "")
        )
    if code == rule.BOOKED_SOONER:
        return gettext(
            "%(sooner)s sooner than standard service", sooner=_minutes(args.get("sooner_minutes"))
        )
    if code == rule.NOT_BOOKED_NO_SOONER:
        return gettext("it arrives no sooner than standard service")
    return english


# --- entitlement --------------------------------------------------------------------------------

_BEFORE_WARRANTY = re.compile(r"^before warranty \((.+)\): the vendor's responsibility$")
_IN_WARRANTY = re.compile(r"^in warranty until (\d{4}-\d{2}-\d{2})$")
_CONTRACT = re.compile(r"^contract (\S+) \((5x8|7x24)\) until (\d{4}-\d{2}-\d{2})$")
_SERIAL_UNKNOWN = "serial unknown and no active contract covers this service"
_WARRANTY_ENDED = re.compile(
    r"^warranty ended (\d{4}-\d{2}-\d{2}) and no active contract covers it$"
)
_NOT_COVERED = re.compile(r"^(.+) is not covered by warranty or an active contract$")


def entitlement_text(english: str) -> str:
    """Why a case is free or billable (``rma.service.entitlement``'s reason, stored on
    the case in English), in the current language; unknown text as it is."""
    if english == _SERIAL_UNKNOWN:
        return gettext("serial unknown and no active contract covers this service")
    if match := _BEFORE_WARRANTY.match(english):
        phase = match.group(1).replace(" ", "_")
        return gettext(
            "before warranty (%(phase)s): the vendor's responsibility",
            phase=kinds.PHASE_LABELS.get(phase, match.group(1)),
        )
    if match := _IN_WARRANTY.match(english):
        return gettext("in warranty until %(date)s", date=match.group(1))
    if match := _CONTRACT.match(english):
        return gettext(
            "contract %(contract)s (%(coverage)s) until %(date)s",
            contract=match.group(1),
            coverage=match.group(2),
            date=match.group(3),
        )
    if match := _WARRANTY_ENDED.match(english):
        return gettext(
            "warranty ended %(date)s and no active contract covers it", date=match.group(1)
        )
    if match := _NOT_COVERED.match(english):
        kind = match.group(1).replace(" ", "_")
        return gettext(
            "%(kind)s is not covered by warranty or an active contract",
            kind=kinds.LABELS.get(kind, match.group(1)),
        )
    return english


# --- escalations --------------------------------------------------------------------------------

# Who the "at risk" escalation (step 0) goes to, as stored on it (English).
AT_RISK_TITLE = "service supervisors"


# The titles the default ladder is seeded with (``ladder.DEFAULT_LADDER``), as people
# read them; a title an administrator typed is shown as typed.
DEFAULT_TITLES: dict[str, Any] = {
    REGIONAL_SUPERVISOR[0]: lazy_gettext("regional service supervisor"),
    HQ_MANAGER[0]: lazy_gettext("HQ service manager"),
    HQ_DIRECTOR[0]: lazy_gettext("HQ service director"),
    SERVICE_ENGINEERS[0]: lazy_gettext("service engineer"),
}


def escalation_title(step: int, title: str) -> str:
    """Who an escalation was raised to: the ladder's title (the default ones in the
    reader's language, an administrator's own as written), or the supervisors for
    the "at risk" escalation (step 0)."""
    if step == 0 and title == AT_RISK_TITLE:
        return gettext("service supervisors")
    default = DEFAULT_TITLES.get(title)
    return str(default) if default is not None else title


def escalation_step(step: int) -> str:
    """A rung of the ladder as people read it: "step 2", or "at risk" for step 0."""
    return gettext("at risk") if step == 0 else gettext("step %(step)s", step=step)


# --- the case history ---------------------------------------------------------------------------

# What each event of the history did (in English the step's own name, as the API
# calls it; in Chinese the step as people say it).
ACTION_LABELS: dict[str, Any] = {
    "open": lazy_gettext("open"),
    "approve": lazy_gettext("approve"),
    "allocate": lazy_gettext("allocate"),
    "backorder": lazy_gettext("backorder"),
    "reallocate": lazy_gettext("reallocate"),
    "ship": lazy_gettext("ship"),
    "deliver": lazy_gettext("deliver"),
    "receive-defective": lazy_gettext("receive defective"),
    "start-repair": lazy_gettext("start repair"),
    "finish-repair": lazy_gettext("finish repair"),
    "return-repaired": lazy_gettext("return repaired"),
    "loaner-back": lazy_gettext("loaner back"),
    "receive-replacement-back": lazy_gettext("receive replacement back"),
    "confirm-cause": lazy_gettext("confirm cause"),
    "close": lazy_gettext("close"),
    "cancel": lazy_gettext("cancel"),
    "escalate": lazy_gettext("escalate"),
    "acknowledge-escalation": lazy_gettext("acknowledge escalation"),
    "promise-lapsed": lazy_gettext("promise lapsed"),
    "chase-return": lazy_gettext("chase return"),
}

DETAIL_LABELS: dict[str, Any] = {
    "fault_level": lazy_gettext("fault level"),
    "kind": lazy_gettext("kind"),
    "entitlement": lazy_gettext("entitlement"),
    "automatic": lazy_gettext("automatic"),
    "billable": lazy_gettext("billable"),
    "depot": lazy_gettext("depot"),
    "part_number": lazy_gettext("part"),
    "service": lazy_gettext("service"),
    "ships_at": lazy_gettext("ships at"),
    "promised_delivery": lazy_gettext("promised delivery"),
    "cost": lazy_gettext("shipping (CNY)"),
    "at_risk": lazy_gettext("at risk"),
    "from": lazy_gettext("from"),
    "to": lazy_gettext("to"),
    "by": lazy_gettext("by"),
    "serial": lazy_gettext("serial"),
    "delivered_at": lazy_gettext("delivered at"),
    "within_24h": lazy_gettext("within 24 hours"),
    "within_72_working_hours": lazy_gettext("within 72 working hours"),
    "cause": lazy_gettext("cause"),
    "rating": lazy_gettext("rating"),
    "signed_by": lazy_gettext("signed by"),
    "reason": lazy_gettext("reason"),
    "released": lazy_gettext("held stock released"),
    "expected_back": lazy_gettext("expected back"),
    "due": lazy_gettext("due"),
    "step": lazy_gettext("rung"),
    "email": lazy_gettext("e-mailed"),
    "support_hours": lazy_gettext("support hours"),
    "note": lazy_gettext("note"),
    "comment": lazy_gettext("comment"),
    "unit_cost": lazy_gettext("part (CNY)"),
    "shipping": lazy_gettext("shipping (CNY)"),
    "charge": lazy_gettext("charge (CNY)"),
    "before": lazy_gettext("before"),
    "finding": lazy_gettext("finding"),
}
# What the depot found on receipt of a defective unit (``inventory.models.Finding``).
FINDING_LABELS: dict[str, Any] = {
    "fault_confirmed": lazy_gettext("fault confirmed"),
    "no_fault_found": lazy_gettext("no fault found"),
}
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# Detail kept for programs, not shown to people (internal ids).
HIDDEN_DETAIL = ("movement", "escalation")
MONEY_DETAIL = ("cost", "unit_cost", "shipping", "charge")


SYSTEM_ACTOR = "system"


def actor_name(actor: str) -> str:
    """Who did something in the history: a user name, the system's scheduled runs, or
    the operator at the terminal (``cli:<login>``)."""
    if actor == SYSTEM_ACTOR:
        return gettext("system")
    if actor.startswith("cli:"):
        return gettext("operator %(login)s", login=actor.removeprefix("cli:"))
    return actor


def action_label(action: str) -> str:
    """What an event of the history did, as people read it."""
    return str(ACTION_LABELS.get(action, action.replace("-", " ")))


def status_change(from_status: str | None, to_status: str | None) -> str:
    """ "approved → allocated" in the reader's language ("" when the status stayed)."""
    if not to_status:
        return ""
    if from_status and from_status != to_status:
        return f"{kinds.status_label(from_status)} → {kinds.status_label(to_status)}"
    return kinds.status_label(to_status)


def detail_pairs(action: str, detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An event's detail (``queries.event_detail``: instants already typed) as
    (name, value) pairs in the current language; empty values and internal ids left
    out."""
    pairs = []
    for key, value in detail.items():
        if value is None or value == "" or key in HIDDEN_DETAIL:
            continue
        pairs.append((_detail_name(action, key), _detail_value(action, key, value)))
    return pairs


def _detail_name(action: str, key: str) -> str:
    if action == "escalate" and key == "to":
        return gettext("notified")
    if action == "cancel" and key == "due":
        return gettext("back by")
    if action == "chase-return" and key == "to":
        return gettext("e-mailed")
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def _detail_value(action: str, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{_detail_name(action, k)} {_detail_value(action, k, v)}"
            for k, v in value.items()
            if v not in (None, "")
        )
    if isinstance(value, str) and ISO_INSTANT.match(value):
        return _instant(value)  # inside a nested detail, instants are still ISO text
    if key in MONEY_DETAIL:
        return money(value)
    if key == "kind":
        return kinds.kind_label(str(value))
    if key == "service":
        return service_label(str(value))
    if key == "entitlement":
        return entitlement_text(str(value))
    if key == "reason" and action == "promise-lapsed":
        return stored_at_risk_text(str(value))
    if key == "step" and action in ("escalate", "acknowledge-escalation"):
        return escalation_step(int(value)) if str(value).isdigit() else str(value)
    if key == "to" and action == "escalate":
        return escalation_title(0 if value == AT_RISK_TITLE else 1, str(value))
    if key == "by" and value == BATCH_DISPATCH:
        return gettext("batch dispatch")
    if key == "support_hours":
        return f"{float(value):g}"
    if key == "finding" and value in FINDING_LABELS:
        return str(FINDING_LABELS[value])
    if key in ("status", "from_status", "to_status") and value in {s.value for s in Status}:
        return kinds.status_label(str(value))
    return str(value)
