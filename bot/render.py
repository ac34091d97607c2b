"""Outgoing messages as OneBot v11 segment lists: user text only ever becomes a text segment."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import privacy
from bot.names import is_qq

Segment = dict[str, Any]
log = logging.getLogger(__name__)


class Msg:
    """A message under construction: text and @-mentions, in order."""

    def __init__(self, *parts: str | Segment) -> None:
        self.segments: list[Segment] = []
        # what the outbox sends instead when the client refuses this message (a picture, a folded list)
        self.fallback: Msg | None = None
        for p in parts:
            self.add(p)

    @classmethod
    def picture(cls, path: str | Path, fallback: Msg) -> Msg:
        """One picture (a PNG under the data folder), with the text sent when the client cannot send images."""
        m = cls({"type": "image", "data": {"file": Path(path).resolve().as_uri()}})
        m.fallback = fallback
        return m

    @classmethod
    def folded(cls, parts: Sequence[Msg], fallback: Msg) -> Msg:
        """A merged-forward message (flat nodes, one per part), with the cut text for clients without forwards."""
        m = cls(*({"type": "node", "data": {"content": p.segments}} for p in parts if p))
        m.fallback = fallback
        return m

    @classmethod
    def upload(cls, path: str | Path, name: str, fallback: Msg) -> Msg:
        """A file uploaded to the chat (group file), with the text sent when the client cannot upload."""
        m = cls({"type": "upload", "data": {"file": str(Path(path).resolve()), "name": name}})
        m.fallback = fallback
        return m

    @property
    def kind(self) -> str:
        """`text` (text and @), `image`, `forward` or `upload`: how the outbox sends it."""
        types = {s["type"] for s in self.segments}
        if "node" in types:
            return "forward"
        if "upload" in types:
            return "upload"
        return "image" if "image" in types else "text"

    def add(self, part: str | Segment) -> Msg:
        if isinstance(part, str):
            return self.text(part)
        self.segments.append(part)
        return self

    def text(self, text: str) -> Msg:
        """Append plain text (never parsed as CQ code)."""
        if not text:
            return self
        if self.segments and self.segments[-1]["type"] == "text":
            self.segments[-1] = text_seg(self.segments[-1]["data"]["text"] + text)
        else:
            self.segments.append(text_seg(text))
        return self

    def line(self, text: str = "") -> Msg:
        if self.segments:
            self.text("\n")
        return self.text(text)

    def at(self, user_id: str | int) -> Msg:
        """Append an @-mention of one QQ user (never 'all')."""
        qq = str(user_id)
        if not (qq.isascii() and qq.isdigit()):
            raise ValueError(f"not a QQ id: {qq!r}")
        self.segments.append({"type": "at", "data": {"qq": qq}})
        return self

    def add_all(self, other: Msg) -> Msg:
        for seg in other.segments:
            self.add(seg["data"]["text"] if seg["type"] == "text" else seg)
        return self

    def split(self, max_chars: int = 3000) -> list[Msg]:
        """Cut a long message at line ends into several of at most about `max_chars` characters each."""
        if len(self.plain()) <= max_chars or self.kind != "text":
            return [self]
        parts: list[Msg] = [Msg()]
        size = 0
        for seg in self.segments:
            if seg["type"] != "text":
                parts[-1].add(seg)
                size += 12
                continue
            for line in seg["data"]["text"].splitlines(keepends=True):
                if size + len(line) > max_chars and parts[-1]:
                    parts.append(Msg())
                    size = 0
                parts[-1].text(line.rstrip("\n") if size == 0 and line.strip() == "" else line)
                size += len(line)
        return [p for p in parts if p]

    def plain(self) -> str:
        """Text as a reader sees it, @-mentions as @qq (for logs and tests)."""
        return "".join(_plain(s) for s in self.segments)

    def __bool__(self) -> bool:
        return bool(self.segments)

    def __repr__(self) -> str:
        return f"Msg({self.plain()!r})"


def _plain(s: Segment) -> str:
    if s["type"] == "text":
        return s["data"]["text"]
    if s["type"] == "at":
        return f"@{s['data'].get('qq')}"
    if s["type"] == "node":
        return "".join(_plain(x) for x in s["data"].get("content", [])) + "\n"
    if s["type"] == "upload":
        return f"[文件 {s['data'].get('name')}]"
    return f"[{s['type']}]"


def text_seg(text: str) -> Segment:
    return {"type": "text", "data": {"text": text}}


def cut_list(items: Sequence[str], limit: int | None, sep: str = "、") -> str:
    """Join items; past `limit`, cut with a count of what was left out."""
    if limit is None or len(items) <= limit:
        return sep.join(items)
    return sep.join(items[:limit]) + f"{sep}……等 {len(items)} 个（另有 {len(items) - limit} 个未列出，私聊查看全部）"


def lines_cut(lines: Sequence[str], limit: int | None) -> list[str]:
    """Keep at most `limit` lines, then one line counting the rest."""
    if limit is None or len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"……另有 {len(lines) - limit} 条未列出（私聊机器人发送同一命令可看全部）"]


def at_batches(user_ids: Iterable[str], size: int) -> list[list[str]]:
    """Split @-mentions into messages of at most `size`; an id that is no QQ id is left out (and logged), so
    one bad recipient never blocks a whole reminder or nudge."""
    ids = []
    for u in dict.fromkeys(str(u) for u in user_ids):
        if is_qq(u):
            ids.append(u)
        else:
            log.warning("skipped an @-mention of %r: not a QQ id", u)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def span(td: timedelta, *, hours_up_to: int = 0) -> str:
    """A duration as office staff say it: `3 天`, `2 小时`, `90 分钟`; in hours up to `hours_up_to` (`24 小时`)."""
    mins = int(td.total_seconds() // 60)
    if mins > hours_up_to * 60 and mins % 1440 == 0:
        return f"{mins // 1440} 天"
    if mins and mins % 60 == 0:
        return f"{mins // 60} 小时"
    return f"{mins} 分钟" if mins else f"{int(td.total_seconds())} 秒"


def percent(part: int, whole: int | None, empty: str = "0.0%") -> str:
    """`part` of `whole` as `42.9%`; `empty` when there is no whole (nothing owed, no target: pass `"—"`)."""
    return f"{part / whole * 100:.1f}%" if whole else empty


class Ack(Msg):
    """An acknowledgement of something a person reported: a reaction on their message where the client can
    (`react`), otherwise merged with the other acknowledgements to the same chat into one message."""

    def __init__(self, *parts: str | Segment, react: bool = True) -> None:
        super().__init__(*parts)
        self.react = react

    @classmethod
    def of(cls, msg: Msg, *, react: bool = True) -> Ack:
        out = cls(react=react)
        out.segments = list(msg.segments)
        return out


def at_messages(header: str, user_ids: Iterable[str], size: int, footer: str = "") -> list[Msg]:
    """`header` then @-mentions, at most `size` per message; the header is repeated with (i/n) on each batch."""
    batches = at_batches(user_ids, size)
    out = []
    for i, batch in enumerate(batches, start=1):
        m = Msg(header + (f"（{i}/{len(batches)}）" if len(batches) > 1 else "") + "\n")
        for qq in batch:
            m.at(qq).text(" ")
        if footer:
            m.text("\n" + footer)
        out.append(m)
    return out


NO_NAME = "（未留名）"


def person_name(name: str | None, fallback: str = NO_NAME) -> str:
    """How a person is shown in every message and file: their card or nickname without anything phone-shaped.

    `郑大-张三 13812345678` → `郑大-张三`; a name that is only a number (a QQ id given as name) → `fallback`.
    """
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zs", "Zl", "Zp") else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = privacy.mask(text, drop=True)
    text = re.sub(r"[\s]+", " ", text).strip(" -_/|·,，:：;；()（）[]【】")
    return text[:40] or fallback


def person_label(name: str | None, user_id: str | int | None) -> str:
    """`张三（20001）`: a person's name and QQ id for admins; a QQ id shaped like a phone number is left out."""
    shown = person_name(name)
    qq = str(user_id or "")
    if not qq or privacy.is_mobile(qq):
        return shown
    return f"{shown}（{qq}）"
