"""A name typed with junk around it finds what the clean name finds: a pasted zero-width space, a BOM, a
no-break or full-width space, full-width letters, a full stop after the name. Every command that looks up a
unit or an account by name, through NoneBot's handlers."""

from __future__ import annotations

import pytest
from nonebug import App as NBApp

from bot import clock
from bot.app import App
from tests.bot.test_followers import MONDAY, make_unit
from tests.conftest import say
from tests.fake import ADMIN, group_msg, private_msg

ZZU, NEW = 20001, 20009


@pytest.fixture
async def world(core: App) -> App:
    clock.freeze(MONDAY)
    await make_unit(
        core,
        "郑州大学",
        "本科高校",
        "郑州",
        str(ZZU),
        (("微信公众号", "郑大青年"), ("微信公众号", "郑州大学"), ("抖音", "ZZU青年")),
        students=72000,
    )
    await core.units.add_aliases("郑州大学", ["郑大"], actor="t")
    await make_unit(core, "河南大学", "本科高校", "开封", None)
    return core


async def ask(nb: NBApp, app: App, text: str, user: int = ZZU) -> str:
    out = await say(nb, app, group_msg(text, user))
    assert out, f"no answer to {text!r}"
    return out[0]["text"]


async def latest_count(app: App, account: str) -> int | None:
    async with app.db.read() as tx:
        return await tx.value(
            "SELECT f.count FROM follower_reports f JOIN accounts a ON a.id=f.account_id WHERE a.name=? "
            "ORDER BY f.day DESC, f.reported_at DESC LIMIT 1",
            (account,),
        )


@pytest.mark.parametrize(
    "typed,account",
    [
        ("郑大青年\u200b", "郑大青年"),  # a zero-width space pasted from a web page
        ("\ufeff郑大青年", "郑大青年"),  # a BOM from a file
        ("郑大青年。", "郑大青年"),  # a full stop typed after the name
        ("微信\u200b 郑大青年", "郑大青年"),  # the platform with a zero-width space
        ("ＺＺＵ青年", "ZZU青年"),  # full-width letters from a Chinese keyboard
        ("抖音 zzu青年！", "ZZU青年"),
        ("郑大青年\u3000", "郑大青年"),  # a full-width space
    ],
)
async def test_fans_report_finds_the_account_typed_with_junk(app: NBApp, world: App, typed: str, account: str) -> None:
    text = await ask(app, world, f"/粉丝 {typed} 12345")
    assert "已记录" in text and "12,345" in text, text
    assert await latest_count(world, account) == 12345


@pytest.mark.parametrize("typed", ["郑大青年\u200b", "郑大青年！", "\ufeffＺＺＵ青年", "微信公众号\u00a0郑大青年。"])
async def test_post_date_finds_the_account_typed_with_junk(app: NBApp, world: App, typed: str) -> None:
    text = await ask(app, world, f"/更新 {typed} 今天")
    assert "已记录" in text, text


async def test_account_change_and_closure_find_the_account_typed_with_junk(app: NBApp, world: App) -> None:
    text = await ask(app, world, "/账号 变更 微信 郑大青年\u200b 账号ID=zzuqn")
    assert "已记录变更备案" in text or "变更备案" in text, text
    assert "没有找到" not in text
    text = await ask(app, world, "/账号 注销 抖音 ＺＺＵ青年。")
    assert "注销备案" in text and "没有找到" not in text, text
    async with world.db.read() as tx:
        kinds = [r[0] for r in await tx.all("SELECT kind FROM filings WHERE state='待审核' ORDER BY id")]
    assert kinds == ["变更", "注销"]


async def test_account_list_of_a_unit_typed_with_junk(app: NBApp, world: App) -> None:
    text = await ask(app, world, "/账号 列表 郑州大学\u200b")
    assert "郑大青年" in text and "ZZU青年" in text, text


@pytest.mark.parametrize(
    "typed", ["郑州大学\u200b", "郑州大学。", "\ufeff郑大", "郑大！", "郑州\u00a0大学", "ｈｎｄｘ"]
)
async def test_query_finds_the_unit_typed_with_junk(app: NBApp, world: App, typed: str) -> None:
    text = await ask(app, world, f"/查询 {typed}")
    wanted = "河南大学" if typed == "ｈｎｄｘ" else "郑州大学"
    assert wanted in text and "没有找到" not in text, text


@pytest.mark.parametrize("typed", ["郑州大学。", "郑州大学\u200b", "\ufeff郑大"])
async def test_registering_with_a_name_typed_with_junk_applies_for_that_unit(
    app: NBApp, world: App, typed: str
) -> None:
    text = await ask(app, world, f"/注册 {typed}", NEW)
    assert "申请成为“郑州大学”的联络员" in text, text
    pending = await world.units.registrations.pending()
    assert [(a.unit_name, a.is_new_unit) for a in pending] == [("郑州大学", False)]


async def test_a_private_fans_report_with_junk_works_too(app: NBApp, world: App) -> None:
    out = await say(app, world, private_msg("/粉丝 郑大青年\u200b。 1.5万", ZZU))
    assert "已记录" in out[0]["text"] and "15,000" in out[0]["text"]


async def test_fans_target_and_unit_list_take_names_typed_with_junk(app: NBApp, world: App) -> None:
    text = await ask(app, world, "/粉丝 目标 郑州大学\u200b。")
    assert "郑州大学" in text and "没有找到" not in text, text
    text = await ask(app, world, "/单位 列表 本科高校\u200b")
    assert "本科高校共 2 个" in text, text


@pytest.mark.parametrize("typed", ["郑州大学。", "郑州大学！\u200b", "郑大。"])
async def test_adding_a_unit_named_like_one_with_junk_is_refused(app: NBApp, world: App, typed: str) -> None:
    out = await say(app, world, group_msg(f"/单位 添加 {typed} 本科高校 郑州", ADMIN))
    assert "已经存在" in out[0]["text"] or "已是“郑州大学”的简称" in out[0]["text"], out[0]["text"]
    assert [u.name for u in await world.units.all()] == ["郑州大学", "河南大学"]
