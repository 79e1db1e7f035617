"""User management at /users, through the pages: who may, the list (paginated,
sorted, filtered on the server), creating, role and depot, deactivating (sessions
and tokens end at once), reactivating, resetting a password, and the refusals."""

from __future__ import annotations

import html as html_text
import re

import pytest
from sqlalchemy import text

from core import auth
from core.db import UnitOfWork
from tests.conftest import TEST_PASSWORD, bearer, csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
NEW_PASSWORD = "brand-new-pass-9"


def _html(response) -> str:
    return html_text.unescape(response.get_data(as_text=True))


def _sign_in(client, username: str, password: str = TEST_PASSWORD) -> int:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    ).status_code


def _user_id(engine, username: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT id FROM app_user WHERE username = :name"), {"name": username}
        ).scalar_one()


def _row(engine, username: str) -> dict:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT role, depot_code, active FROM app_user WHERE username = :name"),
            {"name": username},
        ).one()
    return {"role": row.role, "depot": row.depot_code, "active": bool(row.active)}


def _post(client, path: str, data: dict | None = None, headers: dict | None = None):
    form = {"csrf_token": csrf_token(client, "/users"), **(data or {})}
    return client.post(path, data=form, headers=headers or {})


def _usernames_listed(html: str) -> list[str]:
    return re.findall(r'data-testid="row-([^"]+)"', html)


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["planner", "engineer", "supervisor", "depot_staff"])
def test_only_administrators_reach_user_management(client, login, make_user, engine, role):
    target = make_user("engineer")
    login(role, depot="SH" if role == "depot_staff" else None)
    user_id = _user_id(engine, target.username)
    for path in ("/users", "/users/new", f"/users/{user_id}"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    answer = client.post(f"/users/{user_id}/deactivate", data={"csrf_token": token})
    assert answer.status_code == 403
    assert _row(engine, target.username)["active"] is True
    assert 'href="/users"' not in _html(client.get("/"))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get("/users")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


# --- the list -------------------------------------------------------------------------------


def test_the_list_pages_sorts_and_counts_the_whole_selection_on_the_server(
    client, login, make_user
):
    admin = login("admin")
    for index in range(59):
        make_user("planner" if index % 3 else "engineer", username=f"user-{index:02d}")
    first = _html(client.get("/users?per_page=25"))
    names = _usernames_listed(first)
    assert len(names) == 25 and names == sorted(names)
    assert "1–25 of 60" in first
    assert "60 users in this selection: 60 active, 0 inactive." in first

    last = _html(client.get("/users?per_page=25&page=3"))
    assert len(_usernames_listed(last)) == 10 and "51–60 of 60" in last

    by_name_desc = _usernames_listed(_html(client.get("/users?sort=name&order=desc&per_page=25")))
    assert by_name_desc[0] == "user-58" and admin.username not in by_name_desc[:1]


def test_the_list_filters_by_role_status_and_a_search(client, login, make_user, engine):
    login("admin")
    make_user("planner", username="li.na")
    make_user("planner", username="li.qiang")
    make_user("engineer", username="wang.wei")
    staff = make_user("depot_staff", depot="GZ", username="zhou.gz")
    with engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET active = false WHERE username = 'li.qiang'"))

    planners = _html(client.get("/users?role=planner"))
    assert _usernames_listed(planners) == ["li.na", "li.qiang"]
    assert "2 users in this selection: 1 active, 1 inactive." in planners

    inactive = _html(client.get("/users?status=inactive"))
    assert _usernames_listed(inactive) == ["li.qiang"]

    found = _html(client.get("/users?q=LI.&status=active"))
    assert _usernames_listed(found) == ["li.na"]
    # The filters stay on the sort links and the pager.
    assert "q=LI." in found and "status=active" in found

    by_depot = _usernames_listed(_html(client.get("/users?sort=depot")))
    assert by_depot[0] == staff.username

    nothing = _html(client.get("/users?q=nobody-at-all"))
    assert _usernames_listed(nothing) == [] and "No user matches these filters." in nothing
    # Unknown filter values are ignored, not an error.
    assert client.get("/users?role=wizard&status=sleeping&sort=password_hash").status_code == 200


def test_the_list_reads_chinese_in_a_chinese_browser(client, login, make_user):
    login("admin")
    make_user("depot_staff", depot="SH")
    html = _html(client.get("/users", headers=CHINESE))
    for chinese in (
        "用户管理",
        "用户名",
        "角色",
        "备件库",
        "状态",
        "启用",
        "备件库人员",
        "筛选结果共 2 个用户",
    ):
        assert chinese in html, chinese
    for english in ("Username", "Full name", "depot staff", ">active<", "users in this selection"):
        assert english not in html, english


def test_account_status_reads_the_same_words_as_the_counts_and_buttons_in_chinese(
    client, login, make_user, engine
):
    # Other packages translate a bare "active" as 有效 (a contract, a reservation); an
    # account is 启用 or 停用, as the list's counts and the reactivate button say.
    login("admin")
    make_user("depot_staff", depot="SH", username="wu.sh")
    gone = make_user("engineer", username="he.gone")
    assert _post(client, f"/users/{_user_id(engine, gone.username)}/deactivate").status_code == 302

    listing = _html(client.get("/users", headers=CHINESE))
    badges = dict(
        re.findall(
            r'data-testid="row-([^"]+)">.*?<span class="badge[^"]*">([^<]+)</span>', listing, re.S
        )
    )
    assert badges["wu.sh"] == "启用" and badges["he.gone"] == "停用"
    assert "启用 2 个，停用 1 个" in listing and "有效" not in listing

    active = _html(client.get(f"/users/{_user_id(engine, 'wu.sh')}", headers=CHINESE))
    assert re.search(r'data-testid="user-status">启用<', active) and "有效" not in active
    inactive = _html(client.get(f"/users/{_user_id(engine, 'he.gone')}", headers=CHINESE))
    assert re.search(r'data-testid="user-status">停用<', inactive) and "重新启用" in inactive


# --- creating -----------------------------------------------------------------------------


def test_an_administrator_creates_a_user_who_can_then_sign_in(app, client, login, engine):
    login("admin")
    answer = _post(
        client,
        "/users/new",
        {
            "username": "zhou.xin",
            "full_name": "周欣 Zhou Xin",
            "email": "zhou.xin@spares.example",
            "role": "depot_staff",
            "depot": "CD",
            "password": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 302
    page = _html(client.get(answer.headers["Location"]))
    assert "User zhou.xin created." in page and "周欣 Zhou Xin" in page
    assert _row(engine, "zhou.xin") == {"role": "depot_staff", "depot": "CD", "active": True}
    assert _sign_in(app.test_client(), "zhou.xin", NEW_PASSWORD) == 302


@pytest.mark.parametrize(
    ("values", "status", "english", "chinese"),
    [
        (
            {"password": "short"},
            422,
            "password must be at least 10 characters",
            "密码至少 10 个字符",
        ),
        ({"role": "depot_staff", "depot": ""}, 422, "depot staff must be bound", "备件库人员必须"),
        ({"role": "planner", "depot": "BJ"}, 422, "only depot staff", "只有备件库人员"),
        ({"username": "bad name!"}, 422, "username must be", "用户名只能"),
        ({"email": "not-an-address"}, 422, "is not an e-mail address", "不是有效的电子邮件地址"),
        ({"username": "taken"}, 409, "user 'taken' already exists", "用户 'taken' 已存在"),
    ],
)
def test_a_refused_new_user_shows_why_with_a_4xx_and_writes_nothing(
    client, login, make_user, engine, values, status, english, chinese
):
    login("admin")
    make_user("engineer", username="taken")
    form = {
        "username": "new.person",
        "full_name": "New Person",
        "email": "",
        "role": "engineer",
        "depot": "",
        "password": NEW_PASSWORD,
        **values,
    }
    before = len(auth.list_users(UnitOfWork(engine)))
    english_answer = _post(client, "/users/new", form)
    chinese_answer = _post(client, "/users/new", form, headers=CHINESE)
    assert english_answer.status_code == chinese_answer.status_code == status
    assert english in _html(english_answer)
    assert chinese in _html(chinese_answer)
    assert 'role="alert"' in _html(english_answer)
    assert len(auth.list_users(UnitOfWork(engine))) == before


# --- role and depot -----------------------------------------------------------------------


def test_role_and_depot_are_set_together(client, login, make_user, engine):
    login("admin")
    person = make_user("engineer")
    user_id = _user_id(engine, person.username)
    moved = _post(client, f"/users/{user_id}/role", {"role": "depot_staff", "depot": "WH"})
    assert moved.status_code == 302
    assert f"{person.username} is now depot staff at WH." in _html(client.get(f"/users/{user_id}"))
    assert _row(engine, person.username) == {"role": "depot_staff", "depot": "WH", "active": True}

    refused = _post(client, f"/users/{user_id}/role", {"role": "depot_staff", "depot": ""})
    assert refused.status_code == 422
    assert "depot staff must be bound to a depot" in _html(refused)
    assert _row(engine, person.username)["depot"] == "WH"

    back = _post(client, f"/users/{user_id}/role", {"role": "planner", "depot": ""})
    assert back.status_code == 302
    assert _row(engine, person.username) == {"role": "planner", "depot": None, "active": True}


def test_an_administrator_cannot_demote_or_deactivate_themselves(client, login, engine):
    admin = login("admin")
    user_id = _user_id(engine, admin.username)
    page = _html(client.get(f"/users/{user_id}"))
    assert "This is your own account" in page

    demote = _post(client, f"/users/{user_id}/role", {"role": "planner", "depot": ""})
    assert demote.status_code == 409
    assert "You cannot take away your own administrator role" in _html(demote)

    deactivate = _post(client, f"/users/{user_id}/deactivate", headers=CHINESE)
    assert deactivate.status_code == 409
    assert "不能停用自己的账号" in _html(deactivate)
    assert _row(engine, admin.username) == {"role": "admin", "depot": None, "active": True}
    assert client.get("/users").status_code == 200  # still signed in, still an admin


def test_unknown_users_are_404(client, login):
    login("admin")
    assert client.get("/users/99999").status_code == 404
    assert _post(client, "/users/99999/deactivate").status_code == 404
    assert _post(client, "/users/99999/role", {"role": "planner"}).status_code == 404


# --- deactivating and reactivating --------------------------------------------------------


def test_deactivating_ends_the_users_sessions_and_api_tokens_at_once(
    app, client, login, make_user, engine
):
    login("admin")
    person = make_user("engineer")
    theirs = app.test_client()
    assert _sign_in(theirs, person.username) == 302
    assert theirs.get("/").status_code == 200
    tokens = []
    for _ in range(2):
        answer = theirs.post(
            "/api/v1/auth/token", json={"username": person.username, "password": TEST_PASSWORD}
        )
        tokens.append(answer.get_json()["token"])
    assert theirs.get("/api/v1/auth/me", headers=bearer(tokens[0])).status_code == 200

    user_id = _user_id(engine, person.username)
    answer = _post(client, f"/users/{user_id}/deactivate")
    assert answer.status_code == 302
    page = _html(client.get(f"/users/{user_id}"))
    assert f"{person.username} is deactivated: signed out everywhere, 2 API tokens revoked." in page

    # Their open session ends on its next request; the tokens are refused.
    refused = theirs.get("/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    for token in tokens:
        me = theirs.get("/api/v1/auth/me", headers=bearer(token))
        assert me.status_code == 401 and me.get_json()["detail"] == "token revoked"
    with engine.connect() as connection:
        live = connection.execute(
            text(
                "SELECT count(*) FROM api_token t JOIN app_user u ON u.id = t.user_id "
                "WHERE u.username = :name AND t.revoked_at IS NULL"
            ),
            {"name": person.username},
        ).scalar_one()
    assert live == 0
    assert _sign_in(app.test_client(), person.username) == 401

    # Reactivated, they sign in again with their password; the old tokens stay dead.
    assert _post(client, f"/users/{user_id}/reactivate").status_code == 302
    assert f"{person.username} can sign in again." in _html(client.get(f"/users/{user_id}"))
    assert _sign_in(app.test_client(), person.username) == 302
    assert theirs.get("/api/v1/auth/me", headers=bearer(tokens[1])).status_code == 401


def test_deactivating_an_inactive_user_changes_nothing_more(client, login, make_user, engine):
    login("admin")
    person = make_user("planner")
    user_id = _user_id(engine, person.username)
    assert _post(client, f"/users/{user_id}/deactivate").status_code == 302
    assert _post(client, f"/users/{user_id}/deactivate").status_code == 302
    assert _row(engine, person.username)["active"] is False
    assert "Reactivate" in _html(client.get(f"/users/{user_id}"))


def test_another_administrator_can_be_deactivated_but_keeps_the_records(
    client, login, make_user, engine
):
    login("admin")
    other = make_user("admin")
    user_id = _user_id(engine, other.username)
    assert _post(client, f"/users/{user_id}/deactivate").status_code == 302
    assert _row(engine, other.username) == {"role": "admin", "depot": None, "active": False}
    assert other.username in _usernames_listed(_html(client.get("/users?status=inactive")))


# --- resetting a password -----------------------------------------------------------------


def test_a_password_reset_signs_the_user_out_and_revokes_their_tokens(
    app, client, login, make_user, engine
):
    login("admin")
    person = make_user("supervisor")
    theirs = app.test_client()
    assert _sign_in(theirs, person.username) == 302
    token = theirs.post(
        "/api/v1/auth/token", json={"username": person.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    user_id = _user_id(engine, person.username)

    short = _post(client, f"/users/{user_id}/password", {"password": "short"}, headers=CHINESE)
    assert short.status_code == 422 and "密码至少 10 个字符" in _html(short)
    assert _sign_in(app.test_client(), person.username) == 302  # nothing changed

    answer = _post(client, f"/users/{user_id}/password", {"password": NEW_PASSWORD})
    assert answer.status_code == 302
    assert "New password set for" in _html(client.get(f"/users/{user_id}"))
    assert theirs.get("/").status_code == 302
    assert theirs.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert _sign_in(app.test_client(), person.username) == 401
    assert _sign_in(app.test_client(), person.username, NEW_PASSWORD) == 302
