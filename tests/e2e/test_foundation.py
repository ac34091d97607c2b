"""Issue 2 as it will be tried: the real bot process, a simulated QQ client over reverse WebSocket, a restart."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Settings
from bot.render import Msg
from sim.qqsim import BotProcess, HandshakeRefused, QQClient, Sent
from tests.conftest import ROOT, ROSTER
from tests.e2e.bots import bot_for_the_file, connected
from tests.fixtures import load

GROUP = 100200300
ADMIN = 900001
OP = 20001
OP2 = 20002
OTHER = 20003
TOKEN = "e2e-token-2026"
MEMBERS = {
    GROUP: [
        {"user_id": ADMIN, "nickname": "新闻办小王", "card": "新闻办-王", "role": "admin"},
        {"user_id": OP, "nickname": "张三", "card": "河科大-张三"},
        {"user_id": OP2, "nickname": "李四", "card": ""},
        {"user_id": OTHER, "nickname": "王五", "card": ""},
    ]
}
ENV = {
    "ALLIANCE_ADMINS": f'["{ADMIN}"]',
    "ALLIANCE_GROUPS": f"[{GROUP}]",
    "ALLIANCE_SEND_INTERVAL": "0",
    # one member here gives many different commands within a minute on a fast machine; the per-person budget has its
    # own tests (tests/e2e/test_flood_e2e.py), and repeats are still answered once
    "ALLIANCE_FLOOD_BUDGET": "0",
    "ONEBOT_ACCESS_TOKEN": TOKEN,
    "LOG_LEVEL": "INFO",
}


bot = bot_for_the_file("foundation", ENV)


@pytest.fixture(scope="module")
async def qq(bot: BotProcess) -> AsyncIterator[QQClient]:
    async with connected(bot, token=TOKEN, group_members=MEMBERS, timeout=15) as client:
        yield client
    assert all("all" not in s.ats for s in client.sent), "the bot @-mentioned everyone"


def number(sent: Sent) -> int:
    m = re.search(r"#(\d+)", sent.text)
    assert m, sent.text
    return int(m.group(1))


async def ask(qq: QQClient, user: int, text: str, **kw: object) -> Sent:
    reply = await qq.ask(GROUP, user, text, **kw)  # type: ignore[arg-type]
    assert "出了问题" not in reply.text, reply.text
    return reply


def import_roster_cli(bot: BotProcess) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env.update(ENV)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "import-units", str(ROSTER)],
        cwd=bot.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_wrong_token_is_refused(bot: BotProcess) -> None:
    with pytest.raises(HandshakeRefused):
        await QQClient(bot.url, self_id=10001, token="wrong").connect(timeout=5)


async def test_the_issue_2_walk(bot: BotProcess, qq: QQClient) -> None:
    # the admin adds a unit by command, then imports the roster with the command-line tool while the bot runs
    reply = await ask(qq, ADMIN, "/单位 添加 郑州市第九中学 高中 郑州")
    assert "已添加单位“郑州市第九中学”" in reply.text and reply.ats == [str(ADMIN)]
    done = await asyncio.to_thread(import_roster_cli, bot)
    assert done.returncode == 0, done.stderr
    assert re.search(r"新增 1\d\d 个单位", done.stdout), done.stdout

    # an ambiguous name lists the candidates and binds nothing
    reply = await ask(qq, OP, "/注册 河南科技", card="河科大-张三")
    assert "河南科技大学" in reply.text and "河南科技学院" in reply.text and reply.ats == [str(OP)]
    assert "没有待审核" in (await ask(qq, ADMIN, "/审核")).text

    # a proper registration, approved; the applicant is @-mentioned
    reply = await ask(qq, OP, "/注册 河科大", card="河科大-张三")
    assert "河南科技大学" in reply.text
    app_id = number(reply)
    qq.mark()
    pointer = await ask(qq, ADMIN, "/审核")  # the list itself goes to the admin privately (issue 21.8)
    assert "已私聊发给你" in pointer.text and "20001" not in pointer.text
    listing = (await qq.wait_sent(lambda s: s.user_id == ADMIN and s.group_id is None and "申请" in s.text))[0]
    assert f"#{app_id} 河科大-张三（{OP}）申请 河南科技大学" in listing.text
    qq.mark()
    await qq.group_message(GROUP, ADMIN, f"/审核 通过 {app_id}")
    # one message: the admin's answer @-mentions the applicant too
    told = await qq.wait_sent(lambda s: s.group_id == GROUP and s.ats == [str(ADMIN), str(OP)])
    assert "已通过" in told[0].text and "河南科技大学" in told[0].text

    # the operator files an account; the admin approves the filing
    reply = await ask(qq, OP, "/账号 登记 微信 河南科技大学 haust1952 2014-03-01")
    assert "已记录开设备案" in reply.text
    filing = number(reply)
    reply = await ask(qq, ADMIN, f"/备案 通过 {filing}")
    assert f"已备案 #{filing}" in reply.text
    reply = await ask(qq, OP, "/我的单位")
    assert "你是“河南科技大学”的联络员" in reply.text and "微信公众号“河南科技大学”" in reply.text

    # a non-admin is refused every admin command, and nothing changes
    for text in (f"/审核 通过 {app_id}", "/单位 删除 郑州大学", f"/备案 通过 {filing}", "/未绑定", "/单位 添加 x 高中"):
        reply = await ask(qq, OTHER, text)
        assert "只有管理员" in reply.text, text
    assert "郑州大学" in (await ask(qq, OTHER, "/单位 郑州大学")).text

    # CQ code typed as a unit name stays text, in an array message and in a string (CQ) message
    reply = await ask(qq, ADMIN, "/单位 添加 [CQ:at,qq=all] 高中 郑州")
    assert "[CQ:at,qq=all]" in reply.text and reply.ats == [str(ADMIN)]
    reply = await ask(qq, OTHER, "/单位 [CQ:at,qq=all]", as_string=True)
    assert "“[CQ:at,qq=all]”" in reply.text and reply.ats == [str(OTHER)]
    reply = await ask(qq, OTHER, "/单位 列表 高中")
    assert "[CQ:at,qq=all]（高中，郑州）" in reply.text and "all" not in reply.ats
    reply_quoted = reply.message_id

    # the full-width slash, and a command quoting a bot message with @bot in front (resolved through get_msg)
    assert "你是群成员" in (await ask(qq, OTHER, "／帮助")).text
    reply = await ask(qq, OTHER, "/单位 河南科技大学", reply_to=reply_quoted, at_bot=True)
    assert "“河南科技大学”" in reply.text and "联络员（1）：河科大-张三" in reply.text
    assert ("get_msg", {"message_id": reply_quoted}) in qq.api_calls

    # a string-format message works like an array one
    reply = await ask(qq, OP2, "/注册 郑大", as_string=True)
    assert "郑州大学" in reply.text and number(reply) > app_id

    # a real client's payload: negative id past int32, empty card, extra fields (from someone new: OTHER has used
    # up a minute's budget of commands above, and asked for help already)
    qq.mark()
    payload = load("group_message_array", user_id=OTHER + 10, message_id=-3_100_000_007)
    payload["sender"]["user_id"] = OTHER + 10
    await qq.send_raw(payload)
    reply = await qq.expect_reply(group_id=GROUP)
    assert "/注册" in reply.text

    # /未绑定 asks the client for the member list
    qq.mark()
    pointer = await ask(qq, ADMIN, "/未绑定")  # the names go to the admin privately (issue 21.8)
    assert "已私聊发给你" in pointer.text and "王五" not in pointer.text
    reply = (await qq.wait_sent(lambda s: s.user_id == ADMIN and s.group_id is None and "王五" in s.text))[0]
    assert ("get_group_member_list", {"group_id": GROUP}) in qq.api_calls
    assert "王五" in reply.text and "李四" in reply.text  # 李四 has only applied
    assert "河科大-张三" not in reply.text and "新闻办" not in reply.text
    assert "郑州市第九中学" in reply.text  # a unit with no operator in the group

    # leaving the group unbinds; the unit lost its last operator, so the admins are told privately
    qq.mark()
    await qq.notice(notice_type="group_decrease", sub_type="leave", group_id=GROUP, user_id=OP, operator_id=0)
    note = await qq.expect_reply(user_id=ADMIN)
    assert "河南科技大学" in note.text and "没有联络员" in note.text
    reply = await ask(qq, OP, "/我的单位")
    assert "还没有绑定单位" in reply.text


async def test_restart_keeps_everything_and_delivers_what_was_owed(bot: BotProcess, qq: QQClient) -> None:
    # state of our own: a unit, a bound operator, an approved account
    reply = await ask(qq, ADMIN, "/单位 添加 重启测试中学 高中 开封")
    assert "已添加单位" in reply.text
    app_id = number(await ask(qq, OP2 + 100, "/注册 重启测试中学", card="赵六"))
    qq.mark()
    await qq.group_message(GROUP, ADMIN, f"/审核 通过 {app_id}")
    await qq.wait_sent(lambda s: s.ats == [str(ADMIN), str(OP2 + 100)] and "已通过" in s.text)
    filing = number(await ask(qq, OP2 + 100, "/账号 登记 抖音 重启测试号 cq123"))
    assert f"已备案 #{filing}" in (await ask(qq, ADMIN, f"/备案 通过 {filing}")).text

    # the client goes away; something is queued meanwhile (as a reminder would be); it is sent on reconnect
    await qq.close()
    await asyncio.sleep(0.5)
    await queue_from_outside(bot, "断线期间排队的消息")
    await asyncio.sleep(1.2)  # the bot's outbox worker looks at least once while nobody is connected
    qq.mark()
    await qq.connect(timeout=15)
    owed = await qq.wait_sent(lambda s: s.text == "断线期间排队的消息", timeout=10)
    assert owed[0].group_id == GROUP

    # restart the bot with the same working folder, queue while it is down, reconnect
    await qq.close()
    await bot.stop()
    await queue_from_outside(bot, "停机期间排队的消息")
    await bot.start(timeout=30)
    qq.mark()
    await qq.connect(timeout=15)
    owed = await qq.wait_sent(lambda s: s.text == "停机期间排队的消息", timeout=10)
    assert len(owed) == 1

    reply = await ask(qq, OP2 + 100, "/我的单位")
    assert "你是“重启测试中学”的联络员" in reply.text and "抖音“重启测试号”" in reply.text
    assert "备案审核中" not in reply.text
    reply = await ask(qq, OTHER, "/单位 重启测试中学")  # this test's own unit: the tests run in any order
    assert "重启测试中学" in reply.text and "没有找到" not in reply.text
    reply = await ask(qq, OTHER, "/账号 列表 重启测试中学")
    assert "抖音“重启测试号”" in reply.text and "cq123" in reply.text
    # nothing owed was sent twice
    assert [s.text for s in qq.sent].count("停机期间排队的消息") == 1
    assert [s.text for s in qq.sent].count("断线期间排队的消息") == 1


async def queue_from_outside(bot: BotProcess, text: str) -> None:
    """Queue a group message in the bot's database from another process' connection."""
    app = App(Settings.model_validate({"alliance_data_dir": str(Path(bot.workdir) / "data")}))
    await app.db.open()
    try:
        await app.outbox.send("group", GROUP, Msg(text))
    finally:
        await app.db.close()
