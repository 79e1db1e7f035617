"""Customers, sites, contracts and the installed base through their pages: lists
paginated, sorted and filtered on the server with the whole selection's totals;
forms that record and edit, a refused one shown again with its error (4xx) and
nothing changed; Chinese names first on a Chinese page; errors in the reader's
language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from rma.models import Contract, Customer, InstalledUnit, Site
from rma.service import customers, opening
from rma.service.opening import OpenRequest
from tests.conftest import csrf_token
from tests.rma.conftest import today

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en"}


# --- helpers --------------------------------------------------------------------------------


def _html(response) -> str:
    return response.get_data(as_text=True)


def _get(client, path: str, headers=CHINESE, status: int = 200) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == status, _html(response)[:2000]
    return _html(response)


def _post(client, path: str, data: dict, headers=CHINESE):
    token = csrf_token(client, "/customers")
    return client.post(path, data={"csrf_token": token, **data}, headers=headers)


def _row(html: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def _rows(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<tr data-testid="{re.escape(prefix)}([^"]+)"', html)


def _text(html: str) -> str:
    """The page's text without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _error(html: str) -> str:
    match = re.search(r'data-testid="form-error">(.*?)</div>', html, re.S)
    assert match, "no error shown"
    return _text(match.group(1))


def _read(engine, model, *where):
    with UnitOfWork(engine).transaction(write=False) as session:
        return list(session.scalars(select(model).where(*where)))


def _switch(client, login, role: str):
    if client.get("/").status_code == 200:
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    return login(role)


@pytest.fixture
def record(engine, supervisor):
    """Record customers, sites, contracts and units straight through the services."""

    class Record:
        def customer(self, code, name, name_zh="", email=None):
            return customers.create_customer(
                UnitOfWork(engine), supervisor, code, name, name_zh=name_zh, email=email
            )

        def site(self, customer, name, city):
            return customers.create_site(UnitOfWork(engine), supervisor, customer.id, name, city)

        def contract(self, customer, number, days=365, coverage="5x8", **kinds):
            return customers.create_contract(
                UnitOfWork(engine),
                supervisor,
                customer.id,
                number,
                coverage,
                today() - timedelta(days=30),
                today() + timedelta(days=days),
                **kinds,
            )

        def unit(
            self, site, serial, part, *, phase="in_warranty", warranty_days=200, contract=None
        ):
            return customers.create_installed_unit(
                UnitOfWork(engine),
                supervisor,
                serial,
                part,
                site.id,
                today() - timedelta(days=400),
                today() + timedelta(days=warranty_days),
                phase=phase,
                contract_id=contract.id if contract else None,
            )

        def case(self, engineer, unit, kind="repair"):
            request = OpenRequest(fault_level="C-3", kind=kind, symptom="fan", serial=unit.serial)
            return opening.open_rma(UnitOfWork(engine), engineer, request)

    return Record()


# --- the customers' list --------------------------------------------------------------------


def test_the_customer_list_pages_sorts_and_filters_on_the_server_with_whole_totals(
    client, login, record, make_part
):
    part = make_part(serialized=True)
    for n in range(1, 31):
        customer = record.customer(f"C-{n:02d}", f"Customer {n:02d}", f"客户{n:02d}")
        site = record.site(customer, f"HQ {n}", "Wuhan" if n % 3 else "Changsha")
        for k in range(n % 4):
            record.unit(site, f"LS{n:02d}{k}", part)
    record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    login("planner")  # planners read

    first = _get(client, "/customers?per_page=25&sort=code")
    assert _rows(first, "customer-")[:3] == ["C-01", "C-02", "C-03"]
    assert len(_rows(first, "customer-")) == 25
    totals = _text(re.search(r'data-testid="customer-totals".*?</p>', first, re.S).group(0))
    units = sum(n % 4 for n in range(1, 31))
    assert "31 个客户" in totals and f"{units} 台在网设备" in totals  # all pages, not this one
    pager = _text(re.search(r'data-testid="pager-range">(.*?)</span>', first).group(1))
    assert "25" in pager and "31" in pager
    assert 'rel="next"' in first and "new-customer" not in first  # planners cannot add
    second = _get(client, "/customers?per_page=25&sort=code&page=2")
    assert _rows(second, "customer-") == ["C-26", "C-27", "C-28", "C-29", "C-30", "HN-BANK"]

    most = _get(client, "/customers?sort=units&order=desc&per_page=25")
    with_three = {f"C-{n:02d}" for n in range(3, 31, 4)}  # the most units: 3 each
    assert set(_rows(most, "customer-")[:7]) == with_three
    assert 'aria-sort="descending" data-sort-key="units"' in most

    # By name in Chinese or English (any case), by a city they have a site in.
    assert _rows(_get(client, "/customers?q=湖南"), "customer-") == ["HN-BANK"]
    assert _rows(_get(client, "/customers?q=hunan%20BANK"), "customer-") == ["HN-BANK"]
    html = _get(client, "/customers")  # the city's id, as the filter's select sends it
    city_id = re.search(r'<option value="(\d+)">长沙 Changsha</option>', html).group(1)
    in_changsha = _get(client, f"/customers?city={city_id}&sort=code")
    assert _rows(in_changsha, "customer-") == [f"C-{n:02d}" for n in range(3, 31, 3)]
    totals = _text(re.search(r'data-testid="customer-totals".*?</p>', in_changsha, re.S).group(0))
    assert "10 个客户" in totals and f"{sum(n % 4 for n in range(3, 31, 3))} 台在网设备" in totals


def test_chinese_names_come_first_on_a_chinese_page_and_second_on_an_english_one(
    client, login, record
):
    customer = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    record.site(customer, "Data centre", "Changsha")
    login("engineer")
    chinese = _row(_get(client, "/customers"), "customer-HN-BANK")
    assert re.search(r'湖南银行 <span class="other" lang="en">Hunan Bank</span>', chinese)
    assert re.search(r'长沙 <span class="other" lang="en">Changsha</span>', chinese)
    english = _row(_get(client, "/customers", headers=ENGLISH), "customer-HN-BANK")
    assert re.search(r'Hunan Bank <span class="other" lang="zh-Hans">湖南银行</span>', english)
    assert re.search(r'Changsha <span class="other" lang="zh-Hans">长沙</span>', english)
    page = _get(client, f"/customers/{customer.id}")
    assert (
        'data-testid="customer-name">湖南银行 <span class="other" lang="en">Hunan Bank</span>'
        in page
    )


def test_depot_staff_do_not_reach_the_customer_pages(client, login):
    login("depot_staff", depot="SH")
    assert client.get("/customers").status_code == 403
    assert client.get("/installed-base").status_code == 403


# --- one customer ---------------------------------------------------------------------------


def test_a_customer_page_shows_its_sites_contracts_units_and_open_cases(
    client, login, record, make_part, engineer
):
    part = make_part(serialized=True)
    customer = record.customer("XJ-GRID", "Xinjiang Grid", "新疆电网", "it@xj.cn")
    site = record.site(customer, "Urumqi DC", "Urumqi")
    contract = record.contract(customer, "K-XJ-1", coverage="7x24")
    unit = record.unit(site, "XJ000001", part, contract=contract)
    case = record.case(engineer, unit)
    login("supervisor")
    html = _get(client, f"/customers/{customer.id}")
    assert "乌鲁木齐" in _row(html, f"site-{site.id}")
    assert "有效" in _row(html, "contract-K-XJ-1") and "7x24" in _row(html, "contract-K-XJ-1")
    assert f'/customers/{customer.id}/contracts/{contract.id}"' in html
    assert '/installed-base/XJ000001"' in _row(html, "unit-XJ000001")
    assert f'/rmas/{case.number}"' in _row(html, f"case-{case.number}")
    assert 'href="/rmas/open"' in html  # the cases list
    assert "依据合同 K-XJ-1" in _text(html)  # what service the customer gets today
    assert 'data-testid="new-contract"' in html and 'data-testid="edit-customer"' in html
    assert client.get("/customers/999999", headers=CHINESE).status_code == 404


def test_a_customer_is_added_and_edited_through_the_form_and_bad_input_changes_nothing(
    client, login, engine
):
    login("engineer")
    refused = _post(client, "/customers/new", {"code": "x", "name": "Hunan Bank"})
    assert refused.status_code == 422
    assert "客户代码须为 2-20 个字母" in _error(_html(refused))
    assert re.search(r'name="code"[^>]*aria-invalid="true"', _html(refused))
    assert 'value="Hunan Bank"' in _html(refused)  # shown again as typed
    assert _read(engine, Customer) == []

    added = _post(
        client,
        "/customers/new",
        {"code": "hn-bank", "name": "Hunan Bank", "name_zh": "湖南银行", "email": ""},
    )
    assert added.status_code == 302
    [customer] = _read(engine, Customer)
    assert (customer.code, customer.name_zh, customer.email) == ("HN-BANK", "湖南银行", None)
    assert "已添加客户 HN-BANK。" in _get(client, added.headers["Location"])

    again = _post(client, "/customers/new", {"code": "HN-BANK", "name": "Other"})
    assert again.status_code == 409 and "客户 HN-BANK 已存在" in _error(_html(again))

    edit = f"/customers/{customer.id}/edit"
    assert 'value="湖南银行"' in _get(client, edit)
    bad = _post(client, edit, {"name": "Hunan Bank", "name_zh": "", "email": "no-at-sign"})
    assert bad.status_code == 422 and "电子邮箱不是有效的电子邮箱地址" in _error(_html(bad))
    assert _read(engine, Customer)[0].name_zh == "湖南银行"
    english = _post(client, edit, {"name": "", "name_zh": "x"}, headers=ENGLISH)
    assert english.status_code == 422 and "name is required" in _error(_html(english))
    saved = _post(
        client, edit, {"name": "Bank of Hunan", "name_zh": "湖南银行", "email": "it@hn.cn"}
    )
    assert saved.status_code == 302
    [customer] = _read(engine, Customer)
    assert (customer.code, customer.name, customer.email) == (
        "HN-BANK",
        "Bank of Hunan",
        "it@hn.cn",
    )


def test_planners_read_but_do_not_edit(client, login, record):
    customer = record.customer("ACME", "Acme")
    login("planner")
    _get(client, f"/customers/{customer.id}")
    assert client.get(f"/customers/{customer.id}/edit").status_code == 403
    assert client.get("/customers/new").status_code == 403
    assert client.get(f"/customers/{customer.id}/contracts/new").status_code == 403
    assert client.get("/installed-base/new").status_code == 403


# --- sites ----------------------------------------------------------------------------------


def _city_option(html: str, name: str) -> str:
    return re.search(rf'<option value="(\d+)"[^>]*>[^<]*{name}[^<]*</option>', html).group(1)


def test_a_site_is_added_and_edited_and_keeps_its_city_while_a_case_is_open(
    client, login, engine, record, make_part, engineer
):
    customer = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    login("engineer")
    form = _get(client, f"/customers/{customer.id}/sites/new")
    changsha, wuhan = _city_option(form, "Changsha"), _city_option(form, "Wuhan")
    no_city = _post(client, f"/customers/{customer.id}/sites/new", {"name": "HQ", "city": ""})
    assert no_city.status_code == 422 and "请选择站点所在城市" in _error(_html(no_city))
    added = _post(
        client,
        f"/customers/{customer.id}/sites/new",
        {"name": "HQ", "city": changsha, "contact_name": "Ms. Gao", "contact_phone": "0731-1"},
    )
    assert added.status_code == 302
    [site] = _read(engine, Site)
    assert (site.name, site.contact_name, site.contact_phone) == ("HQ", "Ms. Gao", "0731-1")

    unit = record.unit(site, "HN000001", make_part(serialized=True))
    case = record.case(engineer, unit)
    edit = f"/customers/{customer.id}/sites/{site.id}/edit"
    moved = _post(client, edit, {"name": "HQ 2", "city": wuhan, "contact_name": "Ms. Gao"})
    assert moved.status_code == 409
    assert f"站点有未结案件（{case.number}）时不能更改城市" in _error(_html(moved))
    assert re.search(r'name="city"[^>]*aria-invalid="true"', _html(moved))
    [site] = _read(engine, Site)
    assert (site.name, site.city_id) == ("HQ", int(changsha))  # nothing changed
    renamed = _post(client, edit, {"name": "HQ 2", "city": changsha, "contact_name": "Mr. Li"})
    assert renamed.status_code == 302
    [site] = _read(engine, Site)
    assert (site.name, site.contact_name) == ("HQ 2", "Mr. Li")
    other = record.customer("ACME", "Acme")
    assert client.get(f"/customers/{other.id}/sites/{site.id}/edit").status_code == 404


# --- contracts ------------------------------------------------------------------------------


def test_a_contract_is_added_and_renewed_with_the_entitlement_consequences_shown(
    client, login, engine, record, make_part
):
    customer = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    site = record.site(customer, "HQ", "Changsha")
    login("supervisor")
    new = f"/customers/{customer.id}/contracts/new"
    start, end = today() - timedelta(days=30), today() + timedelta(days=10)
    bad = _post(
        client,
        new,
        {"number": "K-1", "coverage": "5x8", "starts_on": end.isoformat(), "ends_on": "2020-01-01"},
    )
    assert bad.status_code == 422 and "合同的结束日期不能早于开始日期" in _error(_html(bad))
    assert _read(engine, Contract) == []
    added = _post(
        client,
        new,
        {
            "number": "k-1",
            "coverage": "5x8",
            "starts_on": start.isoformat(),
            "ends_on": end.isoformat(),
            "advance_replacement": "on",
            "repair": "on",
        },
    )
    assert added.status_code == 302
    [contract] = _read(engine, Contract)
    assert (contract.number, contract.repair, contract.loaner) == ("K-1", True, False)
    unit = record.unit(
        site,
        "HN000001",
        make_part(serialized=True),
        phase="out_of_warranty",
        warranty_days=-5,
        contract=contract,
    )

    # Today the contract covers the unit; from the day after it ends, nothing does.
    page = f"/customers/{customer.id}/contracts/{contract.id}"
    row = _row(_get(client, page), f"cover-{unit.serial}")
    assert re.search(r'data-testid="today-repair">免费<', row)
    assert re.search(r'data-testid="after-repair">收费<', row)
    assert "质保已于" in row  # why, in Chinese

    sooner = _post(client, f"{page}/extend", {"ends_on": (end - timedelta(days=1)).isoformat()})
    assert sooner.status_code == 422 and "续约后的结束日期须晚于" in _error(_html(sooner))
    assert _read(engine, Contract)[0].ends_on == end
    later = end + timedelta(days=365)
    extended = _post(client, f"{page}/extend", {"ends_on": later.isoformat()})
    assert extended.status_code == 302
    html = _get(client, page)
    assert f'data-testid="contract-ends">{later.isoformat()}<' in html
    assert f"{(later + timedelta(days=1)).isoformat()} 起" in html

    # A new 7x24 contract from today continues it: the unit moves and is covered by it.
    taken = _post(
        client,
        f"{page}/continue",
        {
            "number": "K-1",
            "coverage": "7x24",
            "starts_on": today().isoformat(),
            "ends_on": later.isoformat(),
            "repair": "on",
        },
    )
    assert taken.status_code == 409 and "合同 K-1 已存在" in _error(_html(taken))
    continued = _post(
        client,
        f"{page}/continue",
        {
            "number": "K-2",
            "coverage": "7x24",
            "starts_on": today().isoformat(),
            "ends_on": later.isoformat(),
            "repair": "on",
            "loaner": "on",
        },
    )
    assert continued.status_code == 302
    old, new_contract = sorted(_read(engine, Contract), key=lambda c: c.id)
    assert old.ends_on == today() - timedelta(days=1)
    assert (new_contract.coverage, new_contract.advance_replacement, new_contract.loaner) == (
        "7x24",
        False,
        True,
    )
    assert "1 台在网设备已转入新合同" in _get(client, continued.headers["Location"])
    unit_page = _get(client, "/installed-base/HN000001")
    assert "K-2" in unit_page and re.search(r'data-testid="entitlement-loaner">免费<', unit_page)
    assert re.search(r'data-testid="entitlement-advance_replacement">收费<', unit_page)


def test_engineers_do_not_record_contracts(client, login, record):
    customer = record.customer("ACME", "Acme")
    contract = record.contract(customer, "K-9")
    login("engineer")
    assert client.get(f"/customers/{customer.id}/contracts/new").status_code == 403
    page = _get(client, f"/customers/{customer.id}/contracts/{contract.id}")
    assert 'data-testid="extend-form"' not in page
    refused = _post(
        client,
        f"/customers/{customer.id}/contracts/{contract.id}/extend",
        {"ends_on": "2099-01-01"},
    )
    assert refused.status_code == 403


# --- the installed base ---------------------------------------------------------------------


def test_the_installed_base_filters_sorts_pages_and_counts_the_whole_selection(
    client, login, engine, record, make_part, supervisor
):
    switch, router = (
        make_part(serialized=True, prefix="SW"),
        make_part(serialized=True, prefix="RT"),
    )
    bank = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    hq, branch = record.site(bank, "HQ", "Changsha"), record.site(bank, "Branch", "Wuhan")
    grid = record.customer("XJ-GRID", "Xinjiang Grid", "新疆电网")
    dc = record.site(grid, "DC", "Urumqi")
    for n in range(27):
        record.unit(hq, f"HQ{n:04d}", switch, warranty_days=10 + n)
    record.unit(branch, "BR0001", router, phase="trial_run")
    record.unit(dc, "DC0001", router, phase="acceptance")
    gone = record.unit(dc, "DC0002", switch)
    customers.decommission(UnitOfWork(engine), supervisor, gone.serial)
    login("engineer")

    first = _get(client, "/installed-base?per_page=25")
    assert len(_rows(first, "unit-")) == 25 and "DC0002" not in first
    totals = _text(re.search(r'data-testid="unit-totals".*?</p>', first, re.S).group(0))
    assert "29 台设备" in totals  # all pages, the decommissioned unit left out
    assert _text(
        re.search(r'data-testid="phase-total-in_warranty">(.*?)<', first).group(1)
    ).endswith(": 27")
    last = _get(client, "/installed-base?per_page=25&page=2")
    assert _rows(last, "unit-") == ["HQ0023", "HQ0024", "HQ0025", "HQ0026"]

    def listed(query: str) -> list[str]:
        return _rows(_get(client, f"/installed-base?{query}"), "unit-")

    assert listed(f"customer={grid.id}") == ["DC0001"]
    assert listed(f"customer={bank.id}&site={branch.id}") == ["BR0001"]
    urumqi = _city_option(_get(client, "/installed-base"), "Urumqi")
    assert listed(f"city={urumqi}&state=all") == ["DC0001", "DC0002"]
    assert listed("state=decommissioned") == ["DC0002"]
    assert listed(f"part={router.lower()[:4]}") == ["BR0001", "DC0001"]
    assert listed("phase=trial_run") == ["BR0001"]
    assert listed("serial=hq002") == [f"HQ002{n}" for n in range(7)]
    assert listed("sort=warranty&order=desc&per_page=25")[0] in ("BR0001", "DC0001")
    assert listed("sort=phase&per_page=25")[:2] == ["DC0001", "BR0001"]  # in phase order
    # By the customer's name (English, mostly pinyin: Hunan before Xinjiang) and city.
    assert listed("sort=customer&order=desc&per_page=25")[0] == "DC0001"
    assert listed("sort=city&per_page=25")[0] == "HQ0000"  # Changsha, Urumqi, Wuhan
    assert listed("sort=city&order=desc&per_page=25")[0] == "BR0001"
    row = _row(_get(client, "/installed-base?phase=acceptance"), "unit-DC0001")
    assert re.search(r'新疆电网 <span class="other" lang="en">Xinjiang Grid</span>', row)
    assert re.search(r'乌鲁木齐 <span class="other" lang="en">Urumqi</span>', row)


def test_registering_a_serial_in_stock_is_refused_on_the_page_in_the_readers_language(
    client, login, engine, record, make_part, stock_up
):
    part = make_part(serialized=True)
    [shelved] = stock_up("SH", part, 1, serialized=True)
    customer = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    site = record.site(customer, "HQ", "Changsha")
    login("engineer")
    form = _get(client, f"/installed-base/new?site={site.id}")
    assert f'name="site" value="{site.id}"' in form
    data = {
        "site": str(site.id),
        "serial": shelved.lower(),
        "part_number": part,
        "shipped_on": (today() - timedelta(days=3)).isoformat(),
        "warranty_end": (today() + timedelta(days=365)).isoformat(),
        "phase": "acceptance",
    }
    refused = _post(client, "/installed-base/new", data)
    assert refused.status_code == 409
    assert f"序列号 {shelved} 在 SH 库房库存中；同一序列号不能同时在两处" in _error(_html(refused))
    assert re.search(r'name="serial"[^>]*aria-invalid="true"', _html(refused))
    english = _post(client, "/installed-base/new", data, headers=ENGLISH)
    assert f"serial {shelved} is in stock at SH; one serial cannot be in two places" in _error(
        _html(english)
    )
    assert _read(engine, InstalledUnit) == []

    bad_date = _post(
        client, "/installed-base/new", {**data, "serial": "NEW0001", "warranty_end": ""}
    )
    assert bad_date.status_code == 422 and "质保截止：请按 YYYY-MM-DD 格式输入日期" in _error(
        _html(bad_date)
    )
    registered = _post(client, "/installed-base/new", {**data, "serial": "new0001"})
    assert registered.status_code == 302 and registered.headers["Location"].endswith(
        "/installed-base/NEW0001"
    )
    [unit] = _read(engine, InstalledUnit)
    assert (unit.serial, unit.phase, unit.site_id, unit.active) == (
        "NEW0001",
        "acceptance",
        site.id,
        True,
    )


def test_a_phase_moves_forward_only_and_a_held_unit_is_not_decommissioned(
    client, login, engine, record, make_part, engineer
):
    part = make_part(serialized=True)
    customer = record.customer("HN-BANK", "Hunan Bank", "湖南银行")
    site = record.site(customer, "HQ", "Changsha")
    unit = record.unit(site, "HN000001", part, phase="installation", warranty_days=-1)
    held = record.unit(site, "HN000002", part)
    case = record.case(engineer, held)
    login("engineer")

    page = _get(client, f"/installed-base/{unit.serial}")
    options = re.search(r'<select name="phase".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="(\w+)"', options) == ["trial_run", "in_warranty", "out_of_warranty"]
    assert re.search(r'data-testid="entitlement-repair">免费<', page)  # before warranty
    moved = _post(client, f"/installed-base/{unit.serial}/phase", {"phase": "trial_run"})
    assert moved.status_code == 302
    back = _post(client, f"/installed-base/{unit.serial}/phase", {"phase": "acceptance"})
    assert back.status_code == 409
    assert "服务阶段只能向后推进" in _error(_html(back))
    assert _read(engine, InstalledUnit, InstalledUnit.serial == unit.serial)[0].phase == "trial_run"
    _post(client, f"/installed-base/{unit.serial}/phase", {"phase": "out_of_warranty"})
    page = _get(client, f"/installed-base/{unit.serial}")
    assert re.search(r'data-testid="entitlement-repair">收费<', page)  # no warranty, no contract
    assert 'name="phase"' not in page  # the last phase

    held_page = _get(client, f"/installed-base/{held.serial}")
    assert case.number in _text(
        re.search(r'data-testid="held-by">.*?</p>', held_page, re.S).group(0)
    )
    assert "将 HN000002 退网" not in held_page
    refused = _post(client, f"/installed-base/{held.serial}/decommission", {})
    assert refused.status_code == 409
    assert f"{case.number} 未结案前，HN000002 须保留在装机清单中" in _error(_html(refused))
    assert _read(engine, InstalledUnit, InstalledUnit.serial == held.serial)[0].active

    gone = _post(client, f"/installed-base/{unit.serial}/decommission", {})
    assert gone.status_code == 302
    page = _get(client, gone.headers["Location"])
    assert "已退出装机清单" in page and 'data-testid="decommission-form"' not in page
    assert not _read(engine, InstalledUnit, InstalledUnit.serial == unit.serial)[0].active
    again = _post(client, f"/installed-base/{unit.serial}/decommission", {})
    assert again.status_code == 409 and "HN000001 已退出装机清单" in _error(_html(again))
