"""Work on the Chinese message catalogues without hand-editing .po syntax.

    python tools/catalogue.py missing [PACKAGE ...]      untranslated msgids, one per line
    python tools/catalogue.py fill PACKAGE FILE.json     set msgstr from {"msgid": "译文"}

``fill`` keeps every other entry as it is and clears the fuzzy flag of the entries
it sets. Run ``make messages`` first (it extracts new strings into the catalogues),
and ``make catalogues`` after (it compiles them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "depots", "inventory", "rma", "planning", "reports")


def _path(package: str) -> Path:
    return ROOT / package / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def _read(package: str):
    with _path(package).open("rb") as handle:
        return read_po(handle, locale="zh_Hans_CN")


def missing(packages: list[str]) -> int:
    count = 0
    for package in packages or PACKAGES:
        for message in _read(package):
            if message.id and (not message.string or message.fuzzy):
                ident = message.id if isinstance(message.id, str) else message.id[0]
                print(f"{package}\t{json.dumps(ident, ensure_ascii=False)}")
                count += 1
    return 1 if count else 0


def fill(package: str, source: Path) -> int:
    wanted: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))
    catalogue = _read(package)
    unknown = [key for key in wanted if key not in catalogue]
    for message in catalogue:
        ident = message.id if isinstance(message.id, str) else (message.id or [""])[0]
        if message.id and ident in wanted:
            text = wanted[ident]
            message.string = (text,) if not isinstance(message.id, str) else text
            message.flags.discard("fuzzy")
    with _path(package).open("wb") as handle:
        write_po(handle, catalogue, width=100)
    for key in unknown:
        print(f"not in the {package} catalogue: {key}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "missing":
        return missing(argv[1:])
    if len(argv) == 3 and argv[0] == "fill":
        return fill(argv[1], Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
