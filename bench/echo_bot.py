"""The bare framework for comparison: NoneBot2 + OneBot v11 on the bot's driver, one on_command that replies.

Run as a script (`python bench/echo_bot.py`, HOST/PORT from the environment like the real bot). It answers the
same command words the bench sends to the real bot, so both receive the very same events: a group message gets
an @-mention of the sender and a short text, a private message a short text. No database, no outbox, no limits.
"""

from __future__ import annotations

# The command words the bench sends (any of them gets the same one-line answer).
ECHO_COMMANDS = (
    "帮助",
    "单位",
    "我的单位",
    "注册",
    "审核",
    "账号",
    "备案",
    "查询",
    "统发",
    "已转发",
    "报送",
    "已报送",
    "粉丝",
    "发送记录",
)


def main() -> None:
    import nonebot
    from nonebot import on_command
    from nonebot.adapters.onebot.v11 import Adapter, GroupMessageEvent, Message, MessageEvent, MessageSegment
    from nonebot.params import CommandArg

    # The same init as `python -m bot` (alliance/main.py), less the application.
    nonebot.init(command_start={"/", "／"}, command_sep={"."})
    nonebot.get_driver().register_adapter(Adapter)

    echo = on_command(ECHO_COMMANDS[0], aliases=set(ECHO_COMMANDS[1:]), priority=10, block=True)

    @echo.handle()
    async def _echo(event: MessageEvent, arg: Message = CommandArg()) -> None:
        text = MessageSegment.text(f"收到：{arg.extract_plain_text()[:50]}")
        if isinstance(event, GroupMessageEvent):
            await echo.send(MessageSegment.at(event.user_id) + MessageSegment.text(" ") + text)
        else:
            await echo.send(text)

    nonebot.run()


if __name__ == "__main__":
    main()
