"""The answer to `/统发 进度` and `/报送 进度`: a phone-sized picture naming the first units owing, the whole list one
tap away (issue 23)."""

from __future__ import annotations

from collections.abc import Callable

from bot.pictures import Card
from bot.pictures.views import names_left_out
from bot.render import Msg
from plugins._kit import Ctx, Reply, fold, picture_or_text


def rest_of_list(ctx: Ctx, command: str) -> str:
    """The line under a progress picture that names only the first units owing: where the whole list is."""
    if ctx.in_group:
        return f"每类只列出前几个单位。完整名单：点开下一条“聊天记录”，或私聊机器人发 {command}"
    return f"每类只列出前几个单位。完整名单：发 {command} 文字"


async def progress_answer(
    ctx: Ctx, rows: int, text: Msg, card: Callable[[], Card], whole: Callable[[], Msg], command: str
) -> Reply:
    """`picture_or_text`; when the picture names only the first units owing, in a group the `whole` list follows it
    as a folded list (where the client refuses forwards: a line saying to ask `command` privately)."""
    drawn: list[Card] = []

    def build() -> Card:
        drawn.append(card())
        return drawn[-1]

    answer = await picture_or_text(ctx, rows, text, build, whole)
    if not drawn or not ctx.in_group or not names_left_out(drawn[-1]):
        return answer
    return [answer, Msg.folded(fold(whole()), Msg(f"完整名单：私聊机器人发 {command}"))]
