"""Pages of the depots package: the depot map, the lanes editor, the calendars.

Every word on them comes from the catalogue (``core.i18n``); codes stored in the
database (modes, kinds, shipped holiday names) are named through
``depots.labels``, and a city's Chinese name comes first on a Chinese page.
"""

from typing import Any

from flask import Blueprint
from flask_babel import get_locale

from depots import labels

views = Blueprint("depots", __name__, template_folder="../templates")


def is_chinese() -> bool:
    """Whether the page being made is in Chinese."""
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def zh_first(chinese: str | None, name: str) -> str:
    """A place by both its names, the reader's first: ``上海 Shanghai`` on a Chinese
    page, ``Shanghai 上海`` on an English one (one name when there is no other)."""
    if not chinese or chinese == name:
        return name
    return f"{chinese} {name}" if is_chinese() else f"{name} {chinese}"


@views.context_processor
def _labels() -> dict[str, Any]:
    return {
        "mode_label": lambda code: labels.label(labels.MODE_LABELS, code),
        "kind_label": lambda code: labels.label(labels.KIND_LABELS, code),
        "service_label": lambda code: labels.label(labels.SERVICE_LABELS, code),
        "day_kind_label": lambda code: labels.label(labels.DAY_KIND_LABELS, code),
        "shipped_name": labels.shipped_name,
        "zh_first": zh_first,
    }


from depots.views import calendars, network  # noqa: E402, F401  (routes register on `views`)
