"""Tables that scale: one page of a selection, sorted in SQL, with the selection's
own count (never just the rows shown).

A list page reads ``PageRequest.from_args(request.args, ...)`` (the page, its size,
the column sorted on and the direction; anything unknown falls back to the
defaults, so a stale or hand-edited link never errors), builds its filtered
``select`` and calls ``paginate``. Sorting always ends on a unique tie-break
column, so pages never repeat or skip a row. Templates draw the sortable headers
and the pager with ``core/templates/_table.html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True)
class PageRequest:
    """Which page of a table is wanted: 1-based ``page``, ``per_page`` rows, sorted on
    the column key ``sort``, descending or not."""

    page: int
    per_page: int
    sort: str
    descending: bool

    @classmethod
    def from_args(
        cls,
        args: Mapping[str, str],
        *,
        sorts: Sequence[str],
        default_sort: str,
        descending: bool = False,
        per_page: int = DEFAULT_PER_PAGE,
    ) -> PageRequest:
        """Read ``page``, ``per_page``, ``sort`` and ``order`` (``asc``/``desc``) from
        query arguments; values that are not allowed give the defaults."""
        sort = args.get("sort", "")
        order = args.get("order", "")
        size = args.get("per_page", "")
        known_sort = sort in sorts
        return cls(
            page=_whole(args.get("page"), 1, 1, MAX_PAGE),
            per_page=int(size) if size.isdigit() and int(size) in PER_PAGE_CHOICES else per_page,
            sort=sort if known_sort else default_sort,
            descending=order == "desc" if known_sort and order in ("asc", "desc") else descending,
        )

    def sorted_by(self, key: str) -> dict[str, Any]:
        """The query arguments of a header link sorting on ``key`` (toggling the
        direction when already sorted on it), back on the first page."""
        descending = not self.descending if key == self.sort else False
        return {"sort": key, "order": "desc" if descending else "asc", "page": 1}

    def at(self, page: int) -> dict[str, Any]:
        """The query arguments of page ``page`` in the same order."""
        return {
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page": page,
            "per_page": self.per_page,
        }


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the size of the whole selection."""

    items: list[T]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.per_page))

    @property
    def number(self) -> int:
        return self.request.page

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown (0 when there is none)."""
        return (self.number - 1) * self.request.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(
    session: Session,
    query: Any,
    request: PageRequest,
    sort_columns: Mapping[str, Any],
    tiebreak: Any,
    *,
    scalars: bool = True,
    total: int | None = None,
) -> Page[Any]:
    """Run ``query`` (a filtered ``select``) for one page: counted as a whole, ordered
    by ``sort_columns[request.sort]`` then ``tiebreak`` (a unique column, or a tuple
    of columns unique together), limited and offset in SQL. ``scalars``: rows are
    the first column's objects (ORM rows); otherwise whole result rows. ``total``:
    the selection's size when the caller counted it already (with its totals). A
    page past the end shows the last page."""
    if total is None:
        total = count_of(session, query)
    pages = max(1, -(-total // request.per_page))
    if request.page > pages:
        request = replace(request, page=pages)
    column = sort_columns[request.sort]
    ties = tiebreak if isinstance(tiebreak, tuple) else (tiebreak,)
    ordered = query.order_by(
        *(
            key.desc() if request.descending else key.asc()
            for key in (column, *(tie for tie in ties if tie is not column))
        )
    )
    limited = ordered.limit(request.per_page).offset((request.page - 1) * request.per_page)
    result = session.execute(limited)
    items = list(result.scalars()) if scalars else list(result)
    return Page(items, total, request)


def count_of(session: Session, query: Any) -> int:
    """How many rows ``query`` selects."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _whole(raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or not raw.isdigit():
        return default
    return min(max(int(raw), low), high)
