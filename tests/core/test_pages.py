"""Sign-in pages: CSRF, wrong passwords, redirects, sign-out, role guards."""

from __future__ import annotations

from tests.conftest import TEST_PASSWORD, csrf_token, make_test_app


def _csrf(client, path="/login"):
    return csrf_token(client, path)


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_without_csrf_token_is_refused(client, make_user):
    actor = make_user("planner")
    response = client.post("/login", data={"username": actor.username, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


def test_login_with_wrong_password_shows_an_error(client, make_user):
    actor = make_user("planner")
    token = _csrf(client)
    response = client.post(
        "/login", data={"username": actor.username, "password": "wrong-pw-123", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Unknown user or wrong password." in response.get_data(as_text=True)


def test_login_then_logout(client, make_user):
    actor = make_user("engineer")
    token = _csrf(client)
    response = client.post(
        "/login",
        data={"username": actor.username, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert actor.username in home.get_data(as_text=True)
    token = _csrf(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_never_redirects_to_another_site(client, make_user):
    actor = make_user("engineer")
    token = _csrf(client)
    response = client.post(
        "/login?next=https://evil.example/steal",
        data={"username": actor.username, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_login_form_is_rate_limited(engine, make_user):
    client = make_test_app(engine, login_rate_limit="2 per minute").test_client()
    token = _csrf(client)
    statuses = [
        client.post(
            "/login", data={"username": "x", "password": "y-long-pw", "csrf_token": token}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_session_cookie_is_http_only_and_same_site(client, make_user):
    actor = make_user("engineer")
    token = _csrf(client)
    response = client.post(
        "/login",
        data={"username": actor.username, "password": TEST_PASSWORD, "csrf_token": token},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_navigation_depends_on_role(client, login):
    login("engineer")
    html = client.get("/").get_data(as_text=True)
    assert "Sign out" in html
