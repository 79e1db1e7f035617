"""GET /api/v1/search: the contract (hits of kind, English label and URL), access,
refused queries, the OpenAPI document."""

from __future__ import annotations

from typing import get_args

import pytest

from core.auth import ROLE_NAMES
from search.schemas import MAX_LIMIT, Kind
from search.service.find import KINDS, MAX_QUERY
from tests.conftest import TEST_PASSWORD, csrf_token

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def changsha(world):
    """A customer in Changsha with a site, an installed unit and an open case."""
    bank = world.customer("Xiangjiang Bank", "湘江银行", code="XJB-CS")
    site = world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    part = world.part("Line card 48x10GE", part_number="LC-48X10GE")
    return world.case(world.install(site, part, "CSX0000042"))


def test_search_without_a_token_is_401(client):
    answer = client.get("/api/v1/search?q=changsha")
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"


def test_hits_are_kind_english_label_and_url_of_a_page_that_opens(
    client, auth_for, changsha, login
):
    answer = client.get("/api/v1/search?q=长沙", headers={**auth_for("engineer"), **CHINESE})
    assert answer.status_code == 200
    hits = answer.get_json()
    assert all(set(hit) == {"kind", "label", "url"} for hit in hits)
    by_kind = {hit["kind"]: hit for hit in hits}
    assert set(by_kind) == {"city", "customer", "site", "rma"}
    assert by_kind["city"]["label"] == "Changsha · Hunan"
    assert by_kind["customer"]["label"] == "Xiangjiang Bank · XJB-CS"  # English, not 湘江银行
    assert by_kind["site"]["label"] == "Xiangjiang Bank HQ · Xiangjiang Bank · Changsha"
    assert by_kind["rma"]["label"] == f"{changsha.number} · Xiangjiang Bank · Changsha · approved"
    assert all(hit["label"].replace(" · ", " ").isascii() for hit in hits)
    login("engineer")
    for hit in hits:
        assert client.get(hit["url"]).status_code == 200, hit


def test_serials_find_installed_and_stock_units(client, auth_for, world, changsha):
    world.stock("SH", "LC-48X10GE", ["CSX0000043"])
    hits = client.get("/api/v1/search?q=csx00000", headers=auth_for("planner")).get_json()
    assert [(hit["kind"], hit["label"].split(" · ")[0]) for hit in hits] == [
        ("unit", "CSX0000043"),
        ("installed_unit", "CSX0000042"),
    ]


def test_kind_and_limit_narrow_the_answer(client, auth_for, world):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    for number in range(5):
        world.site(bank, f"Branch {number}", "Changsha")
    headers = auth_for("supervisor")
    hits = client.get("/api/v1/search?q=changsha&kind=site&limit=3", headers=headers).get_json()
    assert [hit["label"].split(" · ")[0] for hit in hits] == ["Branch 0", "Branch 1", "Branch 2"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_role_may_search(client, auth_for, role, changsha):
    depot = "SH" if role == "depot_staff" else None
    answer = client.get("/api/v1/search?q=cs", headers=auth_for(role, depot))
    assert answer.status_code == 200
    assert {hit["kind"] for hit in answer.get_json()} >= {"city", "customer"}


def test_nothing_found_is_an_empty_list(client, auth_for):
    answer = client.get("/api/v1/search?q=zzzz-no-such-thing", headers=auth_for("planner"))
    assert (answer.status_code, answer.get_json()) == (200, [])


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=",
        "?q=%20%20",
        f"?q={'x' * (MAX_QUERY + 1)}",
        "?q=a%00b",
        f"?q=x&limit={MAX_LIMIT + 1}",
    ],
)
def test_a_missing_empty_blank_or_over_long_query_is_422(client, auth_for, query):
    answer = client.get(f"/api/v1/search{query}", headers=auth_for("planner"))
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid"
    assert body["fields"] and body["detail"].isascii()


def test_search_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/search"]["get"]
    assert operation["security"] == [{"bearer": []}]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"q", "kind", "limit"}
    assert {"200", "401", "422"} <= set(operation["responses"])


def test_the_page_and_the_api_find_the_same(client, auth_for, changsha, make_user):
    user = make_user("engineer")
    client.post(
        "/login",
        data={
            "username": user.username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    api_urls = {
        hit["url"]
        for hit in client.get("/api/v1/search?q=cs", headers=auth_for("engineer")).get_json()
    }
    html = client.get("/search?q=cs").get_data(as_text=True)
    assert api_urls and all(f'href="{url}"' in html for url in api_urls)


def test_the_api_offers_every_kind_the_search_finds():
    assert set(get_args(Kind)) == set(KINDS)
