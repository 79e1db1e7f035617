"""Chinese first, English too: the language of a page, and catalogues compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.i18n import CATALOGUE_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.mark.parametrize("package", CATALOGUE_PACKAGES)
def test_every_catalogue_is_compiled_by_the_set_up(package):
    catalogue = ROOT / package / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    assert (catalogue / "messages.po").is_file()
    compiled = catalogue / "messages.mo"
    assert compiled.is_file(), f"run `make catalogues`: {compiled} is missing"
    assert compiled.stat().st_mtime >= (catalogue / "messages.po").stat().st_mtime


def test_a_chinese_browser_gets_chinese_pages_and_says_so(client):
    html = client.get("/login", headers=CHINESE).get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in html
    assert "<h1>登录</h1>" in html and "用户名" in html


def test_an_english_browser_gets_english(client):
    html = client.get("/login", headers={"Accept-Language": "en-GB,en"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "<h1>Sign in</h1>" in html


def test_the_api_stays_english_with_a_stable_error_code(client):
    answer = client.get("/api/v1/depots", headers=CHINESE)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"
    assert answer.get_json()["detail"].isascii()
