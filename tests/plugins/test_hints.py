"""Every hint and error names only commands the reader may use (issue 13 item 13)."""

from __future__ import annotations

import re

from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, group_msg, private_msg

OPERATOR, MEMBER = 20001, 29999
LINK = "https://mp.weixin.qq.com/s/abc"
ADMIN_ONLY = re.compile(
    r"/(统发 (列表|催办|代确认|补登|结束|撤回)|报送 (新建|发起|登记|催办|列表|结束|汇总|打包)|审核|备案|"
    r"单位 (添加|别名|改名|删除)|未绑定|导出|僵尸号|发送记录|后台)"
)

# common wrong turns: a task number that does not exist, a closed task, a misspelt sub-command, a unit not found …
INPUTS = [
    "/统发 进度 99",
    "/已转发 99",
    "/已转发",
    "/统发 列表",
    "/统发 催办",
    "/统发 撤回 1",
    "/报送 进度 99",
    "/报送 列表",
    "/报送 汇总表",
    "/报送",
    "/已报送 99",
    "/已报送",
    "/注册 郑州大大学",
    "/账号 注销 微博 没有这个号",
    "/账号 列表 没有这个单位",
    "/粉丝 微博 100",
    "/查询 没有这个单位",
    "/帮助 统发",
    "/帮助 报送",
    "/帮助 单位",
    "/帮助 审核",
    "/帮助",
    "/审核 通过 1",
    "/备案",
]


async def _answers(app: NBApp, core: App, user: int) -> list[str]:
    texts = []
    for text in INPUTS:
        for event in (group_msg(text, user), private_msg(text, user)):
            texts += [f"{text} → {o['text']}" for o in await say(app, core, event)]
    return texts


async def test_no_hint_names_an_admin_command_to_an_operator_or_a_member(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    a, _ = await core.units.registrations.apply(OPERATOR, "郑大-张老师", "0", "郑州大学")
    await core.units.registrations.approve([a.id], actor=str(ADMIN))
    await say(app, core, group_msg(f"/统发 旧任务 {LINK} 截止 3天后", ADMIN))
    await say(app, core, group_msg("/统发 结束 1", ADMIN))
    await say(app, core, group_msg("/报送 新建 统计表 截止 3天后", ADMIN))
    await say(app, core, group_msg("/报送 结束 1", ADMIN))

    for user in (OPERATOR, MEMBER):
        answers = await _answers(app, core, user)
        assert answers
        bad = [t for t in answers if ADMIN_ONLY.search(t.split(" → ", 1)[1])]
        assert not bad, "\n".join(bad)
    closed = [t for t in await _answers(app, core, OPERATOR) if t.startswith("/已转发 1 →")]
    assert not closed or "代确认" not in closed[0]


async def test_an_operator_confirming_a_closed_task_is_told_to_ask_the_admin(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    a, _ = await core.units.registrations.apply(OPERATOR, "郑大-张老师", "0", "郑州大学")
    await core.units.registrations.approve([a.id], actor=str(ADMIN))
    await say(app, core, group_msg(f"/统发 旧任务 {LINK} 截止 3天后", ADMIN))
    await say(app, core, group_msg("/统发 结束 1", ADMIN))
    (out,) = await say(app, core, group_msg("/已转发 1", OPERATOR))
    assert "已结束" in out["text"] and "联系管理员" in out["text"] and "/统发 代确认" not in out["text"]


async def test_the_admin_still_reads_the_admin_part_of_a_help_topic(app: NBApp, core: App) -> None:
    (out,) = await say(app, core, group_msg("/帮助 统发", ADMIN))
    assert "/统发 催办" in out["text"]
    (out,) = await say(app, core, group_msg("/报送 汇总表", ADMIN))
    assert "/报送 新建" in out["text"]
