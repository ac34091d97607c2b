"""Issue 24.3 over a real WebSocket, with the sample roster: a province admin appoints a 郑州 city admin, who approves
a county bureau's operator, issues a 统发 that reaches only 郑州's units, and is refused outside 郑州."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from sim.qqsim import BotProcess, QQClient
from tests.e2e.bots import bot_for_the_file, connected
from tests.e2e.test_foundation import ADMIN, ENV, GROUP, TOKEN, import_roster_cli

CITY = 30001
OP = 20001
OP2 = 20002
LINK = "https://mp.weixin.qq.com/s/abc"
MEMBERS = {
    GROUP: [
        {"user_id": ADMIN, "nickname": "新闻办小王", "card": "新闻办-王", "role": "admin"},
        {"user_id": CITY, "nickname": "郑州市局小李", "card": "郑州市教育局-李"},
        {"user_id": OP, "nickname": "张三", "card": "金水区-张三"},
        {"user_id": OP2, "nickname": "李四", "card": "西工区-李四"},
    ]
}
REFUSED = "你是市级管理员，管理范围：郑州市教育局及其下级单位；“{}”不在其中。"


bot = bot_for_the_file("city", ENV)


@pytest.fixture(scope="module")
async def qq(bot: BotProcess) -> AsyncIterator[QQClient]:
    async with connected(bot, token=TOKEN, group_members=MEMBERS, timeout=15) as client:
        yield client


def number(text: str) -> int:
    m = re.search(r"#(\d+)", text)
    assert m, text
    return int(m.group(1))


async def test_a_zhengzhou_city_admin_runs_their_level(bot: BotProcess, qq: QQClient) -> None:
    done = await asyncio.to_thread(import_roster_cli, bot)
    assert done.returncode == 0, done.stderr

    reply = await qq.ask(GROUP, ADMIN, f"/管理员 任命 {CITY} 郑州市教育局")
    assert " 为市级管理员" in reply.text and "共 13 个单位" in reply.text and str(CITY) in reply.ats

    zz = number((await qq.ask(GROUP, OP, "/注册 郑州市金水区教育局")).text)
    ly = number((await qq.ask(GROUP, OP2, "/注册 洛阳市西工区教育局")).text)

    # the city admin approves their county bureau's operator, and is refused 洛阳's
    reply = await qq.ask(GROUP, CITY, f"/审核 通过 {zz}")
    assert "成为“郑州市金水区教育局”的联络员" in reply.text and str(OP) in reply.ats
    reply = await qq.ask(GROUP, CITY, f"/审核 通过 {ly}")
    assert REFUSED.format("洛阳市西工区教育局") in reply.text

    # a 统发 of theirs owes 郑州's units only; a 范围 outside 郑州 is refused naming their scope
    qq.mark()
    await qq.group_message(GROUP, CITY, f"/统发 郑州的稿子 {LINK}")
    sent = await qq.wait_sent(lambda s: "已发布统发" in s.text or "【一键统发" in s.text, count=2)
    reply = next(s for s in sent if "已发布统发" in s.text)
    assert "13 个单位需完成" in reply.text, reply.text
    task = number(reply.text)
    reply = await qq.ask(GROUP, CITY, f"/统发 别的稿子 {LINK} 范围 洛阳")
    assert REFUSED.format("洛阳") in reply.text
    reply = await qq.ask(GROUP, CITY, "/单位 上级 洛阳市西工区教育局 郑州市教育局")
    assert REFUSED.format("洛阳市西工区教育局") in reply.text

    # the whole list, privately to the province admin: 郑州's units, none of 洛阳's
    whole = await qq.ask_private(ADMIN, f"/统发 进度 {task} 文字")
    assert "0/13" in whole.text and "金水区" in whole.text and "洛阳" not in whole.text, whole.text

    # a province 统发 owes every unit; the city admin's 催办 @-mentions 郑州's operator only
    reply = await qq.ask(GROUP, ADMIN, f"/审核 通过 {ly}")
    assert "成为“洛阳市西工区教育局”的联络员" in reply.text
    qq.mark()
    await qq.group_message(GROUP, ADMIN, f"/统发 省里的稿子 {LINK}")
    province = number((await qq.wait_sent(lambda s: "已发布统发" in s.text and "省里的稿子" in s.text))[0].text)
    qq.mark()
    await qq.group_message(GROUP, CITY, f"/统发 催办 {province} 强制")
    sent = await qq.wait_sent(lambda s: "已催办统发" in s.text)
    assert "13 个单位未完成，@ 了 1 位联络员" in sent[0].text, sent[0].text
    await qq.wait_sent(lambda s: str(OP) in s.ats)  # the nudge goes after the answer (answers come first)
    ats = [a for s in qq.sent[qq._mark :] for a in s.ats]
    assert str(OP) in ats and str(OP2) not in ats

    # the province's progress of its own 统发 is one line per city (and per category under the province); the city
    # admin sees 郑州's units only, and 洛阳 is refused to them
    rolled = await qq.ask_private(ADMIN, f"/统发 进度 {province} 文字")
    assert "按城市（市教育局及其下级单位）：" in rolled.text and "郑州市 0/13" in rolled.text, rolled.text
    assert "洛阳市 0/" in rolled.text and "省直属单位（按类别）：" in rolled.text
    mine = await qq.ask_private(CITY, f"/统发 进度 {province} 文字")
    assert "【郑州市教育局及其下级单位】" in mine.text and "已完成 0/13" in mine.text, mine.text
    assert "洛阳" not in mine.text and "郑州大学" not in mine.text
    other = await qq.ask_private(CITY, f"/统发 进度 {province} 洛阳")
    assert "不在你的管理范围内" in other.text, other.text
