"""The search pages in English and Chinese: the header's box, results grouped by kind
with counts, Chinese names first in zh-CN, nothing found, a kind page by page, and
what is at a city, a customer, a site."""

from __future__ import annotations

import re

import pytest

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def changsha(world):
    """A customer in Changsha with two sites, an installed unit, an open and a closed case."""
    bank = world.customer("Xiangjiang Bank", "湘江银行", code="XJB-CS")
    hq = world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    world.site(bank, "Xiangjiang Bank branch", "Changsha")
    part = world.part("Line card 48x10GE", part_number="LC-48X10GE")
    open_case = world.case(world.install(hq, part, "CSX0000042"))
    closed_case = world.cancel(world.case(world.install(hq, part, "CSX0000043")))
    return {"bank": bank, "hq": hq, "open": open_case, "closed": closed_case}


def _groups(html: str) -> dict[str, int]:
    """{kind: count} of the result groups on a page."""
    return {
        kind: int(total.replace(",", ""))
        for kind, total in re.findall(r'data-kind="(\w+)" data-total="([\d,]+)"', html)
    }


def _hit_titles(html: str) -> list[str]:
    return re.findall(r'<span class="title">([^<]*)</span>', html)


def test_the_header_has_the_search_box_on_every_page(client, login):
    login("depot_staff", depot="SH")
    html = client.get("/", headers=CHINESE).get_data(as_text=True)
    assert 'role="search"' in html and 'action="/search"' in html
    assert 'placeholder="RMA、序列号、客户、城市、备件"' in html


def test_a_chinese_page_shows_chinese_names_first_grouped_with_counts(client, login, changsha):
    login("engineer")
    answer = client.get("/search?q=长沙", headers=CHINESE)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in html
    assert _groups(html) == {"rma": 1, "customer": 1, "site": 2, "city": 1}
    titles = _hit_titles(html)
    assert "长沙 Changsha" in titles and "湘江银行 Xiangjiang Bank" in titles
    assert changsha["open"].number in titles and changsha["closed"].number not in titles
    assert "城市" in html and "客户" in html and "站点" in html
    assert "“长沙”共有 5 条结果" in html
    assert 'data-state="approved">已批准<' in html


def test_an_english_page_shows_english_names(client, login, changsha):
    login("planner")
    html = client.get("/search?q=changsha", headers=ENGLISH).get_data(as_text=True)
    assert _groups(html) == {"rma": 1, "customer": 1, "site": 2, "city": 1}
    titles = _hit_titles(html)
    assert "Changsha" in titles and "Xiangjiang Bank" in titles
    assert "湘江银行" not in html
    assert "5 results for “changsha”" in html and "Cities" in html


def test_pinyin_initials_find_it_on_the_page_too(client, login, changsha):
    login("supervisor")
    html = client.get("/search?q=xjyh", headers=CHINESE).get_data(as_text=True)
    assert _groups(html) == {"customer": 1}


@pytest.mark.parametrize(
    ("headers", "message"),
    [(ENGLISH, "Nothing found for “qqq-nothing”."), (CHINESE, "未找到与“qqq-nothing”相关的结果。")],
)
def test_nothing_found_says_so(client, login, headers, message):
    login("engineer")
    html = client.get("/search?q=qqq-nothing", headers=headers).get_data(as_text=True)
    assert 'data-testid="nothing-found"' in html and message in html


def test_an_empty_query_shows_the_form_alone(client, login):
    login("engineer")
    answer = client.get("/search?q=", headers=CHINESE)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'data-testid="search-form"' in html and "nothing-found" not in html


def test_an_over_long_query_is_refused_in_the_readers_language(client, login):
    login("engineer")
    answer = client.get("/search?q=" + "x" * 101, headers=CHINESE)
    assert answer.status_code == 422
    assert "最多输入 100 个字符。" in answer.get_data(as_text=True)


def test_a_kind_shows_ten_then_all_of_them_page_by_page(client, login, world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    for number in range(30):
        world.site(bank, f"Branch {number:02d}", "Changsha")
    login("engineer")
    html = client.get("/search?q=branch", headers=ENGLISH).get_data(as_text=True)
    assert _groups(html) == {"site": 30}
    assert len(_hit_titles(html)) == 10
    assert 'href="/search?q=branch&amp;kind=site"' in html and "Show all 30" in html

    first = client.get("/search?q=branch&kind=site&per_page=25", headers=ENGLISH)
    assert _hit_titles(first.get_data(as_text=True))[-1] == "Branch 24"
    second = client.get("/search?q=branch&kind=site&per_page=25&page=2", headers=ENGLISH)
    html = second.get_data(as_text=True)
    assert _hit_titles(html) == [f"Branch {n}" for n in range(25, 30)]
    assert "26–30 of 30" in html


def test_an_unknown_kind_shows_every_kind(client, login, changsha):
    login("engineer")
    html = client.get("/search?q=changsha&kind=nonsense", headers=ENGLISH).get_data(as_text=True)
    assert _groups(html) == {"rma": 1, "customer": 1, "site": 2, "city": 1}


def test_the_city_page_shows_its_customers_sites_and_open_cases(client, login, changsha):
    login("depot_staff", depot="GZ")
    search = client.get("/search?q=长沙", headers=CHINESE).get_data(as_text=True)
    city_url = re.search(r'href="(/search/cities/\d+)"', search).group(1)
    html = client.get(city_url, headers=CHINESE).get_data(as_text=True)
    assert '<h1 data-testid="place-title">长沙 Changsha</h1>' in html
    assert _groups(html) == {"rma": 1, "customer": 1, "site": 2}
    assert "未结 RMA 单" in html
    assert changsha["open"].number in html and changsha["closed"].number not in html


def test_the_site_page_shows_its_open_cases_and_installed_units(client, login, changsha):
    login("engineer")
    html = client.get(f"/search/sites/{changsha['hq'].id}", headers=ENGLISH).get_data(as_text=True)
    assert '<h1 data-testid="place-title">Xiangjiang Bank HQ</h1>' in html
    assert _groups(html) == {"rma": 1, "installed_unit": 2}


def test_the_customer_page_of_search_shows_what_is_at_the_customer(client, login, changsha):
    login("engineer")
    customer_id = changsha["bank"].id
    html = client.get(f"/search/customers/{customer_id}", headers=CHINESE).get_data(as_text=True)
    assert "湘江银行 Xiangjiang Bank" in html
    assert _groups(html) == {"rma": 1, "installed_unit": 2, "site": 2}


def test_an_unknown_place_is_404(client, login):
    login("engineer")
    assert client.get("/search/cities/999999").status_code == 404
    assert client.get("/search/sites/999999").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    answer = client.get("/search?q=changsha")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
