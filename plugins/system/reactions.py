"""Asking the QQ client about reactions and about the bot's own messages, as NapCat and LLOneBot really answer.

- Who reacted: NapCat's `get_emoji_likes` takes `message_id` as a string and `count` (0: all, read 15 at a time);
  LLOneBot has only `fetch_emoji_like`, one page of `count` (default 20) from a `cookie`, answering `cookie` and
  `isLastPage`: every page is read.
- Which message a short id is: NapCat forgets the short ids of all but its latest 5,000 messages (and all at a
  restart) and may give an older message a new one; the stable key is the group and the message's sequence
  (`real_seq` on NapCat, `message_seq` on LLOneBot), asked with `get_msg` while the id is fresh.
"""

from __future__ import annotations

from nonebot import get_bots, logger
from nonebot.adapters.onebot.v11.exception import ActionFailed

from bot.app import App

FETCH_PAGE = 20  # fetch_emoji_like's page (LLOneBot's default)
FETCH_PAGES = 500  # at most this many pages per message and face (10,000 people)


def unknown_action(e: ActionFailed) -> bool:
    """The client does not know the action (NapCat/LLOneBot answer retcode 1404 "不支持的Api")."""
    info = getattr(e, "info", {}) or {}
    text = f"{info.get('msg', '')} {info.get('message', '')} {info.get('wording', '')}".lower()
    return info.get("retcode") == 1404 or "不支持" in text or "not support" in text or "unknown action" in text


def _emoji_type(emoji: str) -> str:
    """QQ's own faces are type 1, unicode emoji (code points) type 2."""
    return "2" if int(emoji) > 1000 else "1"


def _reactors(data: object) -> list[str]:
    """The QQ ids in a reaction listing, whatever shape the client gives it."""
    if isinstance(data, dict):
        for key in ("emojiLikesList", "emoji_like_list", "likes", "users", "list", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        return []
    out = []
    for item in data:
        if isinstance(item, dict):
            uid = item.get("user_id") or item.get("tinyId") or item.get("uin") or item.get("userId")
            if uid is not None and str(uid).strip().isdigit():
                out.append(str(uid).strip())
    return out


def _bot_for(app: App, group_id: str | None):
    bots = {str(b.self_id): b for b in get_bots().values()}
    account = app.outbox.accounts.route("group", group_id or "") if group_id else None
    return bots.get(account or "") or bots.get(app.outbox.accounts.primary or "") or next(iter(bots.values()), None)


async def _fetch_all(bot, message_id: str, emoji: str) -> list[str]:
    """Every page of LLOneBot/NapCat `fetch_emoji_like` (a first page that fails raises)."""
    out: list[str] = []
    cookie = ""
    for _ in range(FETCH_PAGES):
        params = {"message_id": int(message_id), "emojiId": emoji, "emojiType": _emoji_type(emoji)}
        data = await bot.call_api("fetch_emoji_like", **params, count=FETCH_PAGE, cookie=cookie)
        page = _reactors(data)
        out.extend(page)
        nxt = str(data.get("cookie") or "") if isinstance(data, dict) else ""
        last = data.get("isLastPage") if isinstance(data, dict) else True
        if last or last is None or not nxt or nxt == cookie or not page:
            break
        cookie = nxt
    return list(dict.fromkeys(out))


def make_lister(app: App):
    """How to ask a client who reacted to a message: `get_emoji_likes` (NapCat) or `fetch_emoji_like`
    (LLOneBot, NapCat), all pages; None when no connected client can say. The account serving the group is asked."""
    supported: dict[str, str | None] = {}

    async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
        bot = _bot_for(app, group_id)
        if bot is None:
            return None
        acc = str(bot.self_id)
        choices = [supported[acc]] if acc in supported else ["get_emoji_likes", "fetch_emoji_like"]
        for api in choices:
            if api is None:
                return None
            try:
                if api == "get_emoji_likes":  # GetEmojiLikes.ts: strings, count 0 = all
                    params = {"message_id": str(message_id), "emoji_id": str(emoji), "emoji_type": _emoji_type(emoji)}
                    if group_id:
                        params["group_id"] = str(group_id)
                    users = _reactors(await bot.call_api(api, **params, count=0))
                else:
                    users = await _fetch_all(bot, message_id, emoji)
            except ActionFailed as e:
                if unknown_action(e):
                    continue
                return []  # e.g. the message is too old for the client: nobody to count
            except Exception:
                return []
            if acc not in supported:
                supported[acc] = api
                logger.info(f"QQ 客户端 {acc} 能列出表情回应（{api}）：离线期间的表情确认会补记")
            return users
        supported[acc] = None
        logger.info(f"QQ 客户端 {acc} 不能列出表情回应：离线期间的表情确认无法补记")
        return None

    return lister


def make_resolver(app: App):
    """How to ask a client for the stable key of a message by its short id: (group id, sequence) of a group
    message the bot sent, or None (not the bot's, not a group's, or the client cannot say)."""

    async def resolve(message_id: str) -> tuple[str, str] | None:
        bot = _bot_for(app, None)
        if bot is None:
            return None
        try:
            msg = await bot.call_api("get_msg", message_id=int(message_id))
        except Exception:
            return None
        if not isinstance(msg, dict) or msg.get("group_id") is None:
            return None
        sender = msg.get("sender") if isinstance(msg.get("sender"), dict) else {}
        if str(msg.get("user_id") or sender.get("user_id") or "") not in {str(b.self_id) for b in get_bots().values()}:
            return None
        seq = msg.get("real_seq") or msg.get("message_seq")  # NapCat: real_seq; LLOneBot: message_seq
        if seq in (None, "", 0, "0"):
            return None
        return str(msg["group_id"]), str(seq)

    return resolve
