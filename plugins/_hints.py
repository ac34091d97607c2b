"""Typo hints: a message starting with / that is no command gets the closest command the sender may use (spelling, pinyin, stray spaces)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from nonebot.adapters.onebot.v11 import Message

from bot.names import edit_distance
from bot.render import Msg
from plugins._registry import COMMANDS


@dataclass(frozen=True)
class Guess:
    """The command a mistyped `/…` most likely meant: its name, the words after it, and whether it is close."""

    name: str
    rest: str
    close: bool
    near: bool = True  # worth naming in a private chat even when not close


@lru_cache(maxsize=1024)
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text)).lower()


def leading_text(message: Message, self_id: str) -> str | None:
    """The text a message starts with, past reply segments, @bot and blanks (as `match_command` reads it)."""
    for seg in message:
        if seg.type == "reply" or (seg.type == "at" and str(seg.data.get("qq")) == self_id):
            continue
        if seg.type == "text":
            text = str(seg.data.get("text", "")).strip()
            if text:
                return text
            continue
        return None
    return None


def guess_command(
    message: Message, self_id: str = "", *, allowed: Callable[[str], bool] = lambda _: True
) -> Guess | None:
    """For a message that starts with `/` or `／` but names no command (`/统法 进度`, `/注 册 郑大`, `/ 查询`): the
    closest command the reader may use, by spelling and by pinyin; None for anything else.

    Close means: the same command with stray spaces, a homophone (统法 → 统发), or one character off in a
    longer name whose pinyin is near.
    """
    text = leading_text(message, self_id)
    if text is None or len(text) < 2 or text[0] not in "/／" or text[1] in "/／":
        return None
    body = text[1:].strip()
    if not body or len(body) > 200:
        return None
    words = body.split()
    names = [n for n in COMMANDS if allowed(n)]
    # the same command typed with spaces inside or after the slash: /注 册 郑大, / 查询
    for k in range(min(3, len(words)), 0, -1):
        head = "".join(words[:k])
        for n in sorted(names, key=len, reverse=True):
            if head.startswith(n) and (k > 1 or text[1].isspace()):
                rest = " ".join([head[len(n) :], *words[k:]]).strip()
                return Guess(n, rest, True)
    first = words[0]
    best: tuple[tuple[int, int, int], Guess] | None = None
    latin = first.isascii() and first.isalpha()  # /bangzhu: the pinyin typed out
    for n in names:
        head = first if latin or len(first) <= len(n) else first[: len(n)]
        glued = first[len(head) :]
        rest = " ".join([glued, *words[1:]]).strip()
        if latin:
            d = dp = edit_distance(head.lower(), _pinyin(n))
            close = dp <= (1 if len(head) >= 5 else 0)
        else:
            d, dp = edit_distance(head, n), edit_distance(_pinyin(head), _pinyin(n))
            close = (dp == 0 and d <= len(n) // 2) or (d == 1 and len(n) >= 3 and dp <= 1)
        key = (0 if close else 1, dp, d)
        if best is None or key < best[0]:
            best = (key, Guess(n, rest, close, close or d <= 1 or dp <= 2))
    return best[1] if best is not None else None


def typo_hint(guess: Guess | None) -> Msg:
    """The one short answer to a `/…` that is no command."""
    if guess is None or not guess.near:
        return Msg("没有这个命令。发 /帮助 查看你可以用的命令。")
    rest = f" {guess.rest[:30]}" if guess.rest else ""
    return Msg(f"没有这个命令，你是想发 /{guess.name}{rest} 吗？")
