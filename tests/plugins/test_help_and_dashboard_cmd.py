"""/帮助 says values, not setting names (item 15); /后台 answers privately with the address (item 14)."""

from __future__ import annotations

import re
from pathlib import Path

from nonebug import App as NBApp

from bot import clock
from bot.app import App, set_app
from tests.conftest import make_settings, say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

SETTING_NAME = re.compile(r"\b(ALLIANCE|DASHBOARD|ONEBOT)_[A-Z_]+")


async def test_help_never_shows_a_setting_name_and_says_the_values(app: NBApp, core: App) -> None:
    topics = ["", "统发", "报送", "僵尸号", "后台", "导出", "粉丝", "注册", "审核", "备案", "账号", "查询"]
    told = {}  # each asked once: the same question again within a minute is answered once (issue 20)
    for topic in topics:
        (told[topic],) = await say(app, core, private_msg(f"/帮助 {topic}".strip(), ADMIN))
        assert not SETTING_NAME.search(told[topic]["text"]), told[topic]["text"]
    assert "发布后 24 小时截止" in told["统发"]["text"] and "每条最多 @ 20 人" in told["统发"]["text"]
    assert "截止前 3 天、1 天、2 小时" in told["报送"]["text"] and "22:00–07:30 不打扰" in told["报送"]["text"]
    assert "14 天" in told["僵尸号"]["text"]


async def test_dashboard_command_answers_the_admin_privately_with_the_address(app: NBApp, tmp_path: Path) -> None:
    core = App(make_settings(tmp_path, dashboard_token="t0ken-long-enough"))
    await core.open()
    set_app(core)
    try:
        out = await say(app, core, group_msg("/后台", ADMIN))
        group = [o for o in out if o["target"] == ("group", str(GROUP))]
        private = [o for o in out if o["target"] == ("private", str(ADMIN))]
        assert [o["text"] for o in group] == ["管理后台的地址已私聊发给你。"]
        assert len(private) == 1 and re.search(r"http://[\d.]+:\d+/dashboard", private[0]["text"])
        assert "t0ken" not in private[0]["text"]
        (out,) = await say(app, core, private_msg("/后台", ADMIN))
        assert "/dashboard" in out["text"] and "没有开启" not in out["text"]
        (out,) = await say(app, core, group_msg("/后台", 20001))
        assert "只有管理员" in out["text"] and "/dashboard" not in out["text"]
    finally:
        set_app(None)
        await core.db.close()
        clock.reset()


async def test_dashboard_command_says_when_the_dashboard_is_off_and_how_to_turn_it_on(app: NBApp, core: App) -> None:
    (out,) = await say(app, core, private_msg("/后台", ADMIN))
    assert "没有开启" in out["text"] and "DASHBOARD_TOKEN" in out["text"] and "/dashboard" in out["text"]


async def test_help_lists_its_topics_in_the_same_order_every_run(app: NBApp, core: App) -> None:
    """Issue 21.15: the order of /帮助's topics changed from run to run (NoneBot keeps the plugins in a set)."""
    (out,) = await say(app, core, private_msg("/帮助", ADMIN))
    listed = re.findall(r"^/(\S+) — ", out["text"], re.M)
    assert listed[:6] == ["帮助", "注册", "我的单位", "查询", "已转发", "统发"], listed  # HELP_ORDER
    assert listed.index("审核") < listed.index("导出") < listed.index("发送记录")
