"""How a name becomes search keys, and a query the text those keys are matched with.

A thing is found when one of its keys *starts with* the query, so every key is
a place where someone might start typing:

* each word of a name or code (``"Changsha Bank"`` gives ``changsha bank`` and
  ``bank``; ``"LC-48X10G"`` gives ``lc-48x10g`` and ``48x10g``);
* each character of Chinese text, which has no spaces (``长沙银行`` gives
  ``长沙银行``, ``沙银行``, ``银行``, ``行``);
* for Chinese text, its pinyin from each syllable on, in full and as initials
  (``changshayinhang``, ``shayinhang`` ... and ``csyh``, ``syh`` ...).

Keys are normalised like queries (NFKC, so full-width letters are plain ones;
case-folded; runs of spaces made one) and cut to ``KEY_LENGTH`` characters: a
prefix lookup on an index answers them, with no substring scan. Pinyin comes
from pypinyin's phrase dictionary (``长沙`` is *chang sha*, not *zhang sha*);
only the reading it chooses is indexed.

Pure functions, no database: the indexer and the search share them, so a key
written and a query read are always normalised alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

# Long enough for any name's first words; longer queries are matched on this much.
KEY_LENGTH = 60
_SPACES = re.compile(r"\s+")
_ALNUM_WORD = re.compile(r"[0-9a-z]+")


def is_han(char: str) -> bool:
    """True for a Chinese character (CJK unified ideographs and their extensions)."""
    # Every ideograph lies above U+3400: Latin text is answered without a name lookup.
    return (
        char >= "\u3400"
        and unicodedata.category(char) == "Lo"
        and "CJK UNIFIED IDEOGRAPH" in unicodedata.name(char, "")
    )


def normalize(text: str) -> str:
    """Text as keys and queries are compared: NFKC, case-folded, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _word_starts(text: str) -> list[int]:
    """Where someone may start typing a part of ``text``: its start, the start of
    every word (after a space), of every run of letters and digits (after
    punctuation: ``48x10g`` in ``lc-48x10g``), and every Chinese character."""
    starts = []
    for index, char in enumerate(text):
        before = text[index - 1] if index else " "
        if char == " ":
            continue
        if (
            before == " "
            or is_han(char)
            or (char.isalnum() and not before.isalnum())
            or (char.isalnum() and is_han(before))
        ):
            starts.append(index)
    return starts


def _pinyin_keys(text: str) -> set[str]:
    """Full pinyin and initials of ``text`` from each syllable on; words that are
    not Chinese stay words (``长沙 Bank`` -> ``changshabank``, ``csbank``)."""

    def words(chunk: str) -> list[str]:
        return _ALNUM_WORD.findall(chunk)

    full = lazy_pinyin(text, errors=words)
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=words)
    keys = set()
    for start in range(len(full)):
        keys.add("".join(full[start:]))
        keys.add("".join(initials[start:]))
    return keys


def keys_for(texts: Iterable[str | None]) -> set[str]:
    """Every search key of a thing called by ``texts`` (its names, code, description)."""
    keys: set[str] = set()
    for raw in texts:
        text = normalize(raw or "")
        if not text:
            continue
        keys.update(text[start:] for start in _word_starts(text))
        if any(is_han(char) for char in text):
            keys.update(_pinyin_keys(text))
    return {key[:KEY_LENGTH].rstrip() for key in keys if key.strip()}
