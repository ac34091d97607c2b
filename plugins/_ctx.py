"""One command as a handler sees it: who asked, where, and the arguments (`Ctx`), built from the NoneBot event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message, MessageEvent

from bot.app import App
from bot.errors import UserError
from bot.names import is_qq
from bot.parse import parse_numbers, read_number, split_args
from bot.render import person_name
from bot.roles import NOTHING, Role, Scope

FORMAT_WORDS = {"图片": True, "图": True, "文字": False, "文本": False}

FORCE_WORDS = frozenset({"强制", "再次", "强制催办"})


@dataclass
class Ctx:
    """One command as the core sees it: who, where, and the arguments as plain text."""

    app: App
    user_id: str
    name: str
    group_id: str | None
    args: list[str]
    images: list[str] = field(default_factory=list)
    reply_to: str | None = None
    bot: Any = None  # the NoneBot Bot, for the few handlers that call the client directly (member list, upload)
    fmt: bool | None = None  # the asker said 图片 (True) or 文字 (False)
    role: Role = Role.MEMBER  # set by the router (plugins/_registry.admit) before the handler runs
    scope: Scope = NOTHING  # the units the asker may see and act on
    mentions: list[str] = field(default_factory=list)  # the QQ ids @-mentioned in the arguments

    @property
    def is_admin(self) -> bool:
        return self.app.is_admin(self.user_id)

    @property
    def in_group(self) -> bool:
        return self.group_id is not None

    @property
    def limit(self) -> int | None:
        """How many list lines to show: cut in a group, whole in a private chat."""
        return self.app.settings.alliance_group_list_limit if self.in_group else None

    def take_format(self) -> bool | None:
        """`图片` or `文字` among the arguments (taken out): True for a picture, False for text, None: not said."""
        found = None
        for word in list(self.args):
            if word in FORMAT_WORDS:
                found = FORMAT_WORDS[word]
                self.args.remove(word)
        self.fmt = found if found is not None else self.fmt
        return self.fmt

    def take_force(self) -> bool:
        """`强制` among the arguments (taken out): do it even though it was just done (a 催办 right after a reminder)."""
        found = any(w in FORCE_WORDS for w in self.args)
        self.args = [w for w in self.args if w not in FORCE_WORDS]
        return found

    def int_arg(self, text: str, what: str = "编号") -> int:
        """One number as people type it (`3`, `#3`, `３`, `二`, `十一`, `第2`)."""
        n = read_number(text)
        if n is None:
            raise UserError(f"{what}应是数字，如 3 或 三，而不是“{text}”。")
        return n


CONFIRM_ALL_OVER = 20  # 全部 asks for one confirmation first when it means more than this many

_ALL_OFFERED: dict[tuple[str, str], tuple[int, ...]] = {}  # (user, command) → the ids 全部 meant when asked


async def numbers_or_all(
    ctx: Ctx, args: list[str], what: str, command: str, pending: Callable[[], Awaitable[list[int]]]
) -> list[int]:
    """Numbers as people type them (`1-3`, `1,2,3`, `1、2、3`, `3 4`), or 全部 = every pending one.

    全部 over CONFIRM_ALL_OVER items answers with the count and asks for `<command> 全部 确认`, which then
    decides exactly the items that were counted (those still pending).

    Raises:
        UserError: unreadable numbers, nothing pending, or the confirmation question.
    """
    confirmed = bool(args) and args[-1] in ("确认", "确定")
    nums = parse_numbers(args[:-1] if confirmed else args, what)
    if nums is not None:
        return nums
    ids = await pending()
    if not ids:
        raise UserError(f"现在没有待处理的{what.removesuffix('编号')}。")
    key = (ctx.user_id, command)
    if len(ids) <= CONFIRM_ALL_OVER:
        return ids
    offered = _ALL_OFFERED.pop(key, None)
    if confirmed and offered:
        still = [i for i in offered if i in set(ids)]
        if still:
            return still
    _ALL_OFFERED[key] = tuple(ids)
    raise UserError(
        f"“全部”是 {len(ids)} 个（#{ids[0]} 到 #{ids[-1]}）。确认全部处理请发：{command} 全部 确认；"
        f"也可以写编号，如：{command} {ids[0]}-{ids[min(2, len(ids) - 1)]}"
    )


def display_name(event: MessageEvent) -> str:
    """The sender as every message and file shows them (`bot.render.person_name`: no phone number, no QQ id)."""
    s = event.sender
    return person_name(getattr(s, "card", None), "") or person_name(s.nickname)


def build_ctx(app: App, event: MessageEvent, arg: Message, bot: Any = None) -> Ctx:
    text = "".join(seg.data.get("text", "") for seg in arg if seg.type == "text")
    images = [str(seg.data.get("url") or seg.data.get("file") or "") for seg in arg if seg.type == "image"]
    reply = next((str(seg.data.get("id")) for seg in event.original_message if seg.type == "reply"), None)
    return Ctx(
        app=app,
        user_id=str(event.user_id),
        name=display_name(event),
        group_id=str(event.group_id) if isinstance(event, GroupMessageEvent) else None,
        args=split_args(text),
        images=[i for i in images if i],
        reply_to=reply,
        bot=bot,
        mentions=[str(seg.data.get("qq")) for seg in arg if seg.type == "at" and is_qq(seg.data.get("qq"))],
    )
