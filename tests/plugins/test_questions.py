"""Issue 21.12: words to the bot without a slash that name a command get that command's help, once; chat is left alone."""

from __future__ import annotations

from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

MEMBER = 20009


async def test_a_question_to_the_bot_gets_the_commands_help(app: NBApp, core: App) -> None:
    # each question from another member: one person asking the same again within a minute is answered once
    for n, text in enumerate(("怎么注册啊？", "注册 河大")):
        out = await say(app, core, group_msg(text, MEMBER + n, to_me=True))
        assert len(out) == 1 and out[0]["target"] == ("group", str(GROUP)), text
        assert "【/注册】" in out[0]["text"], text
    (out,) = await say(app, core, group_msg("注册 河大", MEMBER + 2, to_me=True))
    assert out["text"].startswith("命令前要加 /，请发：/注册 河大")
    (out,) = await say(app, core, group_msg("怎么报送？", MEMBER + 3, to_me=True))
    assert "【/报送】" in out["text"]
    (out,) = await say(app, core, group_msg("已报送怎么弄", MEMBER + 4, to_me=True))
    assert "【/已报送】" in out["text"]
    # in a private chat every question naming a command is to the bot
    (out,) = await say(app, core, private_msg("导出 备案表", ADMIN))
    assert out["target"] == ("private", str(ADMIN))
    assert out["text"].startswith("命令前要加 /，请发：/导出 备案表") and "【/导出】" in out["text"]


async def test_chat_between_members_is_left_alone(app: NBApp, core: App) -> None:
    for text in ("怎么注册啊？", "注册 河大", "今天报送截止了吗", "哈哈"):
        assert await say(app, core, group_msg(text, MEMBER)) == [], text
    # to the bot, but naming no command, or a long message: nothing
    assert await say(app, core, group_msg("你好呀", MEMBER, to_me=True)) == []
    long = "我们单位上周开会讨论了很多事情，其中也说到注册的问题，" * 3
    assert await say(app, core, group_msg(long, MEMBER, to_me=True)) == []
