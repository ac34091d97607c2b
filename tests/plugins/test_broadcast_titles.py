"""/统发 shows the linked article's real title; a dead link is refused; an unreachable page is announced anyway."""

from __future__ import annotations

from nonebug import App as NBApp

from bot.app import App
from bot.titles import DEAD, OK, UNREACHABLE, Page
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg
from tests.plugins.test_broadcast_cmds import seed


def pages(page: Page):
    asked: list[str] = []

    async def fetch(url: str) -> Page:
        asked.append(url)
        return page

    return fetch, asked


async def test_the_article_title_is_shown_under_the_admins_title(app: NBApp, core: App) -> None:
    await seed(core)
    core.fetch_page, asked = pages(Page(OK, "学习贯彻全国教育大会精神 推进教育强省建设"))
    out = await say(app, core, group_msg("/统发 大会精神 https://mp.weixin.qq.com/s/abc 截止 3天后", ADMIN))
    assert asked == ["https://mp.weixin.qq.com/s/abc"]
    note = next(o for o in out if o["text"].startswith("【一键统发 #1】"))
    assert note["target"] == ("group", str(GROUP))
    assert note["text"].splitlines()[:3] == [
        "【一键统发 #1】大会精神",
        "原文：《学习贯彻全国教育大会精神 推进教育强省建设》",
        "链接：https://mp.weixin.qq.com/s/abc",
    ]
    answer = next(o for o in out if "已发布统发 #1" in o["text"])
    assert "原文标题：《学习贯彻全国教育大会精神 推进教育强省建设》" in answer["text"]


async def test_a_dead_link_is_refused(app: NBApp, core: App) -> None:
    await seed(core)
    core.fetch_page, _ = pages(Page(DEAD, reason="网页返回 404"))
    out = await say(app, core, group_msg("/统发 大会精神 https://mp.weixin.qq.com/s/gone 截止 3天后", ADMIN))
    assert len(out) == 1 and out[0]["ats"] == [str(ADMIN)]
    assert "链接打不开（网页返回 404" in out[0]["text"] and "没有发布" in out[0]["text"]
    assert await core.broadcasts.listing(include_closed=True) == []


async def test_an_unreachable_page_is_announced_and_the_admin_told(app: NBApp, core: App) -> None:
    await seed(core)
    core.fetch_page, _ = pages(Page(UNREACHABLE, reason="5 秒内没有打开"))
    out = await say(app, core, group_msg("/统发 大会精神 https://a.cn/s/1 截止 3天后", ADMIN))
    note = next(o for o in out if o["text"].startswith("【一键统发 #1】"))
    assert "原文" not in note["text"]
    answer = next(o for o in out if "已发布统发 #1" in o["text"])
    assert "没能打开这个链接（5 秒内没有打开），已照常发布" in answer["text"]
