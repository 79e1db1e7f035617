"""Browser sessions live on the server: a copy of the session cookie taken before
signing out, deactivation or a password change is refused after it; a session
unused past the idle limit is over; a user sees their sessions on their profile
and can end the others. On both databases."""

from __future__ import annotations

import html as html_text
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core import auth, clock, sessions
from core import users as user_admin
from core.db import UnitOfWork
from core.errors import Unauthorized
from tests.conftest import TEST_PASSWORD, csrf_token, make_test_app

NEW_PASSWORD = "another-pass-77"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
COOKIE = "session"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Drill/1.0"


@pytest.fixture
def site(any_engine: Engine):
    return make_test_app(any_engine)


def _user(engine: Engine, role: str = "engineer", name: str = "") -> auth.Actor:
    return auth.create_user(
        UnitOfWork(engine), name or f"{role}-s", TEST_PASSWORD, role, full_name=role
    )


def _sign_in(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> int:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    ).status_code


def _browser(site) -> FlaskClient:
    client = site.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    return client


def _copy(site, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (and sending the
    same User-Agent, as a thief would)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = _browser(site)
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def _signed_in(client: FlaskClient) -> bool:
    answer = client.get("/profile")
    if answer.status_code == 200:
        return True
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    return False


def _post(client: FlaskClient, path: str, data: dict | None = None, headers: dict | None = None):
    return client.post(
        path, data={**(data or {}), "csrf_token": csrf_token(client, "/profile")}, headers=headers
    )


def _reasons(engine: Engine, username: str) -> list[str | None]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT s.end_reason FROM web_session s JOIN app_user u ON u.id = s.user_id "
                    "WHERE u.username = :name ORDER BY s.id"
                ),
                {"name": username},
            ).scalars()
        )


def test_a_cookie_copied_before_signing_out_is_refused_after_it(site, any_engine):
    person = _user(any_engine)
    browser = _browser(site)
    assert _sign_in(browser, person.username) == 302
    copy = _copy(site, browser)
    assert _signed_in(copy)  # the copy works while the session lives

    assert _post(browser, "/logout").status_code == 302

    assert not _signed_in(copy)
    assert not _signed_in(browser)
    assert _reasons(any_engine, person.username) == ["logout"]
    # Signing in again starts a new session; the copy stays dead.
    assert _sign_in(browser, person.username) == 302
    assert _signed_in(browser)
    assert not _signed_in(copy)


def test_deactivation_ends_every_session_of_the_user_on_the_server(site, any_engine):
    _user(any_engine, "admin", "boss")
    person = _user(any_engine)
    admin, phone, laptop = _browser(site), _browser(site), _browser(site)
    assert _sign_in(admin, "boss") == 302
    assert _sign_in(phone, person.username) == 302
    assert _sign_in(laptop, person.username) == 302
    copies = [_copy(site, phone), _copy(site, laptop)]

    revoked = user_admin.deactivate(UnitOfWork(any_engine), auth.system_actor(), person.username)

    assert revoked == 0
    assert [_signed_in(c) for c in (phone, laptop, *copies)] == [False] * 4
    assert _reasons(any_engine, person.username) == ["deactivated", "deactivated"]
    # Reactivated, the old sessions stay ended: the user signs in afresh.
    user_admin.reactivate(UnitOfWork(any_engine), auth.system_actor(), person.username)
    assert [_signed_in(c) for c in copies] == [False, False]
    assert _signed_in(admin)


def test_a_password_reset_ends_every_session_and_a_change_all_but_its_own(site, any_engine):
    person = _user(any_engine)
    here, there = _browser(site), _browser(site)
    assert _sign_in(here, person.username) == 302
    assert _sign_in(there, person.username) == 302
    copy_of_there = _copy(site, there)

    changed = _post(
        here,
        "/profile/password",
        {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert _signed_in(here) and _signed_in(_copy(site, here))
    assert not _signed_in(there) and not _signed_in(copy_of_there)
    assert _reasons(any_engine, person.username) == [None, "password"]

    user_admin.reset_password(
        UnitOfWork(any_engine),
        auth.system_actor(),
        person.username,
        "reset-by-admin-1",
        min_password_length=10,
    )
    assert not _signed_in(here)
    assert _reasons(any_engine, person.username) == ["password", "password"]


def test_a_sign_in_checked_before_a_password_change_starts_no_session(any_engine):
    person = _user(any_engine)
    authenticated = auth.authenticate(UnitOfWork(any_engine), person.username, TEST_PASSWORD)
    user_admin.reset_password(
        UnitOfWork(any_engine),
        auth.system_actor(),
        person.username,
        "reset-by-admin-1",
        min_password_length=10,
    )
    with pytest.raises(Unauthorized):
        sessions.start_session(UnitOfWork(any_engine), authenticated)
    assert _reasons(any_engine, person.username) == []


def test_a_session_unused_past_the_idle_limit_is_over(any_engine):
    site = make_test_app(any_engine, session_idle_hours=2)
    person = _user(any_engine)
    browser = _browser(site)
    assert _sign_in(browser, person.username) == 302
    start = clock.now()

    with clock.frozen(start + timedelta(minutes=90)):
        assert _signed_in(browser)  # used within the limit: seen again from here
    with clock.frozen(start + timedelta(minutes=90 + 110)):
        assert _signed_in(browser)
    with clock.frozen(start + timedelta(minutes=90 + 110 + 121)):
        assert not _signed_in(browser)


def test_the_profile_lists_the_sessions_and_ends_the_others(site, any_engine):
    person = _user(any_engine)
    here, there, elsewhere = _browser(site), _browser(site), _browser(site)
    for browser in (here, there, elsewhere):
        assert _sign_in(browser, person.username) == 302

    page = html_text.unescape(here.get("/profile", headers=CHINESE).get_data(as_text=True))
    assert "已登录的会话" in page and "本会话" in page
    assert page.count('data-testid="session-row"') == 3
    assert "Drill/1.0" in page

    answer = _post(here, "/profile/sessions/end-others")
    assert answer.status_code == 302
    flashed = html_text.unescape(here.get("/profile").get_data(as_text=True))
    assert "2 other sessions signed out." in flashed
    assert flashed.count('data-testid="session-row"') == 1
    assert "Sign out my other sessions" not in flashed
    assert _signed_in(here) and not _signed_in(there) and not _signed_in(elsewhere)
    assert sorted(_reasons(any_engine, person.username), key=str) == [
        None,
        "ended_elsewhere",
        "ended_elsewhere",
    ]


def test_a_forged_or_unknown_session_token_signs_nobody_in(site, any_engine):
    person = _user(any_engine)
    browser = _browser(site)
    assert _sign_in(browser, person.username) == 302
    with browser.session_transaction() as cookie_session:
        cookie_session["session_token"] = "not-a-session-token"
    assert not _signed_in(browser)
