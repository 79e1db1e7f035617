"""The header every page shares: the person and their role in the reader's language,
one navigation item highlighted, the favicon; error pages in the reader's language."""

from __future__ import annotations

import html as html_text
import re

from flask import render_template_string
from sqlalchemy import text

from tests.conftest import csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _html(response) -> str:
    return html_text.unescape(response.get_data(as_text=True))


def _highlighted(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', html)


def test_the_header_names_the_person_and_their_role_in_both_languages(client, make_user, engine):
    make_user("depot_staff", depot="SH", username="zhou.min")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET full_name = '周敏' WHERE username = 'zhou.min'")
        )
    client.post(
        "/login",
        data={
            "username": "zhou.min",
            "password": "test-password-1",
            "csrf_token": csrf_token(client),
        },
    )
    english = _html(client.get("/"))
    assert '<span class="name">周敏</span>' in english
    assert 'data-testid="current-user">zhou.min<' in english
    assert 'data-testid="current-role">depot staff · SH<' in english
    chinese = _html(client.get("/", headers=CHINESE))
    assert 'data-testid="current-role">备件库人员 · SH<' in chinese


def test_one_navigation_item_is_highlighted_the_best_match(client, login, make_user, engine):
    login("admin")
    person = make_user("planner")
    with engine.connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM app_user WHERE username = :name"), {"name": person.username}
        ).scalar_one()
    assert _highlighted(_html(client.get("/"))) == ["/"]
    assert _highlighted(_html(client.get("/users"))) == ["/users"]
    # A page below a navigation item lights that item only, never Home as well.
    assert _highlighted(_html(client.get(f"/users/{user_id}"))) == ["/users"]
    assert _highlighted(_html(client.get("/users/new"))) == ["/users"]
    # A page outside the navigation lights none.
    assert _highlighted(_html(client.get("/profile"))) == []


def test_the_favicon_is_linked_and_served(client):
    page = _html(client.get("/login"))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 301 and legacy.headers["Location"].endswith("/static/favicon.svg")


def test_error_pages_read_in_the_readers_language(client, login):
    login("planner")
    english = client.get("/users")
    assert english.status_code == 403
    assert "You do not have the rights to open this page." in _html(english)
    chinese = client.get("/users", headers=CHINESE)
    assert "<h1>无权访问</h1>" in _html(chinese) and "您没有打开此页面的权限。" in _html(chinese)
    missing = client.get("/no-such-page", headers=CHINESE)
    assert missing.status_code == 404 and "页面不存在" in _html(missing)


def test_a_domain_error_raised_on_a_page_is_in_the_readers_language(client, login):
    login("admin")
    answer = client.get("/users/424242", headers=CHINESE)
    assert answer.status_code == 404 and "用户 '424242' 不存在" in _html(answer)


def test_the_header_leaves_a_pages_own_variables_alone(app, client, login):
    """The header's names must not shadow a page's: a page listing its ``items``
    gets its items, not the navigation."""

    def probe() -> str:
        return render_template_string(
            '{% extends "base.html" %}{% block content %}'
            '<ul id="probe">{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>'
            "{% endblock %}",
            items=["mine-1", "mine-2"],
            current="mine",
        )

    app.add_url_rule("/probe-header", view_func=probe)
    login("admin")
    html = _html(client.get("/probe-header"))
    probe_list = html.split('<ul id="probe">', 1)[1].split("</ul>", 1)[0]
    assert probe_list == "<li>mine-1</li><li>mine-2</li>"


def test_a_form_without_its_csrf_token_is_refused_in_the_readers_language(client, login):
    login("engineer")
    answer = client.post("/profile/language", data={"language": "en"}, headers=CHINESE)
    assert answer.status_code == 400
    assert "表单已过期或来源不明" in _html(answer)


def test_too_many_sign_ins_are_refused_in_the_readers_language(engine):
    from tests.conftest import make_test_app

    client = make_test_app(engine, login_rate_limit="1 per minute").test_client()
    token = csrf_token(client)
    form = {"username": "nobody", "password": "wrong-password", "csrf_token": token}
    assert client.post("/login", data=form, headers=CHINESE).status_code == 401
    refused = client.post("/login", data=form, headers=CHINESE)
    assert refused.status_code == 429 and "尝试次数过多" in _html(refused)
