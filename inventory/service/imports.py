"""CSV into the inventory: the parts catalogue and opening stock.

Imports are all-or-nothing: the whole file is checked first, every problem is
reported (``line`` as an editor counts them, the header being line 1,
``column`` and ``reason``) and, if there is any, ``Invalid`` is raised and
nothing is written. A clean file is written in the one transaction of the use
case, so a failure half-way still leaves the database as it was. Stock and the
ledger out as CSV are ``inventory.service.exports``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from core import clock
from core.auth import Actor, Role
from core.csv_files import read_cell
from core.db import UnitOfWork, transactional
from core.errors import FieldProblem, Invalid
from core.i18n import gettext
from depots.models import Depot
from inventory.models import Bucket, LedgerEntry, Location, Part, PartIn, Unit
from inventory.service import ledger
from inventory.service import serials as serial_space
from inventory.service.ledger import Delta
from inventory.service.stock import (
    CONDITION_NAMES,
    MAX_QTY,
    SERIAL_PATTERN,
    describe_location,
)

PART_COLUMNS = ("part_number", "description", "family", "serialized", "unit_cost")
PART_OPTIONAL = ("weight_kg", "criticality", "superseded_by")
STOCK_COLUMNS = ("depot", "part_number", "qty")
STOCK_OPTIONAL = ("serials", "condition")

IMPORT_ROLES = (Role.PLANNER,)
STOCK_IMPORT_REASON = "stock import"
MAX_IMPORT_ROWS = 20_000
# Keeps IN (...) lists well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500
RECEIPT_ROWS = 500
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f"})
SERIAL_SEPARATORS = re.compile(r"[;\s]+")
WHOLE_NUMBER = re.compile(r"^\+?\d+$")
# NUL and friends: never meant in a cell, and PostgreSQL refuses NUL in text.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import file; ``column`` is empty for a whole-row problem."""

    line: int
    column: str
    reason: str

    def as_field_problem(self) -> FieldProblem:
        return FieldProblem(self.column, self.reason, line=self.line)

    def __str__(self) -> str:
        if self.column:
            return gettext(
                "line %(line)s, column %(column)s: %(reason)s",
                line=self.line,
                column=self.column,
                reason=self.reason,
            )
        return gettext("line %(line)s: %(reason)s", line=self.line, reason=self.reason)


@dataclass(frozen=True)
class ImportReport:
    """What an import did. Parts: ``created`` + ``updated`` + ``unchanged`` = ``rows``.
    Stock: ``created`` receipt movements booked (one per depot, or per 500 rows)
    bringing in ``units`` units."""

    kind: str  # "parts" or "stock"
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    units: int = 0
    movement_ids: tuple[int, ...] = field(default=(), repr=False)

    def summary(self) -> str:
        """One line for people, e.g. ``parts: 12 rows, 3 created, 8 updated, 1 unchanged``."""
        if self.kind == "parts":
            return gettext(
                "parts: %(rows)s rows, %(created)s created, %(updated)s updated, "
                "%(unchanged)s unchanged",
                rows=self.rows,
                created=self.created,
                updated=self.updated,
                unchanged=self.unchanged,
            )
        return gettext(
            "stock: %(rows)s rows, %(units)s units booked in %(receipts)s receipt(s)",
            rows=self.rows,
            units=self.units,
            receipts=self.created,
        )


# --- reading a CSV file ------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """Text of an uploaded CSV file: UTF-8 (with or without BOM), else GB18030, which
    Chinese spreadsheet programs write by default. ``Invalid`` if it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(
        gettext("the file is not text in UTF-8 or GB18030"),
        fields=[Problem(1, "", gettext("not UTF-8 or GB18030 text")).as_field_problem()],
    )


@dataclass
class _Table:
    """The rows of a CSV file as {column: stripped text}, with their line numbers."""

    columns: set[str]
    rows: list[tuple[int, dict[str, str]]]
    problems: list[Problem]


def _normalise_name(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _read_table(text: str, required: Sequence[str], optional: Sequence[str]) -> _Table:
    """Parse CSV text. Header problems are reported on line 1; rows are read for the
    columns that are known, so one run shows every problem in the file."""
    expected = ",".join(required)
    text = text.removeprefix("\ufeff")  # spreadsheet programs like to add a BOM
    if not text.strip():
        problem = Problem(
            1, "", gettext("the file is empty; expected the header %(header)s", header=expected)
        )
        return _Table(set(), [], [problem])
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader)
    except csv.Error as error:
        return _Table(
            set(), [], [Problem(1, "", gettext("unreadable CSV header: %(error)s", error=error))]
        )
    names = [_normalise_name(name) for name in header]
    known = set(required) | set(optional)
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue  # a blank header cell: tolerated if its cells are blank too
        if name not in known:
            allowed = ", ".join([*required, *optional])
            problems.append(
                Problem(
                    1, name, gettext("unknown column; the columns are %(columns)s", columns=allowed)
                )
            )
        elif name in positions:
            problems.append(Problem(1, name, gettext("column appears twice")))
        else:
            positions[name] = index
    for name in required:
        if name not in positions:
            problems.append(
                Problem(
                    1,
                    name,
                    gettext("required column is missing (header: %(header)s)", header=expected),
                )
            )
    rows: list[tuple[int, dict[str, str]]] = []
    next_line = reader.line_num + 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are harmless
            if len(rows) >= MAX_IMPORT_ROWS:
                problems.append(
                    Problem(
                        line,
                        "",
                        gettext("too many rows: at most %(limit)s per file", limit=MAX_IMPORT_ROWS),
                    )
                )
                break
            short = any(index >= len(cells) for index in positions.values())
            if short or any(cell.strip() for cell in cells[len(names) :]):
                problems.append(
                    Problem(
                        line,
                        "",
                        gettext(
                            "%(cells)s cells, but the header has %(columns)s",
                            cells=len(cells),
                            columns=len(names),
                        ),
                    )
                )
                continue
            values = {name: read_cell(cells[index].strip()) for name, index in positions.items()}
            garbled = [name for name, value in values.items() if CONTROL.search(value)]
            if garbled:
                problems += [
                    Problem(line, name, gettext("must not contain control characters"))
                    for name in garbled
                ]
                continue
            rows.append((line, values))
    except csv.Error as error:
        problems.append(Problem(next_line, "", gettext("unreadable CSV: %(error)s", error=error)))
    if not rows and not problems:
        problems.append(Problem(1, "", gettext("the file has a header but no rows")))
    return _Table(set(positions), rows, problems)


def _refuse(problems: list[Problem], kind: str) -> Invalid:
    problems = sorted(problems, key=lambda p: (p.line, p.column))
    bad_lines = len({p.line for p in problems})
    shown = "; ".join(str(p) for p in problems[:5])
    more = gettext("; and %(count)s more", count=len(problems) - 5) if len(problems) > 5 else ""
    return Invalid(
        gettext(
            "%(problems)s problem(s) on %(lines)s line(s) of the %(kind)s file, nothing "
            "imported: %(shown)s%(more)s",
            problems=len(problems),
            lines=bad_lines,
            kind=kind,
            shown=shown,
            more=more,
        ),
        fields=[p.as_field_problem() for p in problems],
    )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _pydantic_reason(error: dict) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


# --- parts --------------------------------------------------------------------------------


def _parse_bool(text: str) -> bool | None:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


@dataclass(frozen=True)
class _PartRow:
    line: int
    spec: PartIn


def _existing_parts(uow: UnitOfWork, numbers: Iterable[str]) -> dict[str, Part]:
    wanted = sorted(set(numbers))
    found: dict[str, Part] = {}
    for chunk in _chunks(wanted):
        for part in uow.session.scalars(select(Part).where(Part.part_number.in_(chunk))):
            found[part.part_number] = part
    return found


def _with_stock_history(uow: UnitOfWork, numbers: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(numbers)):
        found.update(
            uow.session.scalars(
                select(LedgerEntry.part_number).where(LedgerEntry.part_number.in_(chunk)).distinct()
            )
        )
    return found


def _check_part_row(
    line: int, cells: dict[str, str], columns: set[str], existing: Part | None
) -> tuple[PartIn | None, list[Problem]]:
    """Validate one row as a ``PartIn``. Blank optional cells keep the part's current
    value (a new part gets the default); a blank ``superseded_by`` clears it."""
    problems: list[Problem] = []
    values: dict[str, object] = {}
    if existing is not None:
        values.update(
            weight_kg=existing.weight_kg,
            criticality=existing.criticality,
            superseded_by=existing.superseded_by,
        )
    for name in ("part_number", "description", "family", "unit_cost"):
        if name in columns:
            values[name] = cells[name]
    if "serialized" in columns:
        flag = _parse_bool(cells["serialized"])
        if flag is None:
            problems.append(
                Problem(line, "serialized", gettext("must be yes or no (true/false, 1/0)"))
            )
        else:
            values["serialized"] = flag
    for name in ("weight_kg", "criticality"):
        if name in columns and cells[name]:
            values[name] = cells[name]
    if "superseded_by" in columns:
        values["superseded_by"] = cells["superseded_by"] or None
    try:
        spec = PartIn.model_validate(values)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            column = str(item["loc"][0]) if item["loc"] else ""
            if column in columns:
                problems.append(Problem(line, column, _pydantic_reason(item)))
        return None, problems
    return (None if problems else spec), problems


def _supersession_problems(
    uow: UnitOfWork, rows: Sequence[_PartRow], in_file: set[str]
) -> list[Problem]:
    """Successors must exist (in the catalogue or the file) and chains must not loop,
    judged on the catalogue as it will be after the import."""
    problems: list[Problem] = []
    successors = {
        part: successor
        for part, successor in uow.session.execute(
            select(Part.part_number, Part.superseded_by).where(Part.superseded_by.is_not(None))
        )
    }
    for row in rows:
        successors.pop(row.spec.part_number, None)
        if row.spec.superseded_by is not None:
            successors[row.spec.part_number] = row.spec.superseded_by
    wanted = {r.spec.superseded_by for r in rows if r.spec.superseded_by} - in_file
    known = set(_existing_parts(uow, wanted))
    for row in rows:
        successor = row.spec.superseded_by
        if successor is None:
            continue
        if successor == row.spec.part_number:
            problems.append(
                Problem(row.line, "superseded_by", gettext("a part cannot supersede itself"))
            )
        elif successor not in in_file and successor not in known:
            problems.append(
                Problem(
                    row.line,
                    "superseded_by",
                    gettext("unknown part %(part)r", part=successor),
                )
            )
        else:
            chain = [row.spec.part_number]
            while chain[-1] in successors and successors[chain[-1]] not in chain:
                chain.append(successors[chain[-1]])
            if chain[-1] in successors and successors[chain[-1]] == row.spec.part_number:
                loop = " -> ".join([*chain, row.spec.part_number])
                problems.append(
                    Problem(
                        row.line, "superseded_by", gettext("supersession cycle %(loop)s", loop=loop)
                    )
                )
    return problems


@transactional
def import_parts(uow: UnitOfWork, actor: Actor, csv_text: str) -> ImportReport:
    """Create and update catalogue parts from CSV text (planners and admins).

    Columns ``part_number,description,family,serialized,unit_cost`` are required,
    ``weight_kg,criticality,superseded_by`` optional, in any order. ``serialized``
    is yes/no (true/false, 1/0). A part already in the catalogue is updated; its
    blank optional cells keep their current values, except a blank
    ``superseded_by``, which clears the supersession. ``superseded_by`` may name
    a part defined further down the same file. Raises ``Forbidden`` for other
    roles and ``Invalid`` (``fields``: every bad line, column, reason)
    when any row is bad; then nothing is written.
    """
    actor.require_role(*IMPORT_ROLES)
    table = _read_table(csv_text, PART_COLUMNS, PART_OPTIONAL)
    problems = list(table.problems)
    numbers = [cells.get("part_number", "").strip().upper() for _, cells in table.rows]
    existing = _existing_parts(uow, [n for n in numbers if n])
    first_line: dict[str, int] = {}
    good: list[_PartRow] = []
    for (line, cells), number in zip(table.rows, numbers, strict=True):
        spec, row_problems = _check_part_row(line, cells, table.columns, existing.get(number))
        if number and number in first_line:
            row_problems.append(
                Problem(
                    line,
                    "part_number",
                    gettext(
                        "%(part)s appears again (first on line %(line)s)",
                        part=number,
                        line=first_line[number],
                    ),
                )
            )
        elif number:
            first_line[number] = line
        problems += row_problems
        if spec is not None and not row_problems:
            good.append(_PartRow(line, spec))
    changing = [
        r.spec.part_number
        for r in good
        if r.spec.part_number in existing
        and existing[r.spec.part_number].serialized != r.spec.serialized
    ]
    locked = _with_stock_history(uow, changing)
    for row in good:
        if row.spec.part_number in locked:
            problems.append(
                Problem(
                    row.line, "serialized", gettext("cannot change: the part has stock history")
                )
            )
    problems += _supersession_problems(uow, good, set(first_line))
    if problems:
        raise _refuse(problems, "parts")

    created = updated = unchanged = 0
    now = clock.now()
    new_parts: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    for row in good:
        values = row.spec.model_dump(exclude={"superseded_by"})
        successor = row.spec.superseded_by
        part = existing.get(row.spec.part_number)
        if part is None:
            new_parts.append({**values, "superseded_by": None, "created_at": now})
            created += 1
            if successor is not None:
                links.append({"part_number": row.spec.part_number, "superseded_by": successor})
            continue
        if part.superseded_by != successor:
            links.append({"part_number": row.spec.part_number, "superseded_by": successor})
        elif all(getattr(part, k) == v for k, v in values.items()):
            unchanged += 1
            continue
        updated += 1
        for name, value in values.items():
            setattr(part, name, value)
        uow.session.add(part)
    if new_parts:
        uow.session.execute(insert(Part), new_parts)
    uow.session.flush()
    # Successors may be parts created just above, so links are set once all exist.
    if links:
        uow.session.execute(update(Part), links)
    return ImportReport("parts", len(good), created=created, updated=updated, unchanged=unchanged)


# --- stock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StockRow:
    line: int
    depot: str
    part_number: str
    qty: int
    condition: str
    serials: tuple[str, ...]


def _split_serials(text: str) -> list[str]:
    return [s.upper() for s in SERIAL_SEPARATORS.split(text.strip()) if s]


def _known_serials(uow: UnitOfWork, serials: Sequence[str]) -> dict[str, Unit]:
    found: dict[str, Unit] = {}
    for chunk in _chunks(sorted(set(serials))):
        for unit in uow.session.scalars(select(Unit).where(Unit.serial.in_(chunk))):
            found[unit.serial] = unit
    return found


def _check_stock_row(
    line: int,
    cells: dict[str, str],
    columns: set[str],
    depots: set[str],
    parts: dict[str, Part],
) -> tuple[_StockRow | None, list[Problem]]:
    problems: list[Problem] = []
    depot = cells.get("depot", "").upper()
    if "depot" in columns and depot not in depots:
        reason = (
            gettext("is required") if not depot else gettext("unknown depot %(depot)r", depot=depot)
        )
        problems.append(Problem(line, "depot", reason))
    number = cells.get("part_number", "").upper()
    part = parts.get(number)
    if "part_number" in columns and part is None:
        reason = (
            gettext("is required") if not number else gettext("unknown part %(part)r", part=number)
        )
        problems.append(Problem(line, "part_number", reason))
    qty: int | None = None
    if "qty" in columns:
        text = cells["qty"]
        digits = text.lstrip("+").lstrip("0")
        if not WHOLE_NUMBER.match(text) or not digits:
            problems.append(Problem(line, "qty", gettext("must be a whole number > 0")))
        elif len(digits) > len(str(MAX_QTY)) or int(digits) > MAX_QTY:
            problems.append(
                Problem(line, "qty", gettext("must be at most %(limit)s", limit=MAX_QTY))
            )
        else:
            qty = int(digits)
    condition = (cells.get("condition") or Bucket.GOOD.value).lower()
    if condition not in CONDITION_NAMES:
        problems.append(
            Problem(
                line,
                "condition",
                gettext("must be one of %(names)s", names=", ".join(CONDITION_NAMES)),
            )
        )
    serials = _split_serials(cells.get("serials", ""))
    bad = [s for s in serials if not SERIAL_PATTERN.match(s)]
    if bad:
        problems.append(
            Problem(
                line,
                "serials",
                gettext(
                    "malformed serial %(serials)s (3-64 letters, digits, . _ / -)",
                    serials=", ".join(bad[:3]),
                ),
            )
        )
    twice = sorted({s for s in serials if serials.count(s) > 1})
    if twice:
        problems.append(
            Problem(
                line,
                "serials",
                gettext("serial given twice: %(serials)s", serials=", ".join(twice)),
            )
        )
    if part is not None:
        if not part.serialized and serials:
            problems.append(
                Problem(
                    line,
                    "serials",
                    gettext("%(part)s is not serialized; leave it blank", part=part.part_number),
                )
            )
        elif part.serialized and qty is not None and len(serials) != qty:
            problems.append(
                Problem(
                    line,
                    "serials",
                    gettext(
                        "%(part)s is serialized: give %(wanted)s serial(s), got %(got)s",
                        part=part.part_number,
                        wanted=qty,
                        got=len(serials),
                    ),
                )
            )
    if problems or part is None or qty is None or not set(STOCK_COLUMNS) <= columns:
        return None, problems
    return _StockRow(line, depot, part.part_number, qty, condition, tuple(serials)), problems


@transactional
def import_stock(uow: UnitOfWork, actor: Actor, csv_text: str) -> ImportReport:
    """Book stock from CSV text as receipts (reason "stock import"); planners and admins.

    Columns ``depot,part_number,qty`` are required; ``serials`` (separated by
    ``;`` or spaces, one new serial per unit of a serialized part) and
    ``condition`` (default good) are optional. Rows for the same depot and part
    add up. Each row becomes ledger entries of a receipt movement, one movement per
    depot (split every 500 rows), all referenced ``IMPORT-<local time>``. Raises
    ``Forbidden`` for other roles and ``Invalid`` (``fields``: every
    bad line, column, reason) when any row is bad; then nothing is booked.
    """
    actor.require_role(*IMPORT_ROLES)
    table = _read_table(csv_text, STOCK_COLUMNS, STOCK_OPTIONAL)
    problems = list(table.problems)
    depots = set(uow.session.scalars(select(Depot.code)))
    numbers = {cells.get("part_number", "").upper() for _, cells in table.rows}
    parts = _existing_parts(uow, [n for n in numbers if n])
    good: list[_StockRow] = []
    for line, cells in table.rows:
        row, row_problems = _check_stock_row(line, cells, table.columns, depots, parts)
        problems += row_problems
        if row is not None:
            good.append(row)
    # Serials must be new: not on the books, and not twice in the file.
    seen: dict[str, int] = {}
    for row in good:
        repeated = [s for s in row.serials if s in seen]
        if repeated:
            problems.append(
                Problem(
                    row.line,
                    "serials",
                    gettext(
                        "serial %(serial)s is already on line %(line)s",
                        serial=repeated[0],
                        line=seen[repeated[0]],
                    ),
                )
            )
        for serial in row.serials:
            seen.setdefault(serial, row.line)
    known = _known_serials(uow, list(seen))
    held = serial_space.held_elsewhere(uow, [s for s in seen if s not in known])
    for row in good:
        clash = [s for s in row.serials if s in known]
        if clash:
            unit = known[clash[0]]
            problems.append(
                Problem(
                    row.line,
                    "serials",
                    gettext(
                        "serial %(serial)s already exists (%(part)s, %(where)s)",
                        serial=unit.serial,
                        part=unit.part_number,
                        where=describe_location(unit),
                    ),
                )
            )
        elsewhere = [s for s in row.serials if s in held]
        if elsewhere:
            problems.append(
                Problem(
                    row.line,
                    "serials",
                    gettext(
                        "serial %(serial)s is %(where)s; one serial cannot be in two places",
                        serial=elsewhere[0],
                        where=held[elsewhere[0]],
                    ),
                )
            )
    if problems:
        raise _refuse(problems, "stock")

    now = clock.now()
    reference = f"IMPORT-{clock.local(now):%Y%m%d-%H%M%S}"
    units = [
        {
            "serial": serial,
            "part_number": row.part_number,
            "condition": row.condition,
            "location": Location.DEPOT.value,
            "depot_code": row.depot,
            "reservation_id": None,
            "refurbished": False,
            "note": "",
            "updated_at": now,
        }
        for row in good
        for serial in row.serials
    ]
    for chunk in _chunks(units):
        uow.session.execute(insert(Unit), list(chunk))
    # One receipt per depot (split every RECEIPT_ROWS rows, to keep each statement
    # small): the import is one event per depot, not thousands of little ones.
    by_depot: dict[str, list[_StockRow]] = {}
    for row in good:
        by_depot.setdefault(row.depot, []).append(row)
    # Every balance the receipts touch is locked now, in one sorted pass: the posts
    # below then take no lock out of the house order (units, then balances, sorted).
    ledger.lock_balances(uow, {(row.depot, row.part_number, row.condition) for row in good})
    movement_ids: list[int] = []
    for depot_rows in by_depot.values():
        for start in range(0, len(depot_rows), RECEIPT_ROWS):
            deltas = [
                delta
                for row in depot_rows[start : start + RECEIPT_ROWS]
                for delta in (
                    [Delta(row.depot, row.part_number, row.condition, 1, s) for s in row.serials]
                    if row.serials
                    else [Delta(row.depot, row.part_number, row.condition, row.qty)]
                )
            ]
            movement = ledger.post(
                uow,
                "receipt",
                actor.username,
                deltas,
                reason=STOCK_IMPORT_REASON,
                reference=reference,
            )
            assert movement.id is not None
            movement_ids.append(movement.id)
    return ImportReport(
        "stock",
        len(good),
        created=len(movement_ids),
        units=sum(row.qty for row in good),
        movement_ids=tuple(movement_ids),
    )
