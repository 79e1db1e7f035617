"""The administrators' user list on both databases: filters, a search that takes
'%' and '_' literally, sorting (people without a depot after depot staff, on
either database) and the counts of the whole selection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core import auth, users
from core.db import UnitOfWork
from core.errors import Forbidden
from core.pagination import PageRequest
from tests.conftest import TEST_PASSWORD

PEOPLE = [
    ("li_na", "Li Na", "planner", None),
    ("lina", "Lina Wu", "planner", None),
    ("gao.bj", "Gao Feng", "depot_staff", "BJ"),
    ("qian.sh", "Qian Lei", "depot_staff", "SH"),
    ("wang", "Wang 100% Wei", "engineer", None),
]


@pytest.fixture
def admin(any_engine) -> auth.Actor:
    for username, name, role, depot in PEOPLE:
        auth.create_user(
            UnitOfWork(any_engine), username, TEST_PASSWORD, role, depot_code=depot, full_name=name
        )
    with any_engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET active = false WHERE username = 'lina'"))
    return auth.create_user(
        UnitOfWork(any_engine), "boss", TEST_PASSWORD, "admin", full_name="Boss"
    )


def _list(engine, actor, sort="username", order="asc", **filters):
    request = PageRequest.from_args(
        {"sort": sort, "order": order}, sorts=users.USER_SORTS, default_sort="username"
    )
    return users.list_users(UnitOfWork(engine), actor, users.UserFilter(**filters), request)


def _names(listing) -> list[str]:
    return [row.username for row in listing.page.items]


def test_filters_and_counts_cover_the_whole_selection(any_engine, admin):
    planners = _list(any_engine, admin, role="planner")
    assert _names(planners) == ["li_na", "lina"]
    assert (planners.page.total, planners.active, planners.inactive) == (2, 1, 1)
    assert _names(_list(any_engine, admin, status="inactive")) == ["lina"]
    everyone = _list(any_engine, admin)
    assert (everyone.page.total, everyone.active, everyone.inactive) == (6, 5, 1)


def test_the_search_is_case_blind_and_takes_wildcards_literally(any_engine, admin):
    assert _names(_list(any_engine, admin, search="LI_")) == ["li_na"]
    assert _names(_list(any_engine, admin, search="100%")) == ["wang"]
    assert _names(_list(any_engine, admin, search="%")) == ["wang"]
    assert _names(_list(any_engine, admin, search="lina wu")) == ["lina"]


def test_sorting_by_depot_puts_depot_staff_first_on_both_databases(any_engine, admin):
    ascending = _names(_list(any_engine, admin, sort="depot"))
    assert ascending[:2] == ["gao.bj", "qian.sh"]
    descending = _names(_list(any_engine, admin, sort="depot", order="desc"))
    assert descending[-2:] == ["qian.sh", "gao.bj"]
    by_status = _names(_list(any_engine, admin, sort="status"))
    assert by_status[0] == "lina"


def test_only_administrators_list_users(any_engine, admin):
    planner = auth.authenticate(UnitOfWork(any_engine), "li_na", TEST_PASSWORD)
    with pytest.raises(Forbidden):
        _list(any_engine, planner)
