"""Reading what admins and operators type for 统发: /统发 <标题> <链接> [截止 …] [要求 …] [范围 …], the words that confirm (已转发, 已完成, …; never 收到), a month for statistics."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from bot.broadcasts.records import (
    Draft,
)
from bot.broadcasts.text import USAGE
from bot.errors import UserError
from bot.parse import DEADLINE_WORDS, TIME_FORMS, clean_text, done_rest, parse_time, read_month, reads_as_numbers

# What a reply to the announcement may say to confirm it (a trailing 了/啦 and punctuation are ignored).
# 收到 is not among them: in office usage it means "I got the notice", not "I did it".
CONFIRM_WORDS = (
    "已转发",
    "已完成",
    "已发",
    "已转",
    "已转载",
    "已分享",
    "完成",
    "已完成转发",
    "转发完成",
    "转发了",
    "转了",
    "发了",
    "已经转发",
    "已经完成",
    "已经转",
    "已经发",
    "已推送",
    "已发布",
)


# Typed in the group without quoting, only words that can mean nothing but "forwarded" confirm (已完成 might be
# about a 报送, 发了 about anything).
BARE_WORDS = ("已转发", "已转", "已转载", "转发了", "已完成转发", "转发完成", "已经转发", "已经转了")


_KEYWORDS = [(w, "deadline") for w in DEADLINE_WORDS] + [("要求", "requirements"), ("范围", "scope")]


_LABELS = {"deadline": "截止", "requirements": "要求", "scope": "范围"}


_LIST_SEP = re.compile(r"[,，、/;；]+")


_HTTP = re.compile(r"^https?://", re.IGNORECASE)


def check_url(text: str, what: str = "链接") -> str:
    """An http(s) address with a host name.

    Raises:
        UserError: anything else, with an example of a good one.
    """
    s = clean_text(text)
    example = "如 https://mp.weixin.qq.com/s/xxxx"
    if len(s) > 1000:
        raise UserError(f"{what}太长（{len(s)} 字），请检查。")
    try:
        parts = urlsplit(s)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme.lower() not in ("http", "https"):
        raise UserError(f"{what}“{s}”不是 http/https 网址。请写以 http:// 或 https:// 开头的完整网址，{example}")
    if not host or ("." not in host and host != "localhost") or any(c.isspace() for c in s):
        raise UserError(f"{what}“{s}”不是有效的网址，请检查后重新粘贴完整网址，{example}")
    return s


def looks_like_link(text: str) -> bool:
    s = text.strip().lower()
    return "://" in s or s.startswith("www.") or bool(re.match(r"^[\w-]+(\.[\w-]+)+/", s))


def _keyword(token: str) -> tuple[str, str] | None:
    for word, key in _KEYWORDS:
        if token.startswith(word):
            return key, token[len(word) :].lstrip(":：")
    return None


def _option_starts(token: str, now: datetime) -> bool:
    """Whether a word before the link starts an option (`截止`, `要求:`, `截止明天18点`), not part of the title."""
    kw = _keyword(token)
    if kw is None:
        return False
    key, rest = kw
    if not rest:
        return True
    if key != "deadline":
        return False
    try:
        parse_time(rest, now, allow_past=True)
    except UserError:
        return False
    return True


def _leading_options(pre: list[str], now: datetime) -> list[str]:
    """The words of options written before the title (`范围 郑州 截止 今晚8点 <标题> <链接>`): each option takes one
    word (a list is one word: `郑州,开封`), a deadline two when the two read as one time (`12-11 18:00`); the words
    left over are the title."""
    i = 0
    while i < len(pre) and _option_starts(pre[i], now):
        key, rest = _keyword(pre[i])  # type: ignore[misc]
        i += 1
        if rest:
            continue
        if key == "deadline" and i + 2 < len(pre):
            try:
                parse_time(f"{pre[i]} {pre[i + 1]}", now, allow_past=True)
                i += 2
                continue
            except UserError:
                pass
        if i < len(pre) - 1:  # leave at least one word for the title
            i += 1
    return pre[:i]


def _items(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        for part in _LIST_SEP.split(tok):
            part = clean_text(part)
            if part and part not in out:
                out.append(part)
    return out


def parse_draft(args: list[str], now: datetime, default_deadline: timedelta) -> Draft:
    """Read `/统发 <标题> <链接> [截止 <时间>] [要求 …] [范围 …]`.

    The title is everything before the link up to the first option word (so it may hold spaces even without
    quotes); the options come before or after the link, in any order; a time may take two words
    (`2026-11-25 18:00`).

    Raises:
        UserError: a missing title or link, a link that is not http/https, an unreadable or past deadline.
    """
    if not args:
        raise UserError("用法：" + USAGE)
    link_at = next((i for i, a in enumerate(args) if _HTTP.match(a)), None)
    if link_at is None:
        bad = next((a for a in args if looks_like_link(a)), None)
        if bad is not None:
            check_url(bad)
        raise UserError("请写出要转发的文章链接（以 http:// 或 https:// 开头）。用法：" + USAGE)
    # the title runs up to the first option word; options may come before the link as well as after it
    pre, post = args[:link_at], args[link_at + 1 :]
    if pre and not _option_starts(pre[0], now):
        end = next((i for i in range(1, len(pre)) if _option_starts(pre[i], now)), len(pre))
        title_words, options = pre[:end], [*pre[end:], *post]
    else:  # /统发 https://… 标题 截止 …: the title right after the link
        end = next((i for i, a in enumerate(post) if _option_starts(a, now)), len(post))
        title_words, options = post[:end], [*pre, *post[end:]]
        if not title_words and pre:  # /统发 范围 郑州 截止 今晚8点 标题 https://…: options first, then the title
            lead = _leading_options(pre, now)
            title_words, options = pre[len(lead) :], [*lead, *post]
    if not title_words:
        raise UserError("请写上标题，如：/统发 学习全国教育大会精神 https://mp.weixin.qq.com/s/xxxx。用法：" + USAGE)
    title = clean_text(" ".join(title_words))
    if len(title) > 100:
        raise UserError(f"标题太长（{len(title)} 字），请控制在 100 字以内。")
    if "\n" in title:
        raise UserError("标题不能含换行。")
    url = check_url(args[link_at])
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for tok in options:
        kw = _keyword(tok)
        if kw is not None:
            key, rest = kw
            if key in parts:
                raise UserError(f"“{_LABELS[key]}”写了两次，请只写一次。用法：" + USAGE)
            parts[key] = [rest] if rest else []
            current = key
        elif current is None:
            raise UserError(
                f"看不懂链接后面的“{tok}”。链接后面可以写：截止 <时间>、要求 <转发,点赞…>、范围 <类别或地市…>。"
                "标题要写在链接前面。用法：" + USAGE
            )
        else:
            parts[current].append(tok)
    if "deadline" in parts:
        text = " ".join(parts["deadline"]).strip()
        if not text:
            raise UserError(f"“截止”后面请写时间。可以这样写：{TIME_FORMS}。")
        deadline = parse_time(text, now)
    else:
        deadline = now + default_deadline
    requirements = ("转发",)
    if "requirements" in parts:
        items = _items(parts["requirements"])
        if not items:
            raise UserError("“要求”后面请写要做的事，如：要求 转发,点赞,评论,在看")
        if len(items) > 10 or any(len(x) > 20 for x in items):
            raise UserError("要求写得太多或太长了，请用几个词说明，如：要求 转发,点赞,评论,在看")
        requirements = tuple(items)
    scope: tuple[str, ...] = ()
    if "scope" in parts:
        items = _items(parts["scope"])
        if not items:
            raise UserError("“范围”后面请写单位类别或地市，如：范围 本科高校,高职高专 或 范围 郑州,开封")
        scope = tuple(x for x in items if x not in ("全部", "所有", "全体"))
    return Draft(title, url, deadline, requirements, scope)


def confirmation_rest(text: str) -> str | None:
    """If `text` says it is done (已转发, 已完成, 转发了, …; not 收到), what follows the word; else None."""
    return done_rest(text, CONFIRM_WORDS)


_BARE = re.compile(
    r"^(?P<unit>[^\s/／，,。.!！?？]{0,30}?)\s*(?P<word>" + "|".join(sorted(BARE_WORDS, key=len, reverse=True)) + ")"
)


def bare_confirmation(text: str) -> tuple[str, str] | None:
    """`已转发`, `郑州大学已转发了`, `已转发 https://…` typed without quoting: (the unit named before the word, what
    follows it); None for anything else (ordinary chat is never taken for a confirmation)."""
    s = clean_text(text)
    if not s or len(s) > 200 or "\n" in s:
        return None
    m = _BARE.match(s)
    if m is None:
        return None
    rest = done_rest(s[m.start("word") :], BARE_WORDS)
    if rest is None:
        return None
    if any(not (reads_as_numbers(w) or _HTTP.match(w)) for w in rest.split()):
        return None  # 已转发给领导看看: chat, not a confirmation
    return m.group("unit").strip(), rest


def parse_month(text: str, today: date) -> tuple[date, date, str]:
    """A month as `[start, end)` days and its label: `11月`, `2026-11`, `2026年11月`, `本月`, `上月`; empty: this month.

    Raises:
        UserError: unreadable.
    """
    found = read_month(text or "本月", today)
    if found is None:
        raise UserError(f"看不懂月份“{text}”，请写成 11月、2026-11、本月 或 上月。")
    year, month, _ = found
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end, f"{year}年{month}月"
