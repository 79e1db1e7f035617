"""search: stored search keys of customers, sites, cities and parts (Chinese, English,
pinyin, initials), filled for the rows already there

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:00:00

The keys are computed here in Python with pypinyin, by a copy of the rules of
``search.keys`` as they are at this revision (migrations never import app code,
so a later change of those rules cannot change what this revision did; after
such a change, ``spares search reindex`` rebuilds the keys).
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pypinyin import Style, lazy_pinyin

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_LENGTH = 60
CHUNK = 1000
_SPACES = re.compile(r"\s+")
_ALNUM_WORD = re.compile(r"[0-9a-z]+")

# kind, table, the key column, the columns searched (as at this revision)
SOURCES = (
    ("customer", "customer", "id", ("code", "name", "name_zh")),
    ("site", "site", "id", ("name",)),
    ("city", "city", "id", ("name", "name_zh")),
    ("part", "part", "part_number", ("part_number", "description")),
)


def _is_han(char):
    return (
        char >= "\u3400"
        and unicodedata.category(char) == "Lo"
        and "CJK UNIFIED IDEOGRAPH" in unicodedata.name(char, "")
    )


def _normalize(text):
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _word_starts(text):
    starts = []
    for index, char in enumerate(text):
        before = text[index - 1] if index else " "
        if char == " ":
            continue
        if (
            before == " "
            or _is_han(char)
            or (char.isalnum() and not before.isalnum())
            or (char.isalnum() and _is_han(before))
        ):
            starts.append(index)
    return starts


def _pinyin_keys(text):
    def words(chunk):
        return _ALNUM_WORD.findall(chunk)

    full = lazy_pinyin(text, errors=words)
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=words)
    keys = set()
    for start in range(len(full)):
        keys.add("".join(full[start:]))
        keys.add("".join(initials[start:]))
    return keys


def _keys_for(texts):
    keys = set()
    for raw in texts:
        text = _normalize(raw or "")
        if not text:
            continue
        keys.update(text[start:] for start in _word_starts(text))
        if any(_is_han(char) for char in text):
            keys.update(_pinyin_keys(text))
    return {key[:KEY_LENGTH].rstrip() for key in keys if key.strip()}


def _backfill(connection, search_key):
    for kind, table, ref_column, text_columns in SOURCES:
        columns = ", ".join((ref_column, *text_columns))
        rows = connection.execute(sa.text(f"SELECT {columns} FROM {table}")).all()
        batch = []
        for row in rows:
            ref, texts = str(row[0]), list(row[1:])
            batch += [{"kind": kind, "ref": ref, "key": key} for key in sorted(_keys_for(texts))]
            if len(batch) >= CHUNK:
                connection.execute(search_key.insert(), batch)
                batch = []
        if batch:
            connection.execute(search_key.insert(), batch)


def upgrade() -> None:
    search_key = op.create_table(
        "search_key",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=KEY_LENGTH), nullable=False),
        sa.CheckConstraint(
            "kind IN ('customer', 'site', 'city', 'part')", name=op.f("ck_search_key_kind_known")
        ),
        sa.PrimaryKeyConstraint("kind", "ref", "key", name=op.f("pk_search_key")),
    )
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        batch_op.create_index("ix_search_key_kind_key", ["kind", "key", "ref"], unique=False)
    _backfill(op.get_bind(), search_key)


def downgrade() -> None:
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        batch_op.drop_index("ix_search_key_kind_key")
    op.drop_table("search_key")
