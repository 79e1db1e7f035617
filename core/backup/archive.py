"""The backup file: one zip archive, the same whichever database wrote it.

```
manifest.json            format, version, revision, source database, and per table
                         its columns, row count and sequence high-water marks
tables/<table>.jsonl     one JSON array per row, values in the manifest's column order
```

Values that JSON has no type for are tagged objects with one key: ``{"dec": "12.50"}``
(Decimal), ``{"dt": "2026-03-16T01:30:00+00:00"}`` (an instant, in UTC when it has an
offset), ``{"date": ...}``, ``{"time": ...}``, ``{"b64": ...}`` (bytes) and
``{"json": "<text>"}`` (the stored text of a JSON column, so SQL NULL and JSON
``null`` stay apart). A plain JSON object never appears untagged, so reading is
unambiguous.

The archive is written to ``FILE.partial`` (mode 0600: it holds password hashes)
and renamed to ``FILE`` only once complete, so a file named ``FILE`` is always a
whole backup. The manifest is written last, with the row counts actually written.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from core.errors import Invalid

FORMAT = "spares-backup"
VERSION = 1
MANIFEST = "manifest.json"
LINES_PER_WRITE = 1000


@dataclass(frozen=True)
class TableEntry:
    """One table in a backup: its columns in file order, how many rows were
    written, and the high-water mark of each column a sequence fills."""

    name: str
    columns: tuple[str, ...]
    rows: int
    high_water: dict[str, int] = field(default_factory=dict)

    @property
    def member(self) -> str:
        return f"tables/{self.name}.jsonl"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": list(self.columns),
            "rows": self.rows,
            "high_water": self.high_water,
        }


@dataclass(frozen=True)
class Manifest:
    """What a backup holds. ``revision`` is the Alembic revision of the schema the
    rows were read from; ``dialect`` the database that wrote it."""

    revision: str
    dialect: str
    created_at: str
    tables: tuple[TableEntry, ...]

    @property
    def rows(self) -> int:
        return sum(entry.rows for entry in self.tables)

    def table(self, name: str) -> TableEntry | None:
        return next((entry for entry in self.tables if entry.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "revision": self.revision,
            "dialect": self.dialect,
            "created_at": self.created_at,
            "tables": [entry.to_json() for entry in self.tables],
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """The manifest in ``data``; ``Invalid`` when it is not one this code reads."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Invalid("not a Spares backup (its manifest names no spares-backup format)")
        if data.get("version") != VERSION:
            raise Invalid(
                f"backup format version {data.get('version')!r} is not {VERSION}, "
                "the one this version of Spares reads"
            )
        try:
            return cls(
                revision=str(data["revision"]),
                dialect=str(data["dialect"]),
                created_at=str(data["created_at"]),
                tables=tuple(
                    TableEntry(
                        name=str(table["name"]),
                        columns=tuple(str(column) for column in table["columns"]),
                        rows=int(table["rows"]),
                        high_water={str(k): int(v) for k, v in table["high_water"].items()},
                    )
                    for table in data["tables"]
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise Invalid(f"the backup's manifest is damaged ({error!r})") from error


# --- values ------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A database value as JSON (tagged when JSON has no such type)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"dt": (value.astimezone(UTC) if value.tzinfo else value).isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"a {type(value).__name__} value, which a backup cannot carry")


def encode_json_text(value: str | None) -> Any:
    """The stored text of a JSON column (None is SQL NULL)."""
    return None if value is None else {"json": value}


_DECODERS: dict[str, Any] = {
    "dec": Decimal,
    "dt": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "b64": base64.b64decode,
}


def decode(value: Any) -> Any:
    """The Python value of an encoded one; a ``{"json": text}`` stays as it is
    (the column it goes into decides what it becomes)."""
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"an untagged object {value!r}")
    ((tag, raw),) = value.items()
    if tag == "json":
        return value
    return _DECODERS[tag](raw)


# --- writing -----------------------------------------------------------------------------


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now()  # zip keeps local wall-clock times, as `unzip -l` shows them
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


class ArchiveWriter:
    """Writes one backup to ``FILE.partial`` and renames it to ``FILE`` in ``finish``;
    ``abort`` removes the partial file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        try:
            descriptor = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as error:
            raise Invalid(f"cannot write {path}: {error.strerror}") from error
        self._file: IO[bytes] = os.fdopen(descriptor, "wb")
        self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED, compresslevel=6)

    def add_table(self, name: str, rows: Iterable[list[Any]]) -> int:
        """Write one table's rows (already encoded); returns how many."""
        count = 0
        info = zipfile.ZipInfo(f"tables/{name}.jsonl", date_time=_zip_time())
        info.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(info, "w", force_zip64=True) as member:
            lines: list[str] = []
            for row in rows:
                lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                count += 1
                if len(lines) >= LINES_PER_WRITE:
                    member.write(("\n".join(lines) + "\n").encode())
                    lines.clear()
            if lines:
                member.write(("\n".join(lines) + "\n").encode())
        return count

    def finish(self, manifest: Manifest) -> int:
        """Write the manifest, make the file durable and give it its name; its size."""
        self._zip.writestr(MANIFEST, json.dumps(manifest.to_json(), indent=1))
        self._zip.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
        return self.path.stat().st_size

    def abort(self) -> None:
        # The file is being thrown away; closing it can fail with it.
        with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
            self._zip.close()
        self._file.close()
        self.partial.unlink(missing_ok=True)


# --- reading -----------------------------------------------------------------------------


class ArchiveReader:
    """An open backup: its manifest, checked, and each table's rows decoded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError as error:
            raise Invalid(f"no backup file at {path}") from error
        except IsADirectoryError as error:
            raise Invalid(f"{path} is a directory, not a backup file") from error
        except (OSError, zipfile.BadZipFile) as error:
            raise Invalid(
                f"{path} is not a Spares backup, or it is incomplete ({error})"
            ) from error
        try:
            self.manifest = Manifest.from_json(json.loads(self._zip.read(MANIFEST)))
        except KeyError as error:
            self._zip.close()
            raise Invalid(f"{path} is not a Spares backup (it has no {MANIFEST})") from error
        except (ValueError, zipfile.BadZipFile, Invalid) as error:
            self._zip.close()
            raise Invalid(f"{path}: {error}") from error

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def rows(self, entry: TableEntry) -> Iterator[list[Any]]:
        """The rows of ``entry``'s table, values decoded; ``Invalid`` at the first
        damaged line (a CRC mismatch, a line that is not a row of its columns)."""
        width = len(entry.columns)
        try:
            with self._zip.open(entry.member) as raw:
                for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
                    row = json.loads(line)
                    if not isinstance(row, list) or len(row) != width:
                        raise ValueError(f"line {number} is not a row of {width} values")
                    yield [decode(value) for value in row]
        except KeyError as error:
            raise Invalid(f"the backup lacks the rows of table {entry.name}") from error
        except (ValueError, TypeError, zipfile.BadZipFile, EOFError, OSError) as error:
            raise Invalid(f"the backup's table {entry.name} is damaged: {error}") from error
