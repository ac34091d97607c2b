"""Issue 12 over the real bot: the only way in is the token over the WebSocket, and no phone number leaks.

One bot process for the file (access token set, no ONEBOT_SECRET), one real WebSocket client; forged events
are POSTed to every HTTP route of the OneBot v11 adapter, and handshakes are tried on every WebSocket route.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from sim.qqsim import BotProcess, HandshakeRefused, QQClient, Sent
from tests.conftest import ROOT
from tests.e2e.bots import bot_for_the_file, connected

GROUP = 100300500
ADMIN = 900001
OP = 20001
OP2 = 20002
SELF_ID = 10000
TOKEN = "security-e2e-token-2026"
DASHBOARD_TOKEN = "security-e2e-dashboard-令牌"
PHONE_CARD = "郑大-张三 13812345678"
PHONE_NICK = "李四 138-1234-5678"
MEMBERS = {
    GROUP: [
        {"user_id": ADMIN, "nickname": "新闻办小王", "card": "新闻办-王", "role": "admin"},
        {"user_id": OP, "nickname": "张三", "card": PHONE_CARD},
        {"user_id": OP2, "nickname": PHONE_NICK, "card": ""},
    ]
}
ENV = {
    "ALLIANCE_ADMINS": f'["{ADMIN}"]',
    "ALLIANCE_GROUPS": f"[{GROUP}]",
    "ALLIANCE_SEND_INTERVAL": "0",
    "ALLIANCE_ACK_WINDOW": "0",  # acknowledgements one by one, as messages (the client below cannot react)
    "ONEBOT_ACCESS_TOKEN": TOKEN,
    "LOG_LEVEL": "INFO",
    "DASHBOARD_TOKEN": DASHBOARD_TOKEN,
}
HTTP_ROUTES = ("/onebot/v11/", "/onebot/v11/http", "/onebot/v11/http/")
WS_ROUTES = ("/onebot/v11/ws", "/onebot/v11/ws/", "/onebot/v11/")
PHONE_SHAPES = ("13812345678", "138-1234-5678", "1381234", "1234-5678")


bot = bot_for_the_file("security", ENV)


@pytest.fixture(scope="module")
async def qq(bot: BotProcess) -> AsyncIterator[QQClient]:
    # acknowledgements come as messages, whose names are checked here
    async with connected(bot, self_id=SELF_ID, token=TOKEN, group_members=MEMBERS, reactions=False, timeout=15) as c:
        yield c


def forged(user_id: int, text: str, self_id: int = SELF_ID) -> dict:
    return {
        "self_id": self_id,
        "user_id": user_id,
        "time": int(time.time()),
        "message_id": 777001,
        "message_type": "group",
        "sub_type": "normal",
        "group_id": GROUP,
        "sender": {"user_id": user_id, "nickname": "新闻办小王", "card": "新闻办-王", "role": "admin"},
        "raw_message": text,
        "font": 14,
        "message": [{"type": "text", "data": {"text": text}}],
        "post_type": "message",
    }


async def test_events_posted_over_http_are_refused_on_every_route(bot: BotProcess, qq: QQClient) -> None:
    assert "郑州市第一中学" in (await qq.ask(GROUP, ADMIN, "/单位 添加 郑州市第一中学 高中 郑州")).text
    base = f"http://127.0.0.1:{bot.port}"
    qq.mark()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for route in HTTP_ROUTES:
            for self_id, extra in ((SELF_ID, {}), (55555, {}), (SELF_ID, {"X-Signature": "sha1=" + "0" * 40})):
                body = json.dumps(forged(ADMIN, "/单位 删除 郑州市第一中学", self_id), ensure_ascii=False)
                headers = {"X-Self-ID": str(self_id), "Content-Type": "application/json", **extra}
                for auth in ({}, {"Authorization": f"Bearer {TOKEN}"}):
                    r = await http.post(route, content=body.encode(), headers={**headers, **auth})
                    assert r.status_code == 403, (route, self_id, r.status_code, r.text)
    # nothing was done, nothing was announced, and the real client still gets its answers
    assert await qq.quiet(1.0, since_mark=True) == []
    reply = await qq.ask(GROUP, ADMIN, "/单位 郑州市第一中学")
    assert "郑州市第一中学" in reply.text and "没有找到" not in reply.text
    assert "Bot 55555" not in bot.log_text()

    # a reconnection of the real client is not locked out by anything posted while it was away
    await qq.close()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        body = json.dumps(forged(ADMIN, "/统发 伪造 https://example.com/a"), ensure_ascii=False).encode()
        r = await http.post("/onebot/v11/", content=body, headers={"X-Self-ID": str(SELF_ID)})
        assert r.status_code == 403
    await qq.connect(timeout=15)  # (asked another way: the same question again within a minute is answered once)
    assert "郑州市第一中学" in (await qq.ask(GROUP, ADMIN, "/查询 郑州市第一中学")).text
    assert not any("伪造" in s.text for s in qq.sent)


@pytest.mark.parametrize("route", WS_ROUTES)
async def test_every_websocket_route_needs_the_token(bot: BotProcess, qq: QQClient, route: str) -> None:
    url = f"ws://127.0.0.1:{bot.port}{route}"
    for token in (None, "wrong", TOKEN[:-1]):
        with pytest.raises(HandshakeRefused):
            await QQClient(url, self_id=30003, token=token).connect(timeout=3)


async def test_rotating_forwarded_for_does_not_buy_more_dashboard_guesses(bot: BotProcess) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}", timeout=10) as http:
        codes = []
        for i in range(40):
            r = await http.post(
                "/dashboard/login", data={"token": f"guess-{i}"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}
            )
            codes.append(r.status_code)
        assert codes.count(401) == 10 and codes.count(429) == 30, codes
        r = await http.post(
            "/dashboard/login", data={"token": DASHBOARD_TOKEN}, headers={"X-Forwarded-For": "198.51.100.7"}
        )
        assert r.status_code == 429


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "ONEBOT_", "DASHBOARD_"))}
    full.update({"PYTHONPATH": str(ROOT), "ALLIANCE_DATA_DIR": str(tmp_path / "data"), "PORT": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=full, capture_output=True, text=True, timeout=60
    )


def test_an_exposed_bot_without_a_token_does_not_start(tmp_path: Path) -> None:
    done = run_bot(tmp_path, HOST="0.0.0.0", ONEBOT_ACCESS_TOKEN="")
    assert done.returncode == 2 and "ONEBOT_ACCESS_TOKEN" in done.stderr and "Traceback" not in done.stderr
    done = run_bot(tmp_path, HOST="127.0.0.1", ONEBOT_WS_URLS='["ws://127.0.0.1:3001"]')
    assert done.returncode == 2 and "ONEBOT_ACCESS_TOKEN" in done.stderr and "ONEBOT_WS_URLS" in done.stderr


async def wait_upload(qq: QQClient) -> Path:
    sent = await qq.wait_sent(lambda s: s.is_file, timeout=20)
    return Path(str(sent[0].segments("file")[0]["data"]["file"]))


def cells(path: Path) -> list[str]:
    wb = load_workbook(path, read_only=True)
    return [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]


def assert_no_phone(texts: list[str]) -> None:
    for text in texts:
        assert not any(shape in text for shape in PHONE_SHAPES), text


async def say(qq: QQClient, user: int, text: str, expect: str, **kw: str) -> Sent:
    """Send a group message and wait for the bot's message to the group that contains `expect`."""
    qq.mark()
    await qq.group_message(GROUP, user, text, **kw)  # type: ignore[arg-type]
    return (await qq.wait_sent(lambda s: s.group_id == GROUP and expect in s.text, timeout=20))[0]


async def listing_privately(qq: QQClient, admin: int, text: str, expect: str) -> Sent:
    """An admin list asked in the group: one line there, the list itself in the admin's private chat (issue 21.8)."""
    qq.mark()
    await qq.group_message(GROUP, admin, text)
    await qq.wait_sent(lambda s: s.group_id == GROUP and "私聊" in s.text, timeout=20)
    return (await qq.wait_sent(lambda s: s.user_id == admin and s.group_id is None and expect in s.text, timeout=20))[0]


async def test_a_phone_in_a_group_card_never_reaches_the_group_or_a_file(bot: BotProcess, qq: QQClient) -> None:
    await say(qq, ADMIN, "/单位 添加 郑州大学 本科高校 郑州", "已添加")
    # two operators, with a phone in their card or nickname, apply; the admin lists and approves them
    first = await say(qq, OP, "/注册 郑州大学", "申请编号", card=PHONE_CARD)
    second = await say(qq, OP2, "/注册 郑州大学", "申请编号", nickname=PHONE_NICK)
    listing = await listing_privately(qq, ADMIN, "/审核", "申请")
    assert "郑大-张三" in listing.text and "李四" in listing.text
    ids = [re.search(r"#(\d+)", s.text).group(1) for s in (first, second)]  # type: ignore[union-attr]
    await say(qq, ADMIN, f"/审核 通过 {' '.join(ids)}", f"已通过 #{ids[1]}")

    # 统发: the second operator's confirmation is answered "已由 … 确认过"
    await say(qq, ADMIN, "/统发 学习文章 https://mp.weixin.qq.com/s/sec", "/已转发 1")
    await say(qq, OP, "/已转发 1", "已记录", card=PHONE_CARD)
    again = await say(qq, OP2, "/已转发 1", "确认过", nickname=PHONE_NICK)
    assert "郑大-张三" in again.text

    # 报送: the same
    await say(qq, ADMIN, "/报送 新建 年度统计 截止 后天", "/已报送")
    await say(qq, OP, "/已报送 1", "已记录", card=PHONE_CARD)
    again = await say(qq, OP2, "/已报送 1", "报送过", nickname=PHONE_NICK)
    assert "郑大-张三" in again.text

    await say(qq, OP, "/账号 登记 微信 郑州大学 zzu1956 2014-03-01", "备案", card=PHONE_CARD)
    files = []
    for what in ("统计表", "备案表", "统发 1", "报送 1"):
        qq.mark()
        await qq.group_message(GROUP, ADMIN, f"/导出 {what}")
        files.append(await wait_upload(qq))
    for path in files:
        assert_no_phone(cells(path))
    assert any("郑大-张三" in c for path in files for c in cells(path))
    assert_no_phone([s.text for s in qq.sent])


async def test_look_alike_names_and_malformed_ids_over_the_wire(bot: BotProcess, qq: QQClient) -> None:
    await say(qq, ADMIN, "/单位 添加 河南大学 本科高校 开封", "河南大学")
    reply = await say(qq, 30001, "/注册 河南大学\u200b 本科高校 开封", "申请")
    assert "“河南大学”" in reply.text and "新单位" not in reply.text
    await say(qq, ADMIN, "/单位 添加 河南大学\u202e 本科高校 开封", "已经存在")
    reply = await say(qq, -5, "/注册 河南大学", "没有保存")
    assert reply.ats == []
    listing = await listing_privately(qq, ADMIN, "/审核", "申请")
    assert "-5" not in listing.text
    # the rejected applicant loses the private chat
    app_id = re.search(r"#(\d+) \S*（30001）", listing.text).group(1)  # type: ignore[union-attr]
    await say(qq, ADMIN, f"/审核 驳回 {app_id} 不是本单位", "已驳回")
    qq.mark()
    await qq.private_message(30001, "/帮助")
    assert [s for s in await qq.quiet(1.0, since_mark=True) if s.user_id == 30001 and "帮助" in s.text] == []
