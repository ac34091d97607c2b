"""The one command router: command words, arguments, and what real clients put in front of them."""

from __future__ import annotations

from nonebot.adapters.onebot.v11 import Message, MessageSegment

from plugins._registry import COMMANDS, match_command


def test_longest_command_word_wins_and_the_rest_is_the_argument() -> None:
    found = match_command(Message("/已报送 3 邮件已发"))
    assert found is not None and found[0] is COMMANDS["已报送"]
    assert found[1].extract_plain_text().strip() == "3 邮件已发"
    found = match_command(Message("／我的单位"))
    assert found is not None and found[0] is COMMANDS["我的单位"]


def test_a_command_behind_an_unresolved_reply_and_an_at_of_the_bot_still_runs() -> None:
    """When get_msg fails the adapter leaves the reply segment (and @bot) in front of the text."""
    msg = MessageSegment.reply(-2147483999) + MessageSegment.at(10000) + MessageSegment.text(" /已报送 2")
    found = match_command(msg, "10000")
    assert found is not None and found[0] is COMMANDS["已报送"]
    assert found[1].extract_plain_text().strip() == "2"


def test_an_at_of_someone_else_or_plain_chat_is_no_command() -> None:
    assert match_command(MessageSegment.at(123) + MessageSegment.text(" /帮助"), "10000") is None
    assert match_command(Message("大家好 /帮助")) is None
    assert match_command(Message("/不存在的命令")) is None
    assert match_command(Message("/已报名了")) is None  # no 已报 alias that would mark a return submitted


def test_a_group_message_meets_only_the_router_and_the_one_notice_matcher_before_it_is_routed() -> None:
    """NoneBot starts a task for every matcher of each priority it reaches, for every event: a message routed
    by the router costs one priority round of two matchers (every notice goes through one matcher)."""
    from nonebot.matcher import matchers

    from plugins.system import notices, router

    reached = [m for priority in sorted(matchers) if priority <= router.priority for m in matchers[priority]]
    assert sorted(m.type for m in reached) == ["message", "notice"]
    assert set(reached) == {router, notices} and router.block
    assert [m for ms in matchers.values() for m in ms if m.type == "notice"] == [notices]


def test_the_router_and_notice_handlers_take_one_parameter() -> None:
    """NoneBot checks and solves each handler parameter in a task of its own, for every message."""
    from plugins.system import notices, router

    assert [[p.name for p in h.params] for h in router.handlers] == [["state"]]
    assert [[p.name for p in h.params] for h in notices.handlers] == [["state"]]
