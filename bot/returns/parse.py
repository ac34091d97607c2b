"""Reading what admins and operators type for 报送: /报送 新建 <标题> 截止 <时间> [范围 …] [说明], the words that submit (已报送, 已完成, …; never 收到), and which return a quoted bot message was about."""

from __future__ import annotations

import re
from datetime import datetime

from bot.errors import UserError
from bot.parse import DEADLINE_WORDS, clean_text, done_rest, parse_time
from bot.returns.records import (
    MAX_NOTE,
    MAX_TITLE,
    NewReturn,
)
from bot.returns.text import USAGE_NEW

SCOPE_WORDS = ("范围",)


FILE_WORDS = ("表格", "文件", "格式")


LEVEL_WORDS = ("逐级汇总", "逐级上报", "分级汇总", "逐级")
"""The option that makes a return collected by level (units → their city → the province)."""


# What a reply to a 报送 notice or reminder may say to mark it submitted (收到 is not among them).
SUBMIT_WORDS = (
    "已报送",
    "报送了",
    "已提交",
    "提交了",
    "已上报",
    "上报了",
    "已报",
    "已交",
    "交了",
    "已完成",
    "完成",
    "已发",
    "已发送",
    "已发邮箱",
    "已填报",
    "填报了",
    "已经报送",
    "已经提交",
    "已经上报",
)


# Text only a return's own messages carry: the announcement, the reminders and nudges, the private reminder.
_QUOTED_RETURN = re.compile(r"^\s*【报送(?:提醒|催办|逾期)?】\s*(?:你所在的单位还没有报送\s*)?#(\d{1,9})《")


def submitted_rest(text: str) -> str | None:
    """If `text` says the return was handed in (已报送, 已完成, 报送了, …; not 收到), what follows; else None."""
    return done_rest(text, SUBMIT_WORDS)


def return_in_text(text: str) -> int | None:
    """The return a message of the bot announced or reminded of, read from the text only those messages carry."""
    m = _QUOTED_RETURN.match(text)
    return int(m.group(1)) if m else None


def parse_new(args: list[str], now: datetime) -> NewReturn:
    """Read `<标题> 截止 <时间> [范围 <…>] [说明]`; the time may take one or two words (`11-25 18:00`).

    Raises:
        UserError: a part is missing or unreadable; the message shows how to type it.
    """
    args = _split_glued_deadline(list(args))
    idx = next((i for i, a in enumerate(args) if a in DEADLINE_WORDS), None)
    if idx is None:
        raise UserError(f"请写出截止时间，用“截止”隔开标题和时间。用法：\n{USAGE_NEW}")
    # options (截止, 范围) may come in any order: the title runs up to the first of them
    first = next((i for i, a in enumerate(args) if a in DEADLINE_WORDS or a in SCOPE_WORDS or a in LEVEL_WORDS), idx)
    title = clean_text(" ".join(args[:first]))
    if not title:
        raise UserError(f"请写出报送的标题。用法：\n{USAGE_NEW}")
    if "\n" in title or len(title) > MAX_TITLE:
        raise UserError(f"标题不能换行，也不能超过 {MAX_TITLE} 字；详细要求请写在说明里。用法：\n{USAGE_NEW}")
    tail = args[idx + 1 :]
    if not tail:
        raise UserError(f"“截止”后面请写时间，如：截止 11-25 18:00、截止 周五17:30。用法：\n{USAGE_NEW}")
    deadline, used = read_deadline(tail, now)
    rest = args[first:idx] + tail[used:]
    scope = ""
    at = next((i for i, a in enumerate(rest) if a in SCOPE_WORDS), None)
    if at is not None:
        if at + 1 >= len(rest):
            raise UserError("“范围”后面请写类别或地市，多个用逗号隔开，如：范围 本科高校,高职高专")
        scope = rest[at + 1]
        rest = rest[:at] + rest[at + 2 :]
    by_level = any(a in LEVEL_WORDS for a in rest)
    rest = [a for a in rest if a not in LEVEL_WORDS]
    forms, scan, rest = _read_files(rest)
    if by_level and not forms:
        raise UserError(
            "逐级汇总的报送要交表格（各市汇总后上报一个合并的表格），请加上 表格 统计表|汇总表|备案表|模板，"
            "如：/报送 新建 2026年新媒体统计 截止 10-31 17:30 表格 统计表 逐级汇总"
        )
    note = clean_text(" ".join(rest))
    if len(note) > MAX_NOTE:
        raise UserError(f"说明太长（{len(note)} 字），请控制在 {MAX_NOTE} 字以内，详细要求可以另发文件。")
    return NewReturn(title, deadline, scope, note, forms, scan, by_level)


def _read_files(rest: list[str]) -> tuple[tuple[str, ...], bool, list[str]]:
    """`表格 统计表,汇总表,扫描件` and a bare `扫描件`: every form units hand in (in the order named, each once) and
    whether a scan is wanted."""
    from bot.returns.files.layouts import SCAN_WORDS, form_or_none

    forms: list[str] = []
    scan, left = False, []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in FILE_WORDS and i + 1 < len(rest):
            for item in re.split(r"[,，、/+]", rest[i + 1]):
                if not item:
                    continue
                if item in SCAN_WORDS:
                    scan = True
                elif (f := form_or_none(item)) is not None:
                    if f not in forms:
                        forms.append(f)
                else:
                    raise UserError(
                        f"不认识表格“{item}”。可写：表格 统计表、表格 汇总表、表格 备案表、表格 模板（管理员上传的表格），"
                        "几张表用逗号隔开，要盖章扫描件再加 扫描件，如：表格 统计表,汇总表,扫描件"
                    )
            i += 2
            # `表格 统计表 汇总表`: more form names after a space belong to the same list
            while i < len(rest) and (f := form_or_none(rest[i])) is not None:
                if f not in forms:
                    forms.append(f)
                i += 1
            continue
        if word in SCAN_WORDS:
            scan = True
        else:
            left.append(word)
        i += 1
    return tuple(forms), scan, left


def _split_glued_deadline(args: list[str]) -> list[str]:
    """`截止11-25` typed without a space becomes `截止`, `11-25` (only when no separate 截止 is there)."""
    if any(a in DEADLINE_WORDS for a in args):
        return args
    for i, a in enumerate(args):
        for word in DEADLINE_WORDS:
            if a.startswith(word) and len(a) > len(word) and i > 0:
                return [*args[:i], word, a[len(word) :], *args[i + 1 :]]
    return args


def read_deadline(tokens: list[str], now: datetime) -> tuple[datetime, int]:
    """A deadline from the first two words if they read as one time, else from the first; returns (time, words used).

    Raises:
        UserError: unreadable, or in the past (the message lists the accepted forms).
    """
    if len(tokens) >= 2:
        two = f"{tokens[0]} {tokens[1]}"
        try:
            parse_time(two, now, allow_past=True)
        except UserError:
            pass
        else:
            return parse_time(two, now), 2
    return parse_time(tokens[0], now), 1
