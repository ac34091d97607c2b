"""一键统发 (SPEC §5): tasks announced in every alliance group, confirmed once per unit, with progress and nudges.

How the promises hold:
- a task's units are fixed when it is created (`broadcast_units`), so later roster changes do not move
  its denominator; a unit deleted later drops out unless it had confirmed (nobody is left to do it);
- a unit counts once: the first confirmation is stored with `counted = 1` under a partial unique index;
  later ones from the same unit are kept with `counted = 0` and acknowledged;
- a reply to the announcement (or to a nudge about it) confirms it: the client's message ids of those
  messages are recorded in `broadcast_posts` when the outbox reports them sent, and kept in memory so
  the reply check costs a dict lookup;
- automatic nudges use the reminder ledger (kind "broadcast"): who is still owed is computed at send
  time in the same transaction that queues the messages.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from bot import clock
from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.nudge import Outgoing, who_owes
from bot.outbox import Outbox
from bot.parse import DEADLINE_WORDS, TIME_FORMS, clean_text, done_rest, parse_time, read_month
from bot.refs import ANNOUNCE, NUDGE, REMINDER, Ref
from bot.refs import WITHDRAWN as WITHDRAWN_NOTICE
from bot.reminders import Reminder, Reminders, describe_left
from bot.render import Msg, percent, person_label
from bot.tasks import (
    NudgeText,
    Owing,
    TaskDone,
    TaskLine,
    TaskRecord,
    TaskService,
    TaskView,
    UnitTaskLine,
    by_category,
    the_only_open,
)
from bot.units import Operator, Unit, Units

log = logging.getLogger("alliance.broadcasts")

KIND = "broadcast"
CATCH_UP_EVERY = 60.0  # seconds: reactions listed for a task at most this often, except at a (re)connect
ReactionLister = Callable[[str | None, str, str], Awaitable[list[str] | None]]
OPEN, CLOSED, WITHDRAWN = "进行中", "已结束", "已撤回"

USAGE = (
    "/统发 <标题> <链接> [截止 <时间>] [要求 转发,点赞,评论,在看] [范围 <类别或地市,…>]\n"
    "例：/统发 学习全国教育大会精神 https://mp.weixin.qq.com/s/xxxx 截止 明天18点 要求 转发,点赞 范围 本科高校,高职高专"
)
NOT_BOUND = (
    "你还没有绑定单位，这次确认没有计数。请先发 /注册 <单位名称> 申请成为本单位的联络员"
    "（如：/注册 郑州大学），管理员审核通过后再确认。"
)

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
# which sent messages a reply may quote to confirm, and the kind stored for each in broadcast_posts
_POST_KINDS = {ANNOUNCE: "announce", NUDGE: "nudge", REMINDER: "reminder"}


class NotBound(UserError):
    """The user is bound to no unit: nothing is counted."""


class WhichTask(UserError):
    """Several tasks are open and no number was given; `task_ids` lists them."""

    def __init__(self, message: str, task_ids: list[int]) -> None:
        super().__init__(message)
        self.task_ids = task_ids


class TaskClosed(UserError):
    """The task no longer takes confirmations or nudges."""


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Task(TaskRecord):
    id: int
    title: str
    url: str
    deadline: datetime
    requirements: tuple[str, ...]
    scope: str
    state: str
    created_by: str
    created_at: datetime
    article_title: str | None = None  # the linked page's own title, when it could be read


@dataclass(frozen=True)
class Draft:
    """A task as typed, checked, before its scope is resolved against the roster."""

    title: str
    url: str
    deadline: datetime
    requirements: tuple[str, ...]
    scope: tuple[str, ...]


@dataclass(frozen=True)
class Created:
    task: Task
    units: int
    groups: int


@dataclass(frozen=True)
class Confirmation:
    task: Task
    unit: Unit
    counted: bool
    late: bool
    proof: bool
    first_user: str | None = None
    first_name: str = ""
    first_at: datetime | None = None


@dataclass(frozen=True)
class Progress:
    task: Task
    done: int
    total: int
    late: int
    pending: list[Unit]
    unstaffed: frozenset[int] = frozenset()  # ids of the pending units with no operator to @

    @property
    def percent(self) -> str:
        return percent(self.done, self.total)


@dataclass(frozen=True)
class Summary:
    task: Task
    done: int
    total: int


@dataclass(frozen=True)
class Done:
    """The confirmation that counted for one unit."""

    unit: Unit
    user_id: str
    user_name: str
    at: datetime
    late: bool
    via: str
    proof_url: str | None
    proof_image: str | None


@dataclass(frozen=True)
class NudgeResult:
    task: Task
    pending_units: int
    operators: int
    messages: int
    orphans: list[str]


@dataclass(frozen=True)
class UnitTask:
    """A task as one unit sees it (for /查询 and /我的单位)."""

    task: Task
    done: bool
    late: bool

    @property
    def id(self) -> int:
        return self.task.id

    @property
    def title(self) -> str:
        return self.task.title

    @property
    def deadline(self) -> datetime:
        return self.task.deadline


@dataclass(frozen=True)
class UnitRate:
    unit_id: int
    name: str
    category: str
    done: int
    owed: int
    late: int

    @property
    def rate(self) -> float:
        return self.done / self.owed if self.owed else 0.0


@dataclass(frozen=True)
class Stats:
    label: str
    tasks: int
    rows: list[UnitRate]  # best first
    running: int = 0  # tasks whose deadline has not come: they count for a unit only once it confirmed

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)

    @property
    def owed(self) -> int:
        return sum(r.owed for r in self.rows)


def _task(r) -> Task:
    return Task(
        id=r["id"],
        title=r["title"],
        url=r["url"],
        deadline=clock.from_db(r["deadline"]),
        requirements=tuple(x for x in r["requirements"].split("、") if x),
        scope=r["scope"],
        state=r["state"],
        created_by=r["created_by"],
        created_at=clock.from_db(r["created_at"]),
        article_title=r["article_title"] if "article_title" in r.keys() else None,
    )


def norm_id(message_id: object) -> str:
    """A client message id as text, the same however it was written (`-123`, `"-123"`, `" -123 "`)."""
    s = str(message_id).strip()
    try:
        return str(int(s))
    except ValueError:
        return s


# ---------------------------------------------------------------- parsing what admins and operators type


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
    if any(not (w.lstrip("#＃").isdecimal() or _HTTP.match(w)) for w in rest.split()):
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


# ---------------------------------------------------------------- messages


def announcement(task: Task, units: int) -> Msg:
    scope = f"{task.scope}（共 {units} 个单位）" if task.scope else f"全部成员单位（共 {units} 个）"
    m = Msg(f"【一键统发 #{task.id}】{task.title}")
    if task.article_title and task.article_title != task.title:
        m.line(f"原文：《{task.article_title}》")
    m.line(f"链接：{task.url}")
    m.line(f"要求：{'、'.join(task.requirements)}")
    m.line(f"截止：{clock.show(task.deadline)}")
    m.line(f"范围：{scope}")
    m.line(f"完成后请给本条消息点个 👍 或 OK 表情，或回复（引用）本条“已转发”，或发送：/已转发 {task.id}")
    return m


def progress_message(p: Progress, limit: int | None) -> Msg:
    """`已完成 x/y（p%）`, then the units not done by category; past `limit` names, a count of the rest."""
    t = p.task
    when = describe_left(t.deadline, clock.now()) if t.is_open else t.state
    m = Msg(f"统发 {t.label} 截止 {clock.show(t.deadline)}（{when}）")
    m.line(f"已完成 {p.done}/{p.total}（{p.percent}）" + (f"，其中逾期 {p.late} 个" if p.late else ""))
    if not p.pending:
        m.line("所有单位都已完成。" if p.total else "这个任务没有需要完成的单位。")
        return m
    m.line(f"未完成 {len(p.pending)} 个单位：")
    budget = len(p.pending) if limit is None else limit
    shown = 0
    for cat, units in by_category(p.pending):
        names = [u.name + ("*" if u.id in p.unstaffed else "") for u in units]
        if shown >= budget:
            break
        take = names[: budget - shown]
        shown += len(take)
        more = "……" if len(take) < len(names) else ""
        m.line(f"【{cat}】{len(names)} 个：{'、'.join(take)}{more}")
    if shown < len(p.pending):
        m.line(f"……另有 {len(p.pending) - shown} 个单位未列出（私聊机器人发送 /统发 进度 {t.id} 查看全部）")
    if p.unstaffed:
        m.line(f"带 * 的 {len(p.unstaffed)} 个单位没有联络员，催办时无法 @，需另行联系。")
    return m


def _nudge_text(task: Task, pending: int, ops: Sequence[Operator], *, auto: bool) -> NudgeText:
    """Header, footer and private text of a nudge."""
    left = describe_left(task.deadline, clock.now())
    head = "【统发提醒" if auto else "【统发催办"
    header = f"{head} #{task.id}】「{task.title}」截止 {clock.show(task.deadline)}（{left}），{who_owes(pending, ops, '未确认')}"
    footer = f"完成后回复本消息“已转发”，或发 /已转发 {task.id}"
    private = (
        f"统发 #{task.id}「{task.title}」你的单位还没有确认，截止 {clock.show(task.deadline)}（{left}）。"
        f"链接：{task.url}\n完成后发 /已转发 {task.id}"
    )
    return NudgeText(header, footer, private)


# ---------------------------------------------------------------- the service

# A unit counts as done for a task (alias `bu` is the task's broadcast_units row).
_DONE = (
    "EXISTS (SELECT 1 FROM broadcast_confirmations c "
    "WHERE c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1)"
)


# how a confirmation came, as the dashboard and exports say it
_VIA = {"admin": "管理员代确认", "reply": "回复确认", "reaction": "表情确认", "command": ""}


class Broadcasts(TaskService):
    """一键统发 tasks: create and announce, confirm, progress, nudge, close, withdraw, statistics."""

    kind = KIND
    noun = "统发"

    def __init__(self, db: Database, units: Units, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        super().__init__(db, units, outbox, reminders, settings)
        self._posts: dict[str, int] | None = None
        self._owing: dict[int, tuple[int, tuple[int, ...]]] = {}  # task id → (units done, ids of those owing)
        outbox.on_sent.append(self._on_sent)
        reminders.register(KIND, self._remind, prepare=self._before_nudge)
        # (group id, message id, emoji id) → the QQ ids who reacted with it, or None when the client cannot say;
        # set by the plugin while a client that can list reactions is connected
        self.reaction_lister: ReactionLister | None = None
        self._catching = asyncio.Lock()
        self._caught: dict[int | None, float] = {}  # task (None: all open ones) → when its reactions were listed

    # ------------------------------------------------------------ create

    async def resolve_scope(self, entries: tuple[str, ...]) -> tuple[list[int], str]:
        """The ids of the units a scope names (see `Units.scope`), and its description."""
        if not await self.units.all():
            raise UserError(
                "名册里还没有单位，无法发布统发。请先用 /单位 添加，或用 python -m bot import-units 导入名册。"
            )
        units, desc = await self.units.scope(entries)
        return [u.id for u in units], desc

    async def create(self, draft: Draft, *, actor: str, article_title: str | None = None) -> Created:
        """Store the task and the units that owe it, announce it in every alliance group, owe its nudges."""
        if not self.engine.groups():
            raise UserError("还没有配置联盟群（ALLIANCE_GROUPS），统发无处发布。请在 .env 里配置后重启。")
        if draft.deadline <= clock.now():
            raise UserError(f"截止时间 {clock.show(draft.deadline)} 已经过去了，请给一个将来的时间。")
        unit_ids, scope = await self.resolve_scope(draft.scope)
        async with self.db.tx() as tx:
            task_id = await tx.run(
                "INSERT INTO broadcasts (title, url, deadline, requirements, scope, created_by, created_at, "
                "article_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.title,
                    draft.url,
                    clock.to_db(draft.deadline),
                    "、".join(draft.requirements),
                    scope,
                    actor,
                    clock.now_db(),
                    article_title,
                ),
            )
            await tx.many(
                "INSERT INTO broadcast_units (task_id, unit_id) VALUES (?, ?)", [(task_id, u) for u in unit_ids]
            )
            task = await self._get(tx, task_id)
            groups = await self.engine.announce(tx, task_id, announcement(task, len(unit_ids)))
            await self.engine.schedule(tx, task_id, task.deadline, overdue=False)
            await audit(tx, actor, "统发发布", f"#{task_id} {draft.title} {draft.url}")
        return Created(task, len(unit_ids), groups)

    # ------------------------------------------------------------ reading tasks

    async def _get(self, tx: Tx, task_id: int) -> Task:
        row = await tx.one("SELECT * FROM broadcasts WHERE id=?", (task_id,))
        if row is None:
            raise NotFound(f"没有编号为 {task_id} 的统发任务。发 /统发 查看进行中的任务。")
        return _task(row)

    async def get(self, task_id: int) -> Task:
        async with self.db.read() as tx:
            return await self._get(tx, task_id)

    async def listing(self, *, include_closed: bool = False, limit: int = 50) -> list[Summary]:
        """Open tasks (oldest first) with their counts; with `include_closed`, then the others, newest first."""
        where = "" if include_closed else "WHERE state='进行中'"
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT * FROM broadcasts {where} ORDER BY state<>'进行中', "
                "CASE WHEN state='进行中' THEN id END, id DESC LIMIT ?",
                (limit,),
            )
            return [await self._summary(tx, _task(r)) for r in rows]

    async def done_records(self, task_id: int) -> list[Done]:
        """The counted confirmation of each unit that did a task, in the order they came (for exports)."""
        async with self.db.read() as tx:
            await self._get(tx, task_id)
            rows = await tx.all(
                "SELECT c.*, u.name, u.category, u.city FROM broadcast_confirmations c JOIN units u ON u.id=c.unit_id "
                "WHERE c.task_id=? AND c.counted=1 ORDER BY c.at, c.id",
                (task_id,),
            )
        return [
            Done(
                Unit(r["unit_id"], r["name"], r["category"], r["city"]),
                r["user_id"],
                r["user_name"],
                clock.from_db(r["at"]),
                bool(r["late"]),
                r["via"],
                r["proof_url"],
                r["proof_image"],
            )
            for r in rows
        ]

    async def _summary(self, tx: Tx, task: Task) -> Summary:
        row = await tx.one(
            f"SELECT COUNT(*) AS total, COALESCE(SUM({_DONE}), 0) AS done FROM broadcast_units bu "
            f"JOIN units u ON u.id=bu.unit_id WHERE bu.task_id=? AND (u.deleted_at IS NULL OR {_DONE})",
            (task.id,),
        )
        assert row is not None
        return Summary(task, int(row["done"]), int(row["total"]))

    async def _resolve(self, tx: Tx, task_id: int | None, *, how: str) -> Task:
        """The numbered task, or the only open one; several open → ask which."""
        if task_id is not None:
            return await self._get(tx, task_id)
        rows = await tx.all("SELECT * FROM broadcasts WHERE state=? ORDER BY id", (OPEN,))
        return the_only_open(
            [_task(r) for r in rows],
            none="现在没有进行中的统发任务。查看已结束的任务请写编号，如：/统发 进度 3",
            several=lambda tasks: WhichTask(
                f"现在有 {len(tasks)} 个进行中的统发：{'、'.join(t.label for t in tasks)}。"
                f"请写明编号，如：{how} {tasks[-1].id}",
                [t.id for t in tasks],
            ),
        )

    # ------------------------------------------------------------ confirmations

    async def confirm(
        self,
        user_id: str | int,
        user_name: str,
        task_id: int | None = None,
        *,
        reply_to: str | None = None,
        proof_url: str | None = None,
        images: list[str] | None = None,
        note: str | None = None,
        via: str = "command",
    ) -> Confirmation:
        """Record that the user's unit did the task (one transaction; the unit counts once).

        Args:
            task_id: the task; None means the one the reply quotes, or the only open one the unit owes.
            reply_to: the client's id of the message the user quoted, if any.

        Raises:
            NotBound: the user is bound to no unit (nothing is stored).
            WhichTask: several open tasks and no number.
            UserError: the task is closed, withdrawn, or not owed by the unit.
        """
        uid = str(user_id)
        if task_id is None and reply_to is not None:
            task_id = await self.task_of_message(reply_to)
        image = "\n".join(images) if images else None
        now = clock.now()
        async with self.db.tx() as tx:
            unit_id = await self.units.bound_unit(tx, uid)
            if unit_id is None:
                raise NotBound(NOT_BOUND)
            if task_id is None:
                task = await self._owed_open_task(tx, unit_id)
            else:
                task = await self._get(tx, task_id)
                self._check_open(task, admin=False)
                if not await tx.value(
                    "SELECT 1 FROM broadcast_units WHERE task_id=? AND unit_id=?", (task.id, unit_id)
                ):
                    raise UserError(
                        f"你的单位不在统发 {task.label} 的范围（{task.scope or '全部单位'}）内，不需要确认。"
                    )
            c = await self._record(tx, task, unit_id, uid, user_name, now, via, proof_url, image, note)
        unit = await self.units.get(unit_id)
        return Confirmation(task=task, unit=unit or Unit(unit_id, f"单位{unit_id}", "其他"), **c)

    async def _owed_open_task(self, tx: Tx, unit_id: int) -> Task:
        rows = await tx.all(
            f"SELECT b.*, {_DONE} AS done FROM broadcasts b "
            "JOIN broadcast_units bu ON bu.task_id=b.id AND bu.unit_id=? WHERE b.state=? ORDER BY b.id",
            (unit_id, OPEN),
        )
        if not rows:
            raise NotFound("现在没有需要你单位确认的统发任务。发 /统发 进度 查看进行中的统发。")
        owed = [r for r in rows if not r["done"]]
        if len(rows) > 1 and len(owed) == 1:  # the unit owes only one of the open tasks: that is the one meant
            return _task(owed[0])
        if len(rows) > 1:
            parts = [f"{_task(r).label}{'（本单位已确认）' if r['done'] else ''}" for r in rows]
            raise WhichTask(
                f"现在有 {len(rows)} 个进行中的统发：{'、'.join(parts)}。请写明是哪一个，"
                f"如：/已转发 {rows[-1]['id']}，或直接回复那条统发通知“已转发”。",
                [r["id"] for r in rows],
            )
        return _task(rows[0])

    async def owed_by(self, user_id: str | int) -> tuple[Unit, list[Task]] | None:
        """The unit a user confirms for and the open tasks it has not confirmed yet; None if not bound."""
        bound = await self.units.operator(user_id)
        if bound is None:
            return None
        unit = bound[1]
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT b.* FROM broadcasts b JOIN broadcast_units bu ON bu.task_id=b.id AND bu.unit_id=? "
                f"WHERE b.state=? AND NOT {_DONE} ORDER BY b.id",
                (unit.id, OPEN),
            )
        return unit, [_task(r) for r in rows]

    def _check_open(self, task: Task, *, admin: bool) -> None:
        if task.state == WITHDRAWN:
            raise TaskClosed(f"统发 {task.label} 已撤回，不需要确认。")
        if task.state == CLOSED and not admin:
            raise TaskClosed(f"统发 {task.label} 已结束，不再登记确认。如确已完成，请联系管理员补登。")

    async def _record(
        self,
        tx: Tx,
        task: Task,
        unit_id: int,
        user_id: str,
        user_name: str,
        now: datetime,
        via: str,
        proof_url: str | None,
        image: str | None,
        note: str | None,
    ) -> dict:
        first = await tx.one(
            "SELECT user_id, user_name, at FROM broadcast_confirmations WHERE task_id=? AND unit_id=? AND counted=1",
            (task.id, unit_id),
        )
        late = now > task.deadline
        await tx.run(
            "INSERT INTO broadcast_confirmations "
            "(task_id, unit_id, user_id, user_name, at, late, counted, via, proof_url, proof_image, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task.id,
                unit_id,
                user_id,
                user_name[:60],
                clock.to_db(now),
                int(late),
                int(first is None),
                via,
                proof_url,
                image,
                (note or None) and note[:200],
            ),
        )
        out: dict = {"counted": first is None, "late": late, "proof": bool(proof_url or image)}
        if first is not None:
            out.update(first_user=first["user_id"], first_name=first["user_name"], first_at=clock.from_db(first["at"]))
        return out

    async def confirm_for(
        self, task_id: int, names: list[str], *, actor: str, actor_name: str = ""
    ) -> list[Confirmation]:
        """An admin confirms for units that reported another way (also after the task was closed).

        Raises:
            NotFound / Ambiguous: a unit name (nothing is recorded then).
            UserError: the task was withdrawn, or a unit does not owe it.
        """
        if not names:
            raise UserError("请写出单位，如：/统发 代确认 3 郑州大学 河南大学")
        units = [await self.units.resolve(n, strict=True) for n in names]
        now = clock.now()
        out = []
        async with self.db.tx() as tx:
            task = await self._get(tx, task_id)
            self._check_open(task, admin=True)
            for unit in dict.fromkeys(units):
                if not await tx.value(
                    "SELECT 1 FROM broadcast_units WHERE task_id=? AND unit_id=?", (task.id, unit.id)
                ):
                    raise UserError(f"“{unit.name}”不在统发 {task.label} 的范围（{task.scope or '全部单位'}）内。")
                c = await self._record(tx, task, unit.id, actor, actor_name, now, "admin", None, None, "管理员代确认")
                out.append(Confirmation(task=task, unit=unit, **c))
            await audit(tx, actor, "统发代确认", f"#{task.id} {'、'.join(u.name for u in units)}")
        return out

    # ------------------------------------------------------------ replies to the announcement

    async def _load_posts(self) -> dict[str, int]:
        """Message id → task id of every message that announced or nudged a task (loaded once)."""
        if self._posts is not None:
            return self._posts
        async with self.db.tx() as tx:
            # A crash between the outbox marking a row sent and our hook leaves the id only in the outbox.
            for sent in await self.outbox.sent_about(tx, KIND):
                await self._store_post(tx, sent.ref, sent.message_id, sent.group_id)
            posts = {r[0]: r[1] for r in await tx.all("SELECT message_id, task_id FROM broadcast_posts")}
            self._posts = posts
        return posts

    async def _store_post(self, tx: Tx, ref: Ref, message_id: str, group_id: str | None) -> tuple[str, int] | None:
        kind = _POST_KINDS.get(ref.purpose)
        if ref.kind != KIND or kind is None:
            return None
        mid = norm_id(message_id)
        await tx.run(
            "INSERT OR IGNORE INTO broadcast_posts (message_id, task_id, kind, group_id) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM broadcasts WHERE id=?)",
            (mid, ref.id, kind, group_id, ref.id),
        )
        return mid, ref.id

    async def _on_sent(self, row_id: int, ref_text: str | None, message_id: str | None) -> None:
        ref = Ref.parse(ref_text)
        if ref is None or message_id is None or ref.kind != KIND or ref.purpose not in _POST_KINDS:
            return
        async with self.db.tx() as tx:
            stored = await self._store_post(tx, ref, message_id, await self.outbox.group_of(tx, row_id))
        if stored is not None and self._posts is not None:
            self._posts[stored[0]] = stored[1]

    async def task_of_message(self, message_id: object) -> int | None:
        """The task a message of the bot (announcement or nudge) was about, by the client's message id."""
        return (await self._load_posts()).get(norm_id(message_id))

    async def announcement_ids(self, task_id: int) -> list[str]:
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT message_id FROM broadcast_posts WHERE task_id=? AND kind='announce' ORDER BY rowid",
                (task_id,),
            )
        return [r[0] for r in rows]

    # ------------------------------------------------------------ reactions

    async def _before_nudge(self, rem: Reminder) -> None:
        """Before an automatic nudge is built (outside its transaction): count reactions given while away."""
        try:
            await self.catch_up(rem.task_id)
        except Exception:
            log.exception("catching up reactions before reminder %s failed", rem.id)

    def is_confirm_emoji(self, emoji_id: object) -> bool:
        return str(emoji_id).strip() in self.settings.alliance_confirm_emojis

    async def confirm_by_reaction(self, user_id: str | int, message_id: object) -> Confirmation | None:
        """A reaction on an announcement or nudge of a task confirms it like `/已转发` (None: the message is no
        task's, or the task no longer takes confirmations, or the unit does not owe it).

        Raises:
            NotBound: the person is bound to no unit (nothing is stored).
        """
        task_id = await self.task_of_message(message_id)
        if task_id is None:
            return None
        bound = await self.units.operator(str(user_id))
        try:
            return await self.confirm(str(user_id), bound[0].name if bound else "", task_id, via="reaction")
        except NotBound:
            raise
        except UserError as e:
            log.info("reaction by %s on %s not counted: %s", user_id, message_id, e)
            return None

    def catch_up_due(self) -> None:
        """A client (re)connected: reactions may have been missed, so the next catch-up of any task runs."""
        self._caught.clear()

    async def catch_up(self, task_id: int | None = None, *, force: bool = False) -> int:
        """Count the reactions given while the bot or its client was away, where the client can list them.

        Looks at the announcements and the latest nudges of open tasks (or of one task), and confirms for the
        operators still owing it who reacted with a confirming emoji. Returns how many were counted. While the
        client is connected reactions come as notices, so a task looked at in the last `CATCH_UP_EVERY`
        seconds is not asked about again unless `force` (a client just connected).
        """
        lister = self.reaction_lister
        if lister is None:
            return 0
        now = time.monotonic()
        if force:
            self._caught.clear()
        elif now - self._caught.get(task_id, -1e9) < CATCH_UP_EVERY:
            return 0
        async with self._catching:  # one at a time: two catch-ups would both count the same reaction
            counted = await self._catch_up(lister, task_id)
        self._caught[task_id] = time.monotonic()
        return counted

    async def _catch_up(self, lister: ReactionLister, task_id: int | None) -> int:
        async with self.db.read() as tx:
            if task_id is None:
                tasks = [r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE state=?", (OPEN,))]
            else:
                tasks = [
                    r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE id=? AND state=?", (task_id, OPEN))
                ]
            plan = []
            for tid in tasks:
                owing = {o.user_id for o in (await self._still_owing(tx, tid)).operators}
                if not owing:
                    continue
                posts = await tx.all(
                    "SELECT message_id, group_id FROM broadcast_posts WHERE task_id=? "
                    "ORDER BY kind<>'announce', rowid DESC",
                    (tid,),
                )
                plan.append((tid, owing, [(p["group_id"], p["message_id"]) for p in posts[:4]]))
        counted = 0
        for tid, owing, posts in plan:
            reacted: set[str] = set()
            for group_id, message_id in posts:
                for emoji in self.settings.alliance_confirm_emojis:
                    users = await lister(group_id, message_id, emoji)
                    if users is None:
                        return counted  # this client cannot list reactions
                    reacted.update(u for u in users if u in owing)
            for uid in sorted(reacted):
                bound = await self.units.operator(uid)
                try:
                    c = await self.confirm(uid, bound[0].name if bound else "", tid, via="reaction")
                except UserError:
                    continue
                counted += c.counted
        return counted

    # ------------------------------------------------------------ progress

    async def progress(self, task_id: int | None = None) -> Progress:
        """Counts and the units not done. Without a number: the only open task (several → WhichTask).

        A unit deleted since the task was created drops out unless it had confirmed. Names come from the
        Units index, so only the ids of the units not done cross from the database.
        """
        async with self.db.read() as tx:
            task = await self._resolve(tx, task_id, how="/统发 进度")
            counts = await tx.one(
                "SELECT COUNT(*) AS done, COALESCE(SUM(late), 0) AS late FROM broadcast_confirmations "
                "WHERE task_id=? AND counted=1",
                (task.id,),
            )
            assert counts is not None
            done = int(counts["done"])
            # the units owing a task are fixed and counted confirmations are never taken back, so the same
            # number done means the same units still owing: asked again, the list is not fetched again
            cached = self._owing.get(task.id)
            if cached is not None and cached[0] == done:
                ids = cached[1]
            else:
                # one string instead of a row per unit: a large alliance's list crosses from SQLite faster
                text = await tx.value(
                    "SELECT group_concat(unit_id) FROM (SELECT bu.unit_id FROM broadcast_units bu "
                    f"WHERE bu.task_id=? AND NOT {_DONE} ORDER BY bu.unit_id)",
                    (task.id,),
                )
                ids = tuple(int(i) for i in text.split(",")) if text else ()
                self._owing[task.id] = (done, ids)
        pending = await self.units.by_ids(ids)
        staffed = await self.units.operators_of(ids)
        unstaffed = frozenset(u.id for u in pending if u.id not in staffed)
        return Progress(task, done, done + len(pending), int(counts["late"]), pending, unstaffed)

    async def owed_by_category(self, task_id: int) -> dict[str, int]:
        """How many units of each category owe the task (as counted by `progress`)."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT u.category, COUNT(*) FROM broadcast_units bu JOIN units u ON u.id=bu.unit_id "
                f"WHERE bu.task_id=? AND (u.deleted_at IS NULL OR {_DONE}) GROUP BY u.category",
                (task_id,),
            )
        return {r[0]: r[1] for r in rows}

    # ------------------------------------------------------------ nudges

    async def _still_owing(self, tx: Tx, task_id: int) -> Owing:
        """The units not done (deleted ones left out) and their operators, inside the caller's transaction."""
        rows = await tx.all(
            "SELECT u.id, u.name, u.category, u.city FROM broadcast_units bu JOIN units u ON u.id=bu.unit_id "
            f"WHERE bu.task_id=? AND u.deleted_at IS NULL AND NOT {_DONE} ORDER BY u.id",
            (task_id,),
        )
        return await self.engine.owing(tx, [Unit(r[0], r[1], r[2], r[3]) for r in rows])

    async def nudge(self, task_id: int | None, *, actor: str) -> NudgeResult:
        """@-mention the operators of the units not done, batched, in each operator's group."""
        async with self.db.tx() as tx:
            task = await self._resolve(tx, task_id, how="/统发 催办")
            if not task.is_open:
                raise TaskClosed(f"统发 {task.label} {task.state}，不能催办。")
            owing = await self._still_owing(tx, task.id)
            if not owing.units:
                return NudgeResult(task, 0, 0, 0, [])
            units, ops = len(owing.units), len(owing.operators)
            msgs = self.engine.messages(_nudge_text(task, units, owing.operators, auto=False), owing)
            detail = f"#{task.id} {units} 个单位，{ops} 位联络员"
            await self.engine.nudge(tx, task, msgs, purpose=NUDGE, actor=actor, action="统发催办", detail=detail)
        return NudgeResult(task, units, ops, len(msgs), [u.name for u in owing.orphans])

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The automatic nudge of a task: computed when it is sent, to the operators still owing it."""
        row = await tx.one("SELECT * FROM broadcasts WHERE id=?", (rem.task_id,))
        if row is None or row["state"] != OPEN:
            return []
        task = _task(row)
        owing = await self._still_owing(tx, task.id)
        if not owing.units or not owing.operators:
            return []
        return self.engine.messages(_nudge_text(task, len(owing.units), owing.operators, auto=True), owing)

    # ------------------------------------------------------------ close and withdraw

    async def close(self, task_id: int, *, actor: str) -> Progress:
        """Close early: no more confirmations (except an admin's) and no more nudges."""
        async with self.db.tx() as tx:
            task = await self._get(tx, task_id)
            if not task.is_open:
                raise TaskClosed(f"统发 {task.label} {task.state}，不用再结束。")
            await tx.run(
                "UPDATE broadcasts SET state=?, closed_by=?, closed_at=? WHERE id=?",
                (CLOSED, actor, clock.now_db(), task.id),
            )
            await self.engine.ended(tx, task, actor=actor, action="统发结束", why="统发已结束")
        return await self.progress(task.id)

    async def withdraw(self, task_id: int, *, actor: str) -> tuple[Task, list[str]]:
        """Withdraw: the task no longer counts anywhere; the groups are told. Returns the announcement ids."""
        async with self.db.tx() as tx:
            task = await self._get(tx, task_id)
            if task.state == WITHDRAWN:
                raise TaskClosed(f"统发 {task.label} 已经撤回过了。")
            await tx.run(
                "UPDATE broadcasts SET state=?, closed_by=?, closed_at=? WHERE id=?",
                (WITHDRAWN, actor, clock.now_db(), task.id),
            )
            notice = Msg(f"【统发撤回】#{task.id}「{task.title}」已撤回，不需要再转发或确认。")
            await self.engine.announce(tx, task.id, notice, purpose=WITHDRAWN_NOTICE)
            await self.engine.ended(tx, task, actor=actor, action="统发撤回", why="统发已撤回")
        return task, await self.announcement_ids(task.id)

    # ------------------------------------------------------------ as reports, exports and the dashboard see tasks

    async def lines(self, *, include_closed: bool = True) -> list[TaskLine]:
        return [
            self.line(b.task, b.done, b.total) for b in await self.listing(include_closed=include_closed, limit=200)
        ]

    async def view(self, task_id: int) -> TaskView:
        p = await self.progress(task_id)
        done = []
        for d in await self.done_records(task_id):
            notes = [_VIA.get(d.via, d.via)]
            if d.proof_url:
                notes.append(f"证明：{d.proof_url}")
            if d.proof_image:
                notes.append("附截图")
            who = person_label(d.user_name, d.user_id)
            done.append(TaskDone(d.unit, who, clock.stamp(d.at), d.late, "；".join(x for x in notes if x)))
        t = p.task
        note = "要求：" + "、".join(t.requirements) if t.requirements else ""
        return self.task_view(t, done, list(p.pending), link=t.url, note=note)

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]:
        now = clock.now_db()
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT b.id, b.title, b.deadline, b.state, c.at AS done_at, c.late FROM broadcast_units bu "
                "JOIN broadcasts b ON b.id=bu.task_id LEFT JOIN broadcast_confirmations c "
                "ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE bu.unit_id=? AND b.state<>'已撤回' ORDER BY b.deadline DESC LIMIT ?",
                (unit_id, limit),
            )
        return [self.history_line(r, now) for r in rows]

    async def people(self) -> list[tuple[str, str]]:
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT user_id, user_name FROM broadcast_confirmations")]

    # ------------------------------------------------------------ statistics and per-unit views

    async def statistics(self, month: str = "") -> Stats:
        """Each unit's completion over the tasks announced in a month (withdrawn ones left out), best first.

        A task still open before its deadline counts for a unit that confirmed it, never against one that has not yet.
        """
        start, end, label = parse_month(month, clock.now().date())
        tz = clock.tz()
        lo = clock.to_db(datetime.combine(start, datetime.min.time(), tzinfo=tz))
        hi = clock.to_db(datetime.combine(end, datetime.min.time(), tzinfo=tz))
        async with self.db.read() as tx:
            tasks = await tx.value(
                "SELECT COUNT(*) FROM broadcasts WHERE state<>? AND created_at>=? AND created_at<?", (WITHDRAWN, lo, hi)
            )
            now = clock.now_db()
            running = await tx.value(
                "SELECT COUNT(*) FROM broadcasts WHERE state=? AND deadline>? AND created_at>=? AND created_at<?",
                (OPEN, now, lo, hi),
            )
            rows = await tx.all(
                "SELECT u.id, u.name, u.category, COUNT(*) AS owed, COUNT(c.id) AS done, "
                "COALESCE(SUM(c.late), 0) AS late "
                "FROM broadcasts b JOIN broadcast_units bu ON bu.task_id=b.id JOIN units u ON u.id=bu.unit_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE b.state<>? AND b.created_at>=? AND b.created_at<? AND u.deleted_at IS NULL "
                "AND (c.id IS NOT NULL OR b.state<>? OR b.deadline<=?) "
                "GROUP BY u.id",
                (WITHDRAWN, lo, hi, OPEN, now),
            )
        rates = [UnitRate(r["id"], r["name"], r["category"], r["done"], r["owed"], r["late"]) for r in rows]
        rates.sort(key=lambda r: (-r.rate, -r.done, r.late, r.name))
        return Stats(label, int(tasks or 0), rates, int(running or 0))

    async def unit_completion(self, unit_id: int, days: int = 30) -> tuple[int, int]:
        """(tasks the unit confirmed, tasks it owed) among those announced in the last `days` days, not withdrawn."""
        since = clock.to_db(clock.now() - timedelta(days=days))
        async with self.db.read() as tx:
            row = await tx.one(
                "SELECT COUNT(*) AS owed, COUNT(c.id) AS done FROM broadcast_units bu "
                "JOIN broadcasts b ON b.id=bu.task_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE bu.unit_id=? AND b.state<>? AND b.created_at>=?",
                (unit_id, WITHDRAWN, since),
            )
        assert row is not None
        return int(row["done"]), int(row["owed"])

    async def open_for_unit(self, unit_id: int) -> list[UnitTask]:
        """The open tasks a unit owes, oldest first, each with whether the unit has confirmed it."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT b.*, c.id AS cid, c.late AS clate FROM broadcast_units bu "
                "JOIN broadcasts b ON b.id=bu.task_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE bu.unit_id=? AND b.state=? ORDER BY b.id",
                (unit_id, OPEN),
            )
        return [UnitTask(_task(r), r["cid"] is not None, bool(r["clate"])) for r in rows]
