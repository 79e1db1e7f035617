"""Server-side pages of a selection: sorted in SQL, counted as a whole."""

from __future__ import annotations

from sqlalchemy import select

from core.auth import User
from core.db import UnitOfWork
from core.pagination import PageRequest, paginate

SORTS = {"username": User.username, "role": User.role}


def _page(engine, args):
    request = PageRequest.from_args(args, sorts=list(SORTS), default_sort="username", per_page=25)
    uow = UnitOfWork(engine)
    with uow.transaction(write=False):
        page = paginate(uow.session, select(User), request, SORTS, User.id)
        return [u.username for u in page.items], page


def test_a_page_is_sorted_in_sql_and_counts_the_whole_selection(engine, make_user):
    for name in ("carol", "alice", "erin", "bob", "dave"):
        make_user("engineer", username=name)
    names, page = _page(engine, {"per_page": "25", "sort": "username", "order": "desc"})
    assert names == ["erin", "dave", "carol", "bob", "alice"]
    assert (page.total, page.pages, page.first_index, page.last_index) == (5, 1, 1, 5)


def test_pages_do_not_repeat_or_skip_rows_and_a_page_past_the_end_shows_the_last(engine, make_user):
    for index in range(60):
        make_user("planner", username=f"user-{index:02d}")
    seen = []
    for number in (1, 2, 3):
        names, _ = _page(engine, {"page": str(number), "sort": "role"})
        seen += names
    assert sorted(seen) == [f"user-{i:02d}" for i in range(60)] and len(set(seen)) == 60
    _, last = _page(engine, {"page": "99"})
    assert (last.number, last.pages, last.first_index, last.last_index) == (3, 3, 51, 60)
    assert not last.has_next and last.has_previous


def test_unknown_arguments_fall_back_to_the_defaults():
    request = PageRequest.from_args(
        {"page": "-3", "per_page": "7", "sort": "password_hash", "order": "sideways"},
        sorts=list(SORTS),
        default_sort="username",
        descending=True,
    )
    assert request == PageRequest(page=1, per_page=50, sort="username", descending=True)
    assert request.sorted_by("username") == {"sort": "username", "order": "asc", "page": 1}
    assert request.sorted_by("role") == {"sort": "role", "order": "asc", "page": 1}
