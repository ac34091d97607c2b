"""The demo chat (`python -m bot demo`) driven line by line against the real bot over OneBot v11."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sim.demo import ADMIN_ID, BOT_ID, GROUP_ID, TERMINAL_LINE_BYTES, DemoSession, _run, start_demo, stop_demo


def joined(lines: list[str]) -> str:
    return "\n".join(lines)


async def test_demo_commands_drive_the_real_bot(tmp_path: Path) -> None:
    demo = await start_demo(tmp_path / "demo")
    try:
        assert "新增 163 个单位" in demo.imported
        session = DemoSession(demo.client)
        session.reply_timeout = 10

        out = joined(await session.handle_line(":who"))
        assert "20001" in out and str(GROUP_ID) in out

        out = joined(await session.handle_line(":as 20001 郑大-张老师"))
        assert "郑大-张老师(20001)" in out
        assert session.prompt == f"[群 {GROUP_ID} | 郑大-张老师(20001)] > "

        out = joined(await session.handle_line("/注册 郑州大学"))
        assert out.startswith("[1] 联盟助手：@郑大-张老师 ") and "#1" in out
        first = demo.client.sent[0]

        out = joined(await session.handle_line(":admin"))
        assert f"({ADMIN_ID})" in out and str(ADMIN_ID) in session.prompt
        assert "是管理员" in joined(await session.handle_line(":who"))

        out = joined(await session.handle_line("/审核 通过 1"))
        assert "@新闻办小王 已通过 #1：@郑大-张老师 成为“郑州大学”的联络员" in out

        await session.handle_line(":as 20001")
        out = joined(await session.handle_line(":private"))
        assert "私聊" in out and session.prompt.startswith("[私聊 | 郑大-张老师(20001)]")
        out = joined(await session.handle_line("/我的单位"))
        assert "联盟助手 → 郑大-张老师（私聊）：" in out and "郑州大学" in out

        out = joined(await session.handle_line(":reply 1 收到"))
        assert "不在当前聊天" in out  # [1] was sent to the group

        await session.handle_line(":group")
        session.reply_timeout = 0.5
        events_before = len(demo.client.events)
        await session.handle_line(":reply 1 收到")
        assert len(demo.client.events) == events_before + 1
        event = demo.client.events[-1]
        assert event["group_id"] == GROUP_ID and event["user_id"] == 20001
        segments = event["message"]
        assert [s["type"] for s in segments[:2]] == ["reply", "at"]
        assert segments[0]["data"]["id"] == str(first.message_id)
        assert segments[1]["data"]["qq"] == str(BOT_ID)
        assert "".join(s["data"].get("text", "") for s in segments[2:]).strip() == "收到"

        # issue 13 item 23: a ~4,800-byte paste, cut by the terminal mid-character, crashed the demo
        pasted = ("a" + "测试长文本" * 320).encode()[:TERMINAL_LINE_BYTES].decode("utf-8", "surrogateescape")
        assert pasted.endswith("\udce6\udc9c")  # the terminal cut 本 in half: the demo got "\\udce6"
        out = joined(await session.handle_line(pasted))
        assert "终端一次最多读入" in out and not session.done and demo.bot.running and demo.client.connected
        assert "\udce6" not in demo.client.events[-1]["raw_message"]
        out = joined(await session.handle_line("/帮助 帮助"))
        assert "/帮助 <命令>" in out  # the chat and the bot go on

        assert "没有第 99 条" in joined(await session.handle_line(":reply 99 收到"))
        assert "用法" in joined(await session.handle_line(":as abc"))
        assert ":unknown" in joined(await session.handle_line(":unknown"))
        out = joined(await session.handle_line(":help"))
        assert ":reply" in out and ":as" in out and ":private" in out
        assert not session.done
        await session.handle_line(":quit")
        assert session.done
    finally:
        await stop_demo(demo)
    assert not demo.bot.running


async def test_a_dir_demo_keeps_its_data_and_its_banner_shows_the_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 23: `--dir` data is never deleted and not called 临时数据; a dashboard token shows its URL."""
    monkeypatch.setenv("DASHBOARD_TOKEN", "demo-dashboard-token")
    workdir = tmp_path / "rehearsal"
    # stdin is pytest's (reading it fails): the chat ends at once, as at the end of input
    assert await _run(argparse.Namespace(dir=str(workdir), roster=None)) == 0
    out = capsys.readouterr().out
    assert "临时数据" not in out and f"数据保存在 {workdir}（演示结束后保留）" in out
    assert "管理后台：http://127.0.0.1:" in out and "/dashboard" in out
    assert "身份分四级：省级管理员（10001，管全省）、市级管理员（管一个市教育局及其下级单位）、联络员" in out
    assert "试市级管理员：输入 :city（等于 :admin 后发 /管理员 任命 20010 郑州市教育局，再 :as 20010）" in out
    assert (workdir / "data" / "alliance.db").exists() or any((workdir / "data").glob("*.db"))


async def test_the_demo_uploads_files_and_shows_what_a_real_client_shows(tmp_path: Path) -> None:
    """Issue 21.16: no way to upload a file in the demo (`:file PATH` now); folded lists showed `[node]`; recall
    was not simulated, so every /统发 撤回 said 原通知还有 1 条没能撤回."""
    from sim import samples

    form = tmp_path / "郑州大学统计表.xlsx"
    form.write_bytes(samples.xlsx(samples.stats_rows("郑州大学", 3)))
    demo = await start_demo(tmp_path / "demo")
    try:
        session = DemoSession(demo.client)
        session.reply_timeout = 10
        await session.handle_line("/注册 郑州大学")
        await session.handle_line(":admin")
        await session.handle_line("/审核 通过 1")
        out = joined(await session.handle_line("/报送 新建 秋季统计 截止 3天后 表格 统计表"))
        assert "秋季统计" in out
        await session.handle_line(f":as {20001}")
        assert "用法：:file" in joined(await session.handle_line(":file /no/such/file.xlsx"))
        out = joined(await session.handle_line(f":file {form}"))
        assert "上传到了群文件" in out and "收到 郑州大学 的统计表：3 个账号" in out, out
    finally:
        await stop_demo(demo)


def test_a_folded_list_and_a_recalled_message_read_as_in_qq() -> None:
    from types import SimpleNamespace

    client = SimpleNamespace(
        handlers={}, sent=[SimpleNamespace(message_id=7, group_id=GROUP_ID, user_id=None, message=[])]
    )
    session = DemoSession(client)  # type: ignore[arg-type]
    node = {"type": "node", "data": {"content": [{"type": "text", "data": {"text": "郑州大学\n河南大学"}}]}}
    shown = session.render([{"type": "text", "data": {"text": "未完成的单位："}}, node])
    assert "[node]" not in shown and "郑州大学" in shown and "河南大学" in shown
    client.handlers["delete_msg"]({"message_id": 7})
    assert session.format_sent(1, client.sent[0]).endswith("（已撤回）")
    with pytest.raises(ValueError):
        client.handlers["delete_msg"]({"message_id": 8})


async def test_a_pasted_text_of_several_lines_is_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21.16: a pasted multi-line text became several messages. Lines that arrive together are one message;
    a :command among them still runs on its own."""
    import asyncio
    from types import SimpleNamespace

    import sim.demo as demo_mod

    typed = iter(["通知：", "明天 9 点开会", "请准时参加", ":who", "/帮助"])

    def read_line(prompt: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        line = next(typed, None)
        if line is None:
            future.set_exception(EOFError())
        else:
            future.set_result(line)
        return future

    monkeypatch.setattr(demo_mod, "_read_line", read_line)
    ran: list[list[str]] = []

    class Session:
        done, busy, unshown, prompt = False, False, 0, "> "

        async def handle_lines(self, lines: list[str]) -> list[str]:
            ran.append(lines)
            return []

    fake = SimpleNamespace(bot=SimpleNamespace(running=True), client=SimpleNamespace(connected=True))
    assert await demo_mod.chat(fake, Session()) is True  # type: ignore[arg-type]
    assert ran == [["通知：", "明天 9 点开会", "请准时参加"], [":who"], ["/帮助"]]


async def test_city_makes_you_zhengzhous_city_admin(tmp_path: Path) -> None:
    """The demo shows the levels: `:city` has the admin appoint 20010 over 郑州市教育局 and makes you them."""
    demo = await start_demo(tmp_path / "demo")
    try:
        session = DemoSession(demo.client)
        session.reply_timeout = 10
        out = joined(await session.handle_line(":city"))
        assert "/管理员 任命 20010 郑州市教育局" in out and "你现在是市级管理员" in out, out
        assert session.user_id == 20010
        out = joined(await session.handle_line("/帮助"))
        assert "你是市级管理员（管理范围：郑州市教育局及其下级单位）" in out, out
    finally:
        await stop_demo(demo)
