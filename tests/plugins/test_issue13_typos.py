"""Issue 13 item 11: a message that starts with / but is no command gets one short hint with the closest command."""

from __future__ import annotations

import pytest
from nonebot.adapters.onebot.v11 import Message
from nonebug import App as NBApp

from bot.app import App
from plugins._hints import guess_command
from tests.conftest import say
from tests.fake import ADMIN, group_msg, private_msg

OP = 20001


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("/统法 进度", "你是想发 /统发 进度 吗？"),
        ("/注 册 郑大", "你是想发 /注册 郑大 吗？"),
        ("/ 查询", "你是想发 /查询 吗？"),
        ("／帮住", "你是想发 /帮助 吗？"),
        ("/统法进度", "你是想发 /统发 进度 吗？"),
        ("/粉思 微信 1.2万", "你是想发 /粉丝 微信 1.2万 吗？"),
    ],
)
async def test_a_typo_in_the_group_gets_one_short_hint(app: NBApp, core: App, text: str, hint: str) -> None:
    out = await say(app, core, group_msg(text, OP))
    assert len(out) == 1 and out[0]["text"].strip() == f"没有这个命令，{hint}"


@pytest.mark.parametrize(
    "text", ["/签到", "/不存在的命令", "/已报名了", "大家好 /帮助", "统法 进度", "//", "/", "/::)"]
)
async def test_chat_and_far_guesses_in_the_group_are_left_alone(app: NBApp, core: App, text: str) -> None:
    assert await say(app, core, group_msg(text, OP)) == []


async def test_in_a_private_chat_any_slash_gets_an_answer(app: NBApp, core: App) -> None:
    out = await say(app, core, private_msg("/统法 进度", ADMIN))
    assert out[0]["text"] == "没有这个命令，你是想发 /统发 进度 吗？"
    out = await say(app, core, private_msg("/xyzxyz", ADMIN))
    assert len(out) == 1 and out[0]["text"] == "没有这个命令。发 /帮助 查看你可以用的命令。"
    out = await say(app, core, private_msg("/统计", ADMIN))
    assert out[0]["text"] == "没有这个命令，你是想发 /统发 吗？"


def test_hints_name_only_commands_the_reader_may_use() -> None:
    admin_only = {"审核"}
    g = guess_command(Message("/审合 通过 3"), allowed=lambda n: n not in admin_only)
    assert g is None or g.name != "审核"
    g = guess_command(Message("/审合 通过 3"))
    assert g is not None and g.name == "审核" and g.close and g.rest == "通过 3"


def test_pinyin_typed_out_is_read() -> None:
    g = guess_command(Message("/bangzhu"))
    assert g is not None and g.name == "帮助" and g.close
    g = guess_command(Message("/tongfa jindu"))
    assert g is not None and g.name == "统发" and g.rest == "jindu"
