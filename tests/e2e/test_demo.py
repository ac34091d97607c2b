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
    assert (workdir / "data" / "alliance.db").exists() or any((workdir / "data").glob("*.db"))
