"""Backups in one portable format that restores into SQLite or PostgreSQL.

``backup(engine, path)`` writes every table of the database, read in one
consistent snapshot while the application keeps writing (``snapshot``), to a zip
archive of JSON lines with a manifest (``archive``). ``restore(engine, path)``
builds the schema at the backup's revision with the migrations and loads the
rows, all or nothing (``restore``). What differs between the databases (sequences,
emptying a schema, swapping a SQLite file) is in ``databases``.

Why not ``pg_dump`` and SQLite's backup API: one format and one tested path for
both databases; a SQLite installation moves to PostgreSQL with backup and
restore; the schema is always the migrations' own; and the manifest's row counts
make a restore checkable. See docs/OPERATIONS.md.
"""

from core.backup.restore import RestoreReport, restore
from core.backup.snapshot import BackupReport, Progress, backup

__all__ = ["BackupReport", "Progress", "RestoreReport", "backup", "restore"]
