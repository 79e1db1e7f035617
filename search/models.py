"""The search keys of customers, sites, cities and parts (see ``search.keys``).

A key row says: thing ``ref`` of ``kind`` is found by queries that ``key``
starts with. Keys are derived data, kept current by ``search.service.indexing``
and rebuilt whole by ``spares search reindex``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

from search.keys import KEY_LENGTH


class SearchKey(SQLModel, table=True):
    """Only customers, sites, cities and parts have keys: RMAs and units are found by
    their own indexed numbers and serials."""

    __tablename__ = "search_key"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'site', 'city', 'part')", name="kind_known"),
        # The lookup: keys of one kind starting with the query, and their refs read from
        # the index alone (a broad query matches tens of thousands of keys).
        Index("ix_search_key_kind_key", "kind", "key", "ref"),
    )

    kind: str = Field(sa_column=Column(String(10), primary_key=True))
    # The thing's id (customers, sites, cities) or part number, as text.
    ref: str = Field(sa_column=Column(String(40), primary_key=True))
    key: str = Field(sa_column=Column(String(KEY_LENGTH), primary_key=True))
