"""Languages: Simplified Chinese first, English too, through Flask-Babel catalogues.

Each package keeps its own catalogue, ``<package>/translations/zh_Hans_CN/
LC_MESSAGES/messages.po`` (Babel reads ``zh_CN`` as ``zh_Hans_CN``, so that is the
directory name; a catalogue under ``zh_CN`` would be silently ignored). The
project's set-up compiles them (``make``): ``.mo`` files are build output, never
committed. ``make messages`` extracts the strings of a package and updates its
catalogue.

The language of a page is the signed-in user's setting (their profile), else the
browser's ``Accept-Language``, else English; ``<html lang>`` says which, in BCP 47
(``zh-Hans-CN``). The API and the CLI stay English: API errors carry stable
``error`` codes for programs, and their ``detail`` is English.

Strings known at import time (navigation labels, kind names) are lazy
(``lazy_gettext``): they are translated when rendered, in the reader's language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

# The codes users choose from, in the order offered; the first is the default for
# a browser that asks for Chinese.
LANGUAGES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "en"
# Packages with a catalogue of their own, in the order their catalogues are merged.
CATALOGUE_PACKAGES = ("core", "depots", "inventory", "rma", "planning", "reports")

__all__ = ["LANGUAGES", "gettext", "html_lang", "init_i18n", "lazy_gettext", "ngettext"]


def translation_directories(root: Path) -> list[str]:
    """Each package's ``translations`` folder below ``root`` (the project's root)."""
    return [str(root / package / "translations") for package in CATALOGUE_PACKAGES]


def choose_language() -> str:
    """The request's language code: the API speaks English; a page the user's choice,
    else the browser's preference, else English."""
    if request.path.startswith("/api/"):
        return DEFAULT_LANGUAGE
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def html_lang() -> str:
    """The page's language as BCP 47 (``zh-Hans-CN``, ``en``) for ``<html lang>``."""
    return str(get_locale() or DEFAULT_LANGUAGE).replace("_", "-")


def init_i18n(app: Flask, root: Path) -> None:
    """Install Flask-Babel on ``app`` with every package's catalogue."""
    Babel(
        app,
        locale_selector=choose_language,
        default_translation_directories=";".join(translation_directories(root)),
        default_timezone="Asia/Shanghai",
    )

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {"html_lang": html_lang, "languages": LANGUAGES}
