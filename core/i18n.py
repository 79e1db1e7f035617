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

import gettext as gettext_module
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import support
from babel.lists import format_list
from babel.messages.plurals import get_plural
from flask import Flask, has_request_context, request
from flask_babel import (
    Babel,
    Domain,
    force_locale,
    get_locale,
    gettext,
    lazy_gettext,
    ngettext,
)
from flask_login import current_user

# The codes users choose from, in the order offered; the first is the default for
# a browser that asks for Chinese.
LANGUAGES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}
# Each language's name in the reader's language (LANGUAGES names each in its own).
LANGUAGE_LABELS: dict[str, Any] = {
    "zh_CN": lazy_gettext("Simplified Chinese"),
    "en": lazy_gettext("English"),
}
DEFAULT_LANGUAGE = "en"
# Packages with a catalogue of their own, in the order their catalogues are merged.
CATALOGUE_PACKAGES = ("core", "depots", "inventory", "rma", "planning", "reports", "search")

__all__ = [
    "LANGUAGES",
    "LANGUAGE_LABELS",
    "force_locale",
    "gettext",
    "html_lang",
    "init_i18n",
    "is_chinese",
    "join_or",
    "language_for",
    "lazy_gettext",
    "ngettext",
    "zh_first",
]


def translation_directories(root: Path) -> list[str]:
    """Each package's ``translations`` folder below ``root`` (the project's root)."""
    return [str(root / package / "translations") for package in CATALOGUE_PACKAGES]


def browser_language() -> str:
    """The language the browser asks for (``Accept-Language``), else English."""
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def language_for(choice: str | None) -> str:
    """The language a page is shown in for a user's setting ``choice`` (None: the browser's)."""
    return choice if choice in LANGUAGES else browser_language()


def choose_language() -> str:
    """The request's language code: the API speaks English; a page the user's choice,
    else the browser's preference, else English. Outside a request (the CLI, jobs)
    everything is English."""
    if not has_request_context() or request.path.startswith("/api/"):
        return DEFAULT_LANGUAGE
    return language_for(getattr(current_user, "language", None) if current_user else None)


def is_chinese() -> bool:
    """True when the text being produced is Chinese (a page in zh-CN)."""
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def join_or(items: list[str]) -> str:
    """``a, b or c`` in the current language (``a、b或c`` in Chinese)."""
    return format_list(items, style="or", locale=str(get_locale() or DEFAULT_LANGUAGE))


def zh_first(chinese: str | None, english: str) -> str:
    """A name with a Chinese form: ``上海 Shanghai`` on a Chinese page, ``Shanghai``
    on an English one (and the English name alone when there is no Chinese one)."""
    if chinese and is_chinese() and chinese != english:
        return f"{chinese} {english}"
    return english


def html_lang() -> str:
    """The page's language as BCP 47 (``zh-Hans-CN``, ``en``) for ``<html lang>``."""
    return str(get_locale() or DEFAULT_LANGUAGE).replace("_", "-")


@lru_cache
def _plural_rule(locale: str) -> Callable[[int], int]:
    return gettext_module.c2py(get_plural(locale).plural_expr)


class _MergedCatalogues(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, with the language's own plural rule once the packages'
    catalogues are merged: Flask-Babel keeps the rule of the last catalogue it
    read, and a package without a compiled catalogue has English's (``n != 1``),
    which would look up a Chinese plural (``ngettext``) under an index it has not."""

    def get_translations(self) -> Any:
        translations = super().get_translations()
        locale = get_locale()
        if locale is not None and isinstance(translations, support.Translations):
            translations.plural = _plural_rule(str(locale))
        return translations


def init_i18n(app: Flask, root: Path) -> None:
    """Install Flask-Babel on ``app`` with every package's catalogue."""
    babel = Babel(
        app,
        locale_selector=choose_language,
        default_translation_directories=";".join(translation_directories(root)),
        default_timezone="Asia/Shanghai",
    )
    babel.domain_instance = _MergedCatalogues(domain=app.extensions["babel"].default_domain)

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {
            "html_lang": html_lang,
            "languages": LANGUAGES,
            "language_labels": LANGUAGE_LABELS,
            "zh_first": zh_first,
        }
