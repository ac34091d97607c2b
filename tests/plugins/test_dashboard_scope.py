"""A city admin's dashboard link shows only their area (issue 24.1): with the sample roster and a 郑州 city admin,
no 洛阳 unit appears on any page or in any download, a page or file of 洛阳 is refused with 403 and a Chinese
sentence, the roster import stays the office's, and the office's token still sees everything."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from bot import clock
from bot.app import App
from bot.broadcasts.records import Draft
from bot.returns.files.records import Upload
from bot.returns.records import NewReturn
from bot.roster import import_file
from sim import samples
from tests.conftest import ROSTER
from tests.fake import ADMIN, GROUP
from tests.plugins.test_dashboard import client, dashboard_app

TOKEN = "s3cret-令牌-token-for-scope"
CITY, LY_CITY = 30001, 30002  # the city admins of 郑州 and 洛阳
OP_ZZ, OP_LY = 20001, 20002  # operators of 郑州市金水区教育局 and 洛阳市西工区教育局
ZZ_UNIT, LY_UNIT = "郑州市金水区教育局", "洛阳市西工区教育局"
PAGES = [
    "/dashboard",
    "/dashboard/units",
    "/dashboard/units?q=洛阳",
    "/dashboard/units?q=ly",
    "/dashboard/accounts",
    "/dashboard/accounts?q=洛阳",
    "/dashboard/filings?state=全部",
    "/dashboard/tasks",
    "/dashboard/followers",
    "/dashboard/exports",
    "/dashboard/audit",
]


@pytest.fixture
async def henan(tmp_path: Path) -> AsyncIterator[App]:
    async with dashboard_app(tmp_path, TOKEN) as core:
        await import_file(core.units, ROSTER)
        await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
        await core.roles.appoint(str(ADMIN), str(LY_CITY), "洛阳市教育局")
        for op, unit in ((OP_ZZ, ZZ_UNIT), (OP_LY, LY_UNIT)):
            a, _ = await core.units.registrations.apply(op, f"联络员{op}", GROUP, unit)
            await core.units.registrations.approve([a.id], actor=str(ADMIN))
        yield core


async def city_login(c: httpx.AsyncClient, core: App, who: int = CITY) -> None:
    """Log in with the person's own /后台 link."""
    from plugins.dashboard import links

    code = links.LINKS.issue(str(who), (await core.roles.of(who))[1])
    r = await c.post("/dashboard/enter", data={"c": code})
    assert r.status_code == 303


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def cells(path: Path) -> str:
    """Every cell of a workbook, as one text."""
    book = load_workbook(path, read_only=True)
    return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)


async def tasks(core: App) -> tuple[int, int, int]:
    """A province 统发 to every unit, a 洛阳 city admin's own 统发, and a province 报送 with both operators' files."""
    deadline = clock.now() + timedelta(days=3)
    draft = Draft("全省转发", "https://mp.weixin.qq.com/s/a", deadline, (), ())
    province = (await core.broadcasts.create(draft, actor=str(ADMIN), article_title="全省转发")).task.id
    ly_scope = (await core.roles.of(LY_CITY))[1]
    ly_draft = Draft("西工专项", "https://mp.weixin.qq.com/s/b", deadline, (), ())
    ly = (await core.broadcasts.create(ly_draft, actor=str(LY_CITY), article_title="西工专项", scope=ly_scope)).task.id
    ret = (await core.returns.create(NewReturn("新媒体统计", deadline, "", "", "统计表"), actor=str(ADMIN))).ret
    for op, unit in ((OP_ZZ, ZZ_UNIT), (OP_LY, LY_UNIT)):
        data = samples.xlsx(samples.stats_rows(unit, 2))

        async def give(cap: int, data: bytes = data) -> bytes:
            return data

        await core.return_files.receive(
            Upload(str(op), f"联络员{op}", str(GROUP), f"{unit}统计.xlsx", len(data), f"f{op}"), give, is_admin=False
        )
    return province, ly, ret.id


async def test_a_city_admins_pages_never_show_luoyang_while_the_office_sees_it(henan: App) -> None:
    province, ly, rid = await tasks(henan)
    ly_unit = await henan.units.resolve(LY_UNIT)
    async with client() as c:
        await city_login(c, henan)
        for path in [*PAGES, f"/dashboard/tasks/broadcast/{province}", f"/dashboard/tasks/return/{rid}"]:
            r = await c.get(path)
            assert r.status_code == 200, path
            assert "洛阳市" not in r.text and "西工" not in r.text, path  # every 洛阳 unit is 洛阳市…
        assert "市级管理员 30001（郑州市教育局及其下级单位）" in (await c.get("/dashboard")).text
        units = (await c.get("/dashboard/units?q=郑州")).text
        assert ZZ_UNIT in units and "郑州大学" not in units  # the universities are the province's
        page = (await c.get(f"/dashboard/tasks/broadcast/{province}")).text
        assert "未确认（13）" in page  # 郑州市教育局 and its 12 county bureaus, not the whole province
        tasks_page = (await c.get("/dashboard/tasks")).text
        assert "全省转发" in tasks_page and "0/13（0.0%）" in tasks_page  # counted over 郑州's 13 units
        assert "1/13（7.7%）" in tasks_page  # the 报送: 金水 handed in, 西工 is not counted
        r = await c.get(f"/dashboard/units/{ly_unit.id}")
        assert r.status_code == 403 and f"“{LY_UNIT}”不在你的管理范围（郑州市教育局及其下级单位）内" in r.text
        r = await c.get(f"/dashboard/tasks/broadcast/{ly}")
        assert r.status_code == 403 and "不涉及你的管理范围（郑州市教育局及其下级单位）内的单位" in r.text
        assert "西工专项" not in r.text
    async with client() as c:  # the office's token: the whole province, as before
        await c.post("/dashboard/login", data={"token": TOKEN})
        assert "洛阳市教育局" in (await c.get("/dashboard/units?q=洛阳")).text
        assert "西工专项" in (await c.get("/dashboard/tasks")).text
        assert LY_UNIT in (await c.get(f"/dashboard/tasks/return/{rid}")).text
        assert "洛阳" in (await c.get("/dashboard/audit")).text
        assert (await c.get(f"/dashboard/units/{ly_unit.id}")).status_code == 200


async def test_a_city_admins_downloads_hold_only_their_units_and_others_are_refused(henan: App) -> None:
    province, ly, rid = await tasks(henan)
    async with client() as office:
        await office.post("/dashboard/login", data={"token": TOKEN})
        page = (await office.get("/dashboard/exports")).text
        made = await office.post("/dashboard/exports", data={"csrf": csrf_of(page), "kind": "统计表"})
        office_file = made.headers["location"]
        ret_page = (await office.get(f"/dashboard/tasks/return/{rid}")).text
        ly_file = re.search(rf'href="(/dashboard/tasks/return/{rid}/files/\d+)">{LY_UNIT}', ret_page)
        assert ly_file is not None and (await office.get(ly_file.group(1))).status_code == 200
    async with client() as c:
        await city_login(c, henan)
        page = (await c.get("/dashboard/exports")).text
        assert office_file.rsplit("/", 1)[-1] not in page  # the office's file is not listed
        r = await c.get(office_file)
        assert r.status_code == 403 and "这个文件不是你导出的，不能下载" in r.text
        csrf = csrf_of(page)
        for form in (
            {"kind": "统计表"},
            {"kind": "汇总表"},
            {"kind": "备案表"},
            {"kind": "统发", "task": str(province)},
        ):
            made = await c.post("/dashboard/exports", data={"csrf": csrf, **form})
            assert made.status_code == 303, form
            got = await c.get(made.headers["location"])
            assert got.status_code == 200, form
            name = unquote(made.headers["location"].rsplit("/", 1)[-1])
            text = cells(henan.settings.data_dir / "exports" / name)
            assert "洛阳市" not in text, form
        assert ZZ_UNIT in text  # the 统发 sheet lists 郑州's units
        refused = await c.post("/dashboard/exports", data={"csrf": csrf, "kind": "统发", "task": str(ly)})
        assert "不涉及你的管理范围（郑州市教育局及其下级单位）内的单位" in refused.text
        ret_page = (await c.get(f"/dashboard/tasks/return/{rid}")).text
        assert "交来的文件（1）" in ret_page and ZZ_UNIT in ret_page
        r = await c.get(ly_file.group(1))
        assert r.status_code == 403 and f"这个文件是“{LY_UNIT}”交的，不在你的管理范围" in r.text
        assert b"PK" not in r.content[:2]
        merged = await c.post(f"/dashboard/tasks/return/{rid}/merged", data={"csrf": csrf})
        assert merged.status_code == 303
        assert (await c.get(merged.headers["location"])).status_code == 200
        text = cells(henan.settings.data_dir / "exports" / unquote(merged.headers["location"].rsplit("/", 1)[-1]))
        assert ZZ_UNIT in text and "洛阳市" not in text
        listed = (await c.get("/dashboard/exports")).text
        assert listed.count('href="/dashboard/exports/file/') == 5  # the four exports and the merged workbook
    async with henan.db.read() as tx:
        actors = {r[0] for r in await tx.all("SELECT actor FROM audit WHERE action IN ('导出', '报送汇总')")}
    assert f"dashboard:{CITY}" in actors


async def test_the_roster_import_stays_the_offices(henan: App) -> None:
    async with client() as c:
        await city_login(c, henan)
        r = await c.get("/dashboard/import")
        assert r.status_code == 403 and "导入名册只能由新闻办（省级管理员）操作" in r.text
        csrf = csrf_of((await c.get("/dashboard")).text)
        r = await c.post("/dashboard/import", files={"file": ("r.csv", "名称,类别,地市\n新单位,高中,郑州\n".encode())})
        assert r.status_code == 403
        assert csrf  # the session is live: the refusal is the role's, not the login's
    assert await henan.units.find("新单位") is None


async def test_a_city_admin_is_never_offered_the_roster_import(henan: App) -> None:
    """What the person may not use is not shown: no 导入名册 in a city admin's menu on any page (found, refused or
    missing), while the office's menu has it on every page; the import page answers 403 with the reason."""
    province, _ly, rid = await tasks(henan)
    ly_unit = await henan.units.resolve(LY_UNIT)
    paths = [
        *PAGES,
        f"/dashboard/tasks/broadcast/{province}",
        f"/dashboard/tasks/return/{rid}",
        f"/dashboard/units/{ly_unit.id}",  # refused: another city's
        "/dashboard/units/999999",  # no such unit
        "/dashboard/tasks/broadcast/999",  # no such task
        "/dashboard/exports/file/nope.xlsx",  # no such file
        "/dashboard/import",  # refused: the office's
    ]
    link = 'href="/dashboard/import"'
    async with client() as c:
        await city_login(c, henan)
        for path in paths:
            r = await c.get(path)
            assert "<nav>" in r.text, path  # a page of the logged-in dashboard, with its menu
            assert link not in r.text and ">导入名册</a>" not in r.text, path
            assert "市级管理员 30001（郑州市教育局及其下级单位）" in r.text, path  # every page says who is logged in
        r = await c.get("/dashboard/import")
        assert r.status_code == 403
        assert "导入名册只能由新闻办（省级管理员）操作。你是市级管理员" in r.text
    async with client() as office:
        await office.post("/dashboard/login", data={"token": TOKEN})
        for path in paths:
            r = await office.get(path)
            assert link in r.text, path
