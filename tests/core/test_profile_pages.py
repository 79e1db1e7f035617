"""Everyone's /profile: the interface language (stored, applied from the next page,
else the browser's Accept-Language) and the password change."""

from __future__ import annotations

import html as html_text

import pytest
from sqlalchemy import text

from tests.conftest import TEST_PASSWORD, csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}
NEW_PASSWORD = "another-pass-77"


def _html(response) -> str:
    return html_text.unescape(response.get_data(as_text=True))


def _stored_language(engine, username: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT language FROM app_user WHERE username = :name"), {"name": username}
        ).scalar_one()


def _choose(client, language: str, headers: dict | None = None):
    return client.post(
        "/profile/language",
        data={"language": language, "csrf_token": csrf_token(client, "/profile")},
        headers=headers or {},
    )


def _change_password(client, current: str, new: str, confirm: str, headers: dict | None = None):
    return client.post(
        "/profile/password",
        data={
            "current_password": current,
            "password": new,
            "confirm": confirm,
            "csrf_token": csrf_token(client, "/profile"),
        },
        headers=headers or {},
    )


def _sign_in(client, username: str, password: str) -> int:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    ).status_code


def test_every_role_has_a_profile_linked_from_the_header(client, login):
    actor = login("depot_staff", depot="XA")
    home = _html(client.get("/"))
    assert 'href="/profile"' in home
    page = client.get("/profile")
    assert page.status_code == 200
    assert actor.username in _html(page) and "depot staff · XA" in _html(page)


def test_without_a_setting_the_browser_decides(client, login, engine):
    actor = login("planner")
    assert _stored_language(engine, actor.username) is None
    chinese = _html(client.get("/profile", headers=CHINESE))
    assert '<html lang="zh-Hans-CN">' in chinese and "<h1>个人设置</h1>" in chinese
    english = _html(client.get("/profile", headers=ENGLISH))
    assert '<html lang="en">' in english and "<h1>Profile</h1>" in english
    # The choice "follow the browser" is the one ticked.
    assert 'value="" checked' in english


def test_the_chosen_language_wins_over_the_browser_from_the_next_page(client, login, engine):
    actor = login("engineer")
    answer = _choose(client, "zh_CN", headers=ENGLISH)
    assert answer.status_code == 302
    assert _stored_language(engine, actor.username) == "zh_CN"
    # The next page, in an English browser, is Chinese; the confirmation too.
    page = _html(client.get("/profile", headers=ENGLISH))
    assert '<html lang="zh-Hans-CN">' in page and "界面语言已保存。" in page
    assert "服务工程师" in _html(client.get("/", headers=ENGLISH))  # the header's role label

    assert _choose(client, "en", headers=CHINESE).status_code == 302
    page = _html(client.get("/profile", headers=CHINESE))
    assert '<html lang="en">' in page and "Language saved." in page and "service engineer" in page

    assert _choose(client, "", headers=CHINESE).status_code == 302
    assert _stored_language(engine, actor.username) is None
    assert '<html lang="zh-Hans-CN">' in _html(client.get("/", headers=CHINESE))
    assert '<html lang="en">' in _html(client.get("/", headers=ENGLISH))


def test_an_unknown_language_is_refused_and_changes_nothing(client, login, engine):
    actor = login("supervisor")
    _choose(client, "zh_CN")
    answer = _choose(client, "klingon", headers=CHINESE)
    assert answer.status_code == 422
    assert "未知语言 'klingon'" in _html(answer)
    assert _stored_language(engine, actor.username) == "zh_CN"


def test_the_api_stays_english_whatever_the_setting(client, login, make_user):
    actor = login("planner")
    _choose(client, "zh_CN")
    token = client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    answer = client.get(
        "/api/v1/auth/me", headers={"Authorization": "Bearer wrong-token", **CHINESE}
    )
    assert answer.status_code == 401 and answer.get_json()["detail"] == "unknown token"
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).is_json


# --- the password -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field_error"),
    [
        ("not-my-password", NEW_PASSWORD, NEW_PASSWORD, "The current password is not right."),
        (TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
        (TEST_PASSWORD, "short", "short", "password must be at least 10 characters"),
        (TEST_PASSWORD, TEST_PASSWORD, TEST_PASSWORD, "must differ from the current one"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    app, client, login, current, new, confirm, field_error
):
    actor = login("engineer")
    answer = _change_password(client, current, new, confirm)
    assert answer.status_code == 422
    assert field_error in _html(answer) and 'role="alert"' in _html(answer)
    assert _sign_in(app.test_client(), actor.username, TEST_PASSWORD) == 302


def test_a_refused_password_change_reads_chinese_in_chinese(client, login):
    login("engineer")
    answer = _change_password(client, "not-my-password", NEW_PASSWORD, NEW_PASSWORD, CHINESE)
    assert answer.status_code == 422 and "当前密码不正确。" in _html(answer)


def test_a_password_change_keeps_this_session_and_ends_the_others(app, client, login):
    actor = login("planner")
    elsewhere = app.test_client()
    assert _sign_in(elsewhere, actor.username, TEST_PASSWORD) == 302

    answer = _change_password(client, TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert answer.status_code == 302
    assert "Password changed." in _html(client.get("/profile"))
    assert client.get("/").status_code == 200
    ended = elsewhere.get("/")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]

    assert _sign_in(app.test_client(), actor.username, TEST_PASSWORD) == 401
    assert _sign_in(app.test_client(), actor.username, NEW_PASSWORD) == 302
