"""The answer to `/统发 进度` and `/报送 进度`: a phone-sized picture naming the first units owing, the whole list one
tap away in the group's recent folded list (issue 23)."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable

from bot import clock
from bot.app import App
from bot.pictures import Card
from bot.readouts.views import names_left_out
from bot.render import Msg
from plugins._ctx import Ctx
from plugins._reply import Reply, fold, picture_or_text

# A group asking the same progress over and over is not sent the same whole list each time (2,000 names, every
# answer): a folded list goes to a group when it says something new, at most once a minute, and the same list
# again after SAME_AGAIN (by then the one sent is far up the chat).
NEW_LIST_GAP = 60.0
SAME_AGAIN = 600.0
# per bot: (group, command) → when the last list was queued, and its hash
_sent: weakref.WeakKeyDictionary[App, dict[tuple[str, str], tuple[float, str]]] = weakref.WeakKeyDictionary()


def rest_of_list(ctx: Ctx, command: str) -> str:
    """The line under a progress picture that names only the first units owing: where the whole list is."""
    if ctx.in_group:
        return f"每类只列出前几个单位。完整名单：点开群里最近的“聊天记录”，或私聊机器人发 {command}"
    return f"每类只列出前几个单位。完整名单：发 {command} 文字"


def _list_due(app: App, group: str, command: str, whole: Callable[[], Msg], now: float) -> Msg | None:
    """The whole list if the group is to be sent it now (noted as sent), else None (built only when it may be)."""
    lists = _sent.setdefault(app, {})
    last = lists.get((group, command))
    if last is not None and now - last[0] < NEW_LIST_GAP:
        return None
    full = whole()
    digest = hashlib.sha256(full.plain().encode()).hexdigest()
    if last is not None and last[1] == digest and now - last[0] < SAME_AGAIN:
        return None
    if len(lists) > 1000:  # forget lists sent long ago (memory stays bounded)
        for key in [k for k, (at, _) in lists.items() if now - at >= SAME_AGAIN]:
            del lists[key]
    lists[(group, command)] = (now, digest)
    return full


async def progress_answer(
    ctx: Ctx, rows: int, text: Msg, card: Callable[[], Card], whole: Callable[[], Msg], command: str
) -> Reply:
    """`picture_or_text`; when the picture names only the first units owing, in a group the `whole` list follows it
    as a folded list when due (`_list_due`; where the client refuses forwards: a line saying to ask `command`
    privately)."""
    drawn: list[Card] = []

    def build() -> Card:
        drawn.append(card())
        return drawn[-1]

    answer = await picture_or_text(ctx, rows, text, build, whole)
    if not drawn or ctx.group_id is None or not names_left_out(drawn[-1]):
        return answer
    full = _list_due(ctx.app, ctx.group_id, command, whole, clock.now().timestamp())
    if full is None:
        return answer
    return [answer, Msg.folded(fold(full), Msg(f"完整名单：私聊机器人发 {command}"))]
