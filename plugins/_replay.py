"""What members did while the bot was away (issue 22.5): read back from each alliance group's history at connect.

Neither client replays events to a reverse WebSocket that was down. Both answer `get_group_msg_history` with
`group_id`, `message_seq` (absent: from the newest) and `count`, a page oldest first that ends at (and includes)
`message_seq`; each message carries the `message_seq` its own client takes back (NapCat: the short id,
packages/napcat-onebot/action/go-cqhttp/GetGroupMsgHistory.ts; LLOneBot: the real seq,
src/onebot11/action/go-cqhttp/GetGroupMsgHistory.ts). The bot pages backwards from the newest to the last message
it saw (bot/history.py), then handles, oldest first and each at its own time (`clock.at`): confirmations
(/已转发, /已报送, a reply 已转发), follower reports (/粉丝 <数>) and uploads. A message seen live and in the
history counts once. Questions are not answered late; an admin's /统发, /报送, /审核 is never carried out late,
the admin is told privately which were not.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from datetime import datetime
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import Adapter, GroupMessageEvent
from nonebot.message import handle_event

from bot import clock
from bot.app import App
from bot.db import Database
from bot.history import GroupSeen, Seen, message_key
from bot.render import Msg
from plugins._registry import COMMANDS, TRIGGERS, match_command

PAGE = 50
MAX_PAGES = 100  # 5,000 messages a group at most
REPLAYED = frozenset({"已转发", "已报送"})
ADMIN_ONLY = frozenset({"统发", "报送", "审核"})
FOLLOWER_QUERIES = frozenset({"排行", "排名", "排行榜", "榜单", "目标", "月报", "月榜", "确认"})
REPLAY = "alliance_replay"

KEPT_KEYS = 50_000  # messages remembered (a catch-up reads 5,000 a group at most; the oldest are forgotten first)
# the keys of the messages seen lately, live or read back from a history → whether it was read back and handled: the
# live copy of such a one may reach the bot only after the history that holds it was read (a message sent while the
# bot reconnects), and is then not handled again
_seen_keys: OrderedDict[str, bool] = OrderedDict()


def _remember(key: str, *, replayed: bool) -> None:
    _seen_keys[key] = replayed or _seen_keys.get(key, False)
    _seen_keys.move_to_end(key)
    while len(_seen_keys) > KEPT_KEYS:
        _seen_keys.popitem(last=False)


_marks: weakref.WeakKeyDictionary[Database, GroupSeen] = weakref.WeakKeyDictionary()


def _seen(app: App) -> GroupSeen:
    """The groups' read marks: one per database, since it writes the marks behind the messages (what it noted and
    has not written yet lives in it until its writer or a flush writes it)."""
    seen = _marks.get(app.db)
    if seen is None:
        seen = _marks[app.db] = GroupSeen(app.db)
    return seen


def _segments(event: GroupMessageEvent) -> list[dict]:
    return [{"type": s.type, "data": dict(s.data)} for s in event.original_message]


async def saw(app: App, event: GroupMessageEvent) -> bool:
    """A live group message in an alliance group: it moves the group's mark. False when it was handled already,
    read back from the history while its live copy was on the way (it must not be handled twice)."""
    if getattr(event, REPLAY, False):
        return True
    key = message_key(event.user_id, event.time, _segments(event))
    if _seen_keys.get(key):
        return False
    _remember(key, replayed=False)
    try:
        await _seen(app).saw(str(event.group_id), int(event.time), key)
    except Exception as e:  # never stop a message for this
        logger.info(f"noting the last message of {event.group_id} failed: {e!r}")
    return True


async def flush(app: App) -> None:
    """Write the marks noted so far (at a stop, before the database closes)."""
    if (seen := _marks.get(app.db)) is not None:
        await seen.flush()


async def _history(bot: Any, group_id: str, last: Seen | None) -> list[dict]:
    """The group's messages after `last`, oldest first (all of the newest page when there is no mark yet)."""
    out: list[dict] = []
    keys: set[str] = set()
    cursor: Any = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"group_id": int(group_id), "count": PAGE}
        if cursor is not None:
            params["message_seq"] = cursor
        answer = await bot.call_api("get_group_msg_history", **params)
        page = [m for m in (answer or {}).get("messages") or [] if isinstance(m, dict)]
        page.sort(key=lambda m: int(m.get("time") or 0))  # oldest first, whatever order the client used
        fresh = []
        for m in page:
            k = message_key(m.get("user_id"), int(m.get("time") or 0), m.get("message") or [])
            if k not in keys:
                keys.add(k)
                fresh.append((m, k))
        if not fresh:
            break
        reached = False
        for m, k in reversed(fresh):
            if last is None or last.covers(int(m.get("time") or 0), k):
                reached = True
                if last is None:
                    out.append(m)  # no mark yet: the newest page only sets it
                continue
            out.append(m)
        if reached or last is None or len(page) < PAGE:
            break
        cursor = page[0].get("message_seq") or page[0].get("message_id")
    out.reverse()
    return out


def _kind(app: App, bot: Any, event: GroupMessageEvent) -> str:
    """replay (a confirmation, a follower report, an upload), admin (an admin command not carried out), or skip."""
    if any(s.type == "file" for s in event.original_message):
        return "replay"
    found = match_command(event.get_message(), str(bot.self_id))
    if found is None:
        return "trigger"
    cmd, arg = found
    names = {n for n, c in COMMANDS.items() if c == cmd}
    if names & REPLAYED:
        return "replay"
    if names & {"粉丝", "粉丝数"}:
        words = arg.extract_plain_text().split()
        return "replay" if words and words[0] not in FOLLOWER_QUERIES else "skip"
    if names & ADMIN_ONLY and app.is_admin(event.user_id):
        return "admin"
    return "skip"


async def catch_up(bot: Any, app: App, groups: list[str]) -> None:
    """Read back every group's history since the last message seen, and handle what members did meanwhile."""
    account = str(bot.self_id)
    for group_id in groups:
        try:
            await _catch_up_group(bot, app, group_id)
        except Exception as e:  # a client without history, or one that failed: nothing to read back
            logger.info(f"reading the history of {group_id} on {account} failed: {e!r}")


async def _catch_up_group(bot: Any, app: App, group_id: str) -> None:
    seen = _seen(app)
    last = await seen.last(group_id)
    messages = await _history(bot, group_id, last)
    missed: dict[str, list[str]] = {}
    handled = 0
    for m in messages:
        at = int(m.get("time") or 0)
        key = message_key(m.get("user_id"), at, m.get("message") or [])
        if last is None or str(m.get("user_id")) == str(bot.self_id) or key in _seen_keys:
            await seen.saw(group_id, at, key)
            continue
        event = _event(bot, group_id, m)
        if event is not None:
            kind = _kind(app, bot, event)
            if kind == "trigger":
                kind = "replay" if await _any_trigger(event) else "skip"
            if kind == "replay":
                _remember(key, replayed=True)  # taken before it is handled: a live copy on the way is dropped
                with clock.at(datetime.fromtimestamp(at, clock.tz())):
                    await handle_event(bot, event)
                handled += 1
            elif kind == "admin":
                missed.setdefault(str(event.user_id), []).append(event.get_plaintext().strip())
        _remember(key, replayed=False)
        await seen.saw(group_id, at, key)
    if handled:
        logger.info(f"补处理了群 {group_id} 在机器人离线期间的 {handled} 条确认、报数或上传")
    for admin, texts in missed.items():
        msg = Msg(
            f"机器人离线期间，你在群 {group_id} 发的以下 {len(texts)} 条命令没有执行（不会补做）；如仍需要，请重新发送："
        )
        for t in texts:
            msg.line(t[:200])
        await app.outbox.send("private", admin, msg)


async def _any_trigger(event: GroupMessageEvent) -> bool:
    for check in TRIGGERS:
        try:
            if await check(event) is not None:
                return True
        except Exception:
            continue
    return False


def _event(bot: Any, group_id: str, m: dict) -> GroupMessageEvent | None:
    data = {
        "message_type": "group",
        "sub_type": "normal",
        "font": 0,
        "raw_message": "",
        **m,
        "post_type": "message",
        "self_id": int(bot.self_id),
        "group_id": int(group_id),
        REPLAY: True,
    }
    data.setdefault("sender", {"user_id": m.get("user_id")})
    try:
        event = Adapter.json_to_event(data)
    except Exception as e:
        logger.info(f"a history message could not be read: {e!r}")
        return None
    return event if isinstance(event, GroupMessageEvent) else None
