"""The search pages in zh-CN leave no English outside data: the house's coverage check
(tests/core/test_translation_coverage.py) run on every search page state, with data
of our own (results, one kind page by page, nothing found, a refused query, places)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import text

from tests.core.test_translation_coverage import DATA_COLUMNS, _english_left, _Text

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _data(engine) -> list[str]:
    found: set[str] = set()
    with engine.connect() as connection:
        for table, column in DATA_COLUMNS:
            for (value,) in connection.execute(text(f"SELECT {column} FROM {table}")):
                if value:
                    found.add(str(value))
    return sorted(found, key=len, reverse=True)


def test_every_search_page_is_chinese_outside_data(client, login, world, engine):
    bank = world.customer("Xiangjiang Bank", "湘江银行")
    hq = world.site(bank, "Xiangjiang Bank HQ", "Changsha")
    for number in range(12):
        world.site(bank, f"Branch {number:02d}", "Changsha")
    part = world.part("Line card 48x10GE", part_number="LC-48X10GE")
    world.case(world.install(hq, part, "CSX0000042"))
    world.cancel(world.case(world.install(hq, part, "CSX0000043")))
    world.stock("SH", part, ["CSX0000044"])
    login("engineer")
    pages = [
        "/search",
        "/search?q=长沙",
        "/search?q=csx",
        "/search?q=branch&kind=site&per_page=25",
        "/search?q=nothing-here",
        "/search?q=" + "x" * 101,
        f"/search/cities/{hq.city_id}",
        f"/search/cities/{hq.city_id}?kind=site",
        f"/search/customers/{bank.id}",
        f"/search/sites/{hq.id}",
    ]
    data = _data(engine)
    english = {}
    for path in pages:
        answer = client.get(path, headers=CHINESE)
        assert answer.status_code in (200, 422), path
        html = answer.get_data(as_text=True)
        # The page's own text: its title, the header's search box and the main part (the
        # header's navigation and the sign-in flash belong to other packages).
        own = re.findall(
            r"<title>.*?</title>|<form[^>]*search-box.*?</form>|<main>.*</main>", html, re.S
        )
        parser = _Text()
        # What people type is not a sentence: their query, and the pinyin examples (kbd).
        parser.feed(re.sub(r"<kbd>.*?</kbd>", "", "".join(own)))
        typed = [unquote(path.partition("q=")[2].partition("&")[0])]
        left = {
            found
            for chunk in parser.chunks
            if (found := _english_left(chunk, [*typed, *data]))
            and not re.match(r"Signed in", chunk)
        }
        if left:
            english[path] = sorted(left)
    assert english == {}
