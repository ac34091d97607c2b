"""Returns (报送, SPEC §6): tasks with a hard deadline that units submit, and reminders to those who have not.

The units that owe a return are fixed when it is created (all units, or those of a 范围 of categories
or cities). A unit submits once: a second submission is acknowledged and not counted; one after the
deadline is kept and marked 逾期. Reminders go through the shared ledger (bot/reminders.py, kind
"return"); who is still owed is computed when a reminder goes out, so a unit done by then is not nudged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot import clock
from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.nudge import Outgoing, who_owes
from bot.outbox import Outbox
from bot.parse import DEADLINE_WORDS, clean_text, done_rest, parse_time
from bot.refs import RETURN_NUDGE
from bot.reminders import Reminder, Reminders, describe_left
from bot.render import Msg, cut_list, percent, person_label, person_name
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

KIND = "return"
NEEDS_FIX = "需修改"
OPEN, CLOSED = "进行中", "已结束"
BY_SELF, BY_ADMIN = "本人", "管理员登记"
SCOPE_WORDS = ("范围",)
MAX_TITLE = 100
MAX_NOTE = 500

USAGE_NEW = (
    "/报送 新建 <标题> 截止 <时间> [范围 <类别或地市,…>] [说明]\n"
    "例：/报送 新建 2026年秋季新媒体统计表 截止 11-25 18:00 请按附件格式填写\n"
    "例：/报送 新建 高校账号自查表 截止 周五17:30 范围 本科高校,高职高专\n"
    "要交文件时加：表格 统计表|汇总表|备案表|模板，和/或 扫描件，"
    "例：/报送 新建 2026年新媒体统计 截止 10-31 17:30 表格 统计表,扫描件"
)
FILE_WORDS = ("表格", "文件", "格式")


@dataclass(frozen=True)
class Return(TaskRecord):
    marks = "《》"
    id: int
    title: str
    note: str
    deadline: datetime
    scope: str
    state: str
    created_by: str
    created_at: datetime
    form: str = ""
    """The form units hand in as a file: 统计表, 汇总表, 备案表, 模板, or "" for none."""
    wants_scan: bool = False
    template_file: int | None = None

    @property
    def wants_files(self) -> bool:
        return bool(self.form) or self.wants_scan

    @property
    def open(self) -> bool:
        return self.is_open


@dataclass(frozen=True)
class Submission:
    unit: Unit
    at: datetime
    by: str
    by_name: str
    via: str
    note: str
    late: bool

    def describe(self) -> str:
        """`11月20日 10:00 张三报送（逾期）` for a progress line."""
        who = person_name(self.by_name)
        how = "登记" if self.via == BY_ADMIN else "报送"
        return f"{clock.show(self.at)} {who}{how}" + ("（逾期）" if self.late else "")


@dataclass
class Progress:
    ret: Return
    done: list[Submission]
    pending: list[Unit]
    fixing: set[int] = field(default_factory=set)
    """Ids of pending units whose latest file has problems (需修改)."""

    @property
    def total(self) -> int:
        return len(self.done) + len(self.pending)

    @property
    def late(self) -> int:
        return sum(1 for s in self.done if s.late)


@dataclass
class NewReturn:
    """What `/报送 新建` was given, read but not yet stored."""

    title: str
    deadline: datetime
    scope: str = ""
    note: str = ""
    form: str = ""
    scan: bool = False


@dataclass
class Created:
    ret: Return
    units: int
    groups: list[str]
    reminders: list[str]
    """Labels of the reminders owed, soonest first (`1d`, `2h`, `overdue`)."""


@dataclass
class Submitted:
    ret: Return
    unit: Unit
    submission: Submission
    new: bool
    done: int
    total: int


@dataclass
class Nudged:
    ret: Return
    units: list[Unit]
    operators: int
    orphans: list[Unit]
    messages: int


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


# ---------------------------------------------------------------- reading what admins type


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
    first = next((i for i, a in enumerate(args) if a in DEADLINE_WORDS or a in SCOPE_WORDS), idx)
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
    form, scan, rest = _read_files(rest)
    note = clean_text(" ".join(rest))
    if len(note) > MAX_NOTE:
        raise UserError(f"说明太长（{len(note)} 字），请控制在 {MAX_NOTE} 字以内，详细要求可以另发文件。")
    return NewReturn(title, deadline, scope, note, form, scan)


def _read_files(rest: list[str]) -> tuple[str, bool, list[str]]:
    """`表格 统计表,扫描件` and a bare `扫描件`: the form units hand in and whether a scan is wanted."""
    from bot.returnfiles.layouts import SCAN_WORDS, form_or_none

    form, scan, left = "", False, []
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
                    form = f
                else:
                    raise UserError(
                        f"不认识表格“{item}”。可写：表格 统计表、表格 汇总表、表格 备案表、表格 模板（管理员上传的表格），"
                        "要盖章扫描件再加 扫描件，如：表格 统计表,扫描件"
                    )
            i += 2
            continue
        if word in SCAN_WORDS:
            scan = True
        else:
            left.append(word)
        i += 1
    return form, scan, left


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


# ---------------------------------------------------------------- messages


def _left(ret: Return) -> str:
    return describe_left(ret.deadline, clock.now())


def announcement(ret: Return, units: int) -> Msg:
    out = Msg(f"【报送】{ret.label}")
    out.line(f"截止：{clock.show(ret.deadline)}（{_left(ret)}）")
    out.line(f"范围：{ret.scope}（{units} 个单位）")
    if ret.note:
        out.line(f"说明：{ret.note}")
    if ret.wants_files:
        out.line(_files_wanted(ret))
        return out
    out.line(f"报送后请联络员发：/已报送 {ret.id} [备注]（也可以引用本条消息发 /已报送）")
    return out


def _files_wanted(ret: Return) -> str:
    """What to send and how, for a return that asks for files."""
    parts = []
    if ret.form == "模板":
        parts.append("按管理员提供的模板填写的表格（.xlsx 或 .xls）")
    elif ret.form:
        parts.append(f"{ret.form}（.xlsx 或 .xls，按官方格式）")
    if ret.wants_scan:
        parts.append("首页加盖单位公章的扫描件（PDF 或图片）")
    how = (
        f"请联络员把{'和'.join(parts)}直接上传到本群文件（或私聊发给机器人），文件名写上单位名称，"
        "如 20261030郑州大学新媒体统计.xlsx；机器人会当场检查并回复。"
    )
    if ret.form:
        how += f"发 /报送 表格 {ret.id} 可领取本单位的表格" + (
            "（已按登记信息预填，核对修改即可）。" if ret.form != "模板" else "。"
        )
    return how


def category_lines(units: list[Unit], limit: int | None) -> list[str]:
    """`【本科高校】郑州大学、河南大学` lines, categories in their usual order, each cut at `limit` names."""
    return [f"【{cat}】{cut_list([u.name for u in group], limit)}" for cat, group in by_category(units)]


def render_progress(p: Progress, limit: int | None) -> Msg:
    ret = p.ret
    state = "" if ret.open else "（已结束）"
    out = Msg(f"报送 {ret.label}{state}")
    out.line(f"截止：{clock.show(ret.deadline)}（{_left(ret)}）　范围：{ret.scope}")
    late = f"，其中逾期 {p.late}" if p.late else ""
    out.line(f"已报送 {len(p.done)}/{p.total}（{percent(len(p.done), p.total)}）{late}")
    if p.pending:
        out.line(f"未报送（{len(p.pending)}）：")
        for line in category_lines(p.pending, limit):
            out.line(line)
        if p.fixing:
            fixing = [u.name for u in p.pending if u.id in p.fixing]
            out.line(f"其中需修改（{len(fixing)}，已交文件但有问题）：{cut_list(fixing, limit)}")
    elif p.total:
        out.line("全部单位都已报送。")
    return out


def _nudge_header(ret: Return, pending: int, ops: Sequence[Operator], *, overdue: bool, manual: bool = False) -> str:
    if overdue or ret.deadline <= clock.now():
        return f"【报送逾期】{ret.label}已于 {clock.show(ret.deadline)} 截止，{who_owes(pending, ops, '没有报送')}"
    kind = "催办" if manual else "提醒"
    return (
        f"【报送{kind}】{ret.label}将于 {clock.show(ret.deadline)} 截止（{_left(ret)}），"
        f"{who_owes(pending, ops, '没有报送')}"
    )


def _footer(ret: Return) -> str:
    if ret.wants_files:
        return f"请把填好的文件上传到群文件或私聊发给机器人；发 /报送 表格 {ret.id} 领取本单位的表格。"
    return f"报送后请发：/已报送 {ret.id} [备注]"


def _private_text(ret: Return, overdue: bool) -> str:
    when = (
        f"已于 {clock.show(ret.deadline)} 截止" if overdue else f"将于 {clock.show(ret.deadline)} 截止（{_left(ret)}）"
    )
    return f"【报送提醒】你所在的单位还没有报送 {ret.label}，{when}。{_footer(ret)}"


# ---------------------------------------------------------------- rows


def _return(r) -> Return:
    return Return(
        r["id"],
        r["title"],
        r["note"],
        clock.from_db(r["deadline"]),
        r["scope"],
        r["state"],
        r["created_by"],
        clock.from_db(r["created_at"]),
        r["form"],
        bool(r["wants_scan"]),
        r["template_file"],
    )


def _unit(r) -> Unit:
    return Unit(r["unit_id"], r["name"], r["category"], r["city"])


def _submission(r) -> Submission:
    return Submission(
        _unit(r),
        clock.from_db(r["submitted_at"]),
        r["submitted_by"] or "",
        r["submitted_by_name"],
        r["via"] or BY_SELF,
        r["note"],
        bool(r["late"]),
    )


_UNIT_ROWS = (
    "SELECT ru.*, u.name, u.category, u.city, u.deleted_at FROM return_units ru JOIN units u ON u.id=ru.unit_id "
    "WHERE ru.return_id=? ORDER BY u.id"
)


class Returns(TaskService):
    """Returns and their submissions; registers the `return` kind with the reminder engine."""

    kind = KIND
    noun = "报送"

    def __init__(self, db: Database, units: Units, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        super().__init__(db, units, outbox, reminders, settings)
        reminders.register(KIND, self._remind)

    # ------------------------------------------------------------ reading

    async def _get(self, tx: Tx, return_id: int) -> Return:
        r = await tx.one("SELECT * FROM returns WHERE id=?", (return_id,))
        if r is None:
            raise NotFound(f"没有编号为 {return_id} 的报送任务。发 /报送 查看进行中的报送。")
        return _return(r)

    async def get(self, return_id: int) -> Return:
        async with self.db.read() as tx:
            return await self._get(tx, return_id)

    async def _progress(self, tx: Tx, return_id: int) -> Progress:
        ret = await self._get(tx, return_id)
        done, pending, fixing = [], [], set()
        for r in await tx.all(_UNIT_ROWS, (return_id,)):
            if r["submitted_at"]:
                done.append(_submission(r))
            elif r["deleted_at"] is None:
                pending.append(_unit(r))
                if r["file_state"] == NEEDS_FIX:
                    fixing.add(r["unit_id"])
        done.sort(key=lambda s: s.at)
        return Progress(ret, done, pending, fixing)

    async def progress(self, return_id: int) -> Progress:
        async with self.db.read() as tx:
            return await self._progress(tx, return_id)

    async def listing(self, *, include_closed: bool = False) -> list[tuple[Return, int, int]]:
        """Returns with (done, total), open ones first by deadline (closed ones, newest first, when asked)."""
        where = "" if include_closed else "WHERE r.state='进行中'"
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT r.*, "
                "(SELECT COUNT(*) FROM return_units ru WHERE ru.return_id=r.id AND ru.submitted_at IS NOT NULL) AS done, "
                "(SELECT COUNT(*) FROM return_units ru JOIN units u ON u.id=ru.unit_id WHERE ru.return_id=r.id "
                " AND (ru.submitted_at IS NOT NULL OR u.deleted_at IS NULL)) AS total "
                f"FROM returns r {where} ORDER BY r.state='已结束', "
                "CASE WHEN r.state='进行中' THEN r.deadline END, r.id DESC"
            )
        return [(_return(r), r["done"], r["total"]) for r in rows]

    async def open_for_unit(self, unit_id: int) -> list[tuple[Return, Submission | None]]:
        """The open returns a unit owes, each with its submission (None: not yet), by deadline."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT r.*, ru.unit_id, ru.submitted_at, ru.submitted_by, ru.submitted_by_name, ru.via, "
                "ru.note AS sub_note, ru.late, u.name, u.category, u.city "
                "FROM returns r JOIN return_units ru ON ru.return_id=r.id JOIN units u ON u.id=ru.unit_id "
                "WHERE ru.unit_id=? AND r.state='进行中' ORDER BY r.deadline, r.id",
                (unit_id,),
            )
        out: list[tuple[Return, Submission | None]] = []
        for r in rows:
            sub = None
            if r["submitted_at"]:
                sub = Submission(
                    _unit(r),
                    clock.from_db(r["submitted_at"]),
                    r["submitted_by"] or "",
                    r["submitted_by_name"],
                    r["via"] or BY_SELF,
                    r["sub_note"],
                    bool(r["late"]),
                )
            out.append((_return(r), sub))
        return out

    async def fixing_for_unit(self, unit_id: int) -> set[int]:
        """The open returns whose latest file from this unit has problems (需修改) and is not yet accepted."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT ru.return_id FROM return_units ru JOIN returns r ON r.id=ru.return_id "
                "WHERE ru.unit_id=? AND r.state='进行中' AND ru.submitted_at IS NULL AND ru.file_state=?",
                (unit_id, NEEDS_FIX),
            )
        return {r[0] for r in rows}

    async def from_message(self, message_id: str | int) -> int | None:
        """The return a bot message (its announcement, a reminder or a nudge) was about, if any."""
        for ref in await self.outbox.refs_of_message(message_id):
            if ref.kind == KIND:
                return ref.id
        return None

    async def pick_open(self) -> Return:
        """The only open return (for commands whose number may be left out)."""
        return the_only_open(
            [r for r, _, _ in await self.listing()],
            none="现在没有进行中的报送任务。",
            several=lambda open_: UserError(
                f"有 {len(open_)} 个进行中的报送，请写出编号："
                + "；".join(f"{r.label} 截止 {clock.show(r.deadline)}" for r in open_[:10])
            ),
        )

    # ------------------------------------------------------------ creating and closing

    async def scope_units(self, text: str) -> tuple[list[Unit], str]:
        """The units of a 范围 (see `Units.scope`), and how to describe it."""
        units, desc = await self.units.scope([text])
        return units, desc or "全部单位"

    async def create(self, new: NewReturn, *, actor: str) -> Created:
        """Store a return, fix the units that owe it, owe its reminders and announce it, in one transaction."""
        if new.deadline <= clock.now():
            raise UserError("截止时间已经过去了，请给一个将来的时间，如：明天18点、周五17:30。")
        units, scope = await self.scope_units(new.scope)
        if not units:
            raise UserError("名册里还没有单位，无法发起报送。请先用 /单位 添加 或导入名册。")
        groups = self.engine.groups()
        async with self.db.tx() as tx:
            now = clock.now_db()
            rid = await tx.run(
                "INSERT INTO returns (title, note, deadline, scope, created_by, created_at, form, wants_scan) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (new.title, new.note, clock.to_db(new.deadline), scope, actor, now, new.form, int(new.scan)),
            )
            await tx.many("INSERT INTO return_units (return_id, unit_id) VALUES (?, ?)", [(rid, u.id) for u in units])
            labels = await self.engine.schedule(tx, rid, new.deadline)
            ret = await self._get(tx, rid)
            await self.engine.announce(tx, rid, announcement(ret, len(units)))
            await audit(tx, actor, "报送新建", f"#{rid} {new.title} 截止 {clock.show(new.deadline)} 范围 {scope}")
        return Created(ret, len(units), groups, labels)

    async def close(self, return_id: int, *, actor: str) -> Progress:
        """End a return early or after its deadline: no more submissions from operators, no more reminders."""
        async with self.db.tx() as tx:
            ret = await self._get(tx, return_id)
            if not ret.open:
                raise UserError(f"报送 {ret.label} 已经结束了。")
            await tx.run(
                "UPDATE returns SET state='已结束', closed_by=?, closed_at=? WHERE id=?",
                (actor, clock.now_db(), return_id),
            )
            await self.engine.ended(tx, ret, actor=actor, action="报送结束", why="报送已结束")
            return await self._progress(tx, return_id)

    # ------------------------------------------------------------ submitting

    async def submit(
        self, user_id: str, user_name: str, return_id: int | None = None, note: str = "", *, reply_to: str | None = None
    ) -> Submitted:
        """An operator marks their own unit's return as submitted.

        Args:
            return_id: which return; None means the one the quoted message was about, else the only one
                the unit still owes.
            reply_to: the id of the bot message the command quoted, if any.

        Raises:
            UserError: not bound, no such return, closed, not in its 范围, or several to choose from.
        """
        bound = await self.units.operator(user_id)
        if bound is None:
            raise UserError(
                "你还没有绑定单位，不能报送。请先发 /注册 <单位名称> 申请成为联络员，如：/注册 郑州大学，"
                "审核通过后再发 /已报送 <编号>。"
            )
        _, unit = bound
        if return_id is None and reply_to:
            return_id = await self.from_message(reply_to)
        if return_id is None:
            return_id = await self._owed_one(unit)
        ret = await self.get(return_id)
        if ret.wants_files and ret.open:
            raise UserError(
                f"报送 {ret.label} 要交文件：请把填好的文件上传到群文件或私聊发给机器人，机器人检查后自动记为已报送。"
                f"发 /报送 表格 {ret.id} 领取本单位的表格。"
            )
        return await self._mark(return_id, unit, user_id, user_name, BY_SELF, note)

    async def register(self, return_id: int, unit_name: str, *, actor: str, actor_name: str = "") -> Submitted:
        """An admin marks a unit submitted (received another way, e.g. by e-mail); works after the end too."""
        unit = await self.units.resolve(unit_name, strict=True)
        return await self._mark(return_id, unit, actor, actor_name, BY_ADMIN, "")

    async def _owed_one(self, unit: Unit) -> int:
        owed = await self.open_for_unit(unit.id)
        todo = [r for r, sub in owed if sub is None]
        if len(todo) == 1:
            return todo[0].id
        if not todo:
            done = "、".join(r.label for r, _ in owed)
            extra = f"（{done} 已报送）" if done else ""
            raise UserError(f"“{unit.name}”现在没有待报送的任务{extra}。发 /报送 查看进行中的报送。")
        listed = "；".join(f"{r.label} 截止 {clock.show(r.deadline)}" for r in todo[:10])
        raise UserError(f"“{unit.name}”有 {len(todo)} 个报送待完成，请写出编号：{listed}。如：/已报送 {todo[0].id}")

    async def _mark(self, return_id: int, unit: Unit, by: str, by_name: str, via: str, note: str) -> Submitted:
        async with self.db.tx() as tx:
            return await self.mark_in(tx, return_id, unit, by, by_name, via, note)

    async def mark_in(
        self, tx: Tx, return_id: int, unit: Unit, by: str, by_name: str, via: str, note: str
    ) -> Submitted:
        """Mark a unit submitted inside the caller's transaction (a file handed in is stored in the same one)."""
        note = clean_text(note)[:MAX_NOTE]
        ret = await self._get(tx, return_id)
        if not ret.open and via == BY_SELF:
            raise UserError(f"报送 {ret.label} 已结束，不再接收。如需补报，请联系管理员登记。")
        row = await tx.one(
            "SELECT ru.*, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
            "WHERE ru.return_id=? AND ru.unit_id=?",
            (return_id, unit.id),
        )
        if row is None:
            raise UserError(f"“{unit.name}”不在报送 {ret.label} 的范围（{ret.scope}）内，不用报送。")
        new = not row["submitted_at"]
        if new:
            now = clock.now()
            late = now > ret.deadline
            await tx.run(
                "UPDATE return_units SET submitted_at=?, submitted_by=?, submitted_by_name=?, via=?, note=?, late=? "
                "WHERE return_id=? AND unit_id=?",
                (clock.to_db(now), by, by_name, via, note, int(late), return_id, unit.id),
            )
            what = "报送登记" if via == BY_ADMIN else "已报送"
            await audit(tx, by, what, f"{ret.label}{'（逾期）' if late else ''} {note}".strip(), unit.id)
            row = await tx.one(
                "SELECT ru.*, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
                "WHERE ru.return_id=? AND ru.unit_id=?",
                (return_id, unit.id),
            )
        counts = await tx.one(
            "SELECT COUNT(ru.submitted_at) AS done, "
            "SUM(ru.submitted_at IS NOT NULL OR u.deleted_at IS NULL) AS total "
            "FROM return_units ru JOIN units u ON u.id=ru.unit_id WHERE ru.return_id=?",
            (return_id,),
        )
        return Submitted(ret, unit, _submission(row), new, counts["done"], counts["total"] or 0)

    # ------------------------------------------------------------ nudging

    async def _owing(self, tx: Tx, ret: Return) -> Owing:
        """Units not done (deleted ones left out) and their operators, read inside the caller's transaction."""
        units = [
            _unit(r)
            for r in await tx.all(
                "SELECT ru.unit_id, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
                "WHERE ru.return_id=? AND ru.submitted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id",
                (ret.id,),
            )
        ]
        return await self.engine.owing(tx, units)

    def _nudges(self, ret: Return, owing: Owing, *, overdue: bool, manual: bool) -> list[Outgoing]:
        """@-mentions of the operators of units not done; units with nobody to @ are named in the group instead."""
        header = _nudge_header(ret, len(owing.units), owing.operators, overdue=overdue, manual=manual)
        overdue = overdue or ret.deadline <= clock.now()
        out = self.engine.messages(NudgeText(header, _footer(ret), _private_text(ret, overdue)), owing)
        orphans = [u.name for u in owing.orphans]
        if orphans and not owing.operators:
            msg = Msg(header).line(cut_list(orphans, self.settings.alliance_group_list_limit)).line(_footer(ret))
            out.extend(("group", g, msg) for g in self.engine.groups())
        return out

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The reminder handler: who is still owed is read now, inside the engine's transaction."""
        row = await tx.one("SELECT * FROM returns WHERE id=?", (rem.task_id,))
        if row is None:
            return []
        ret = _return(row)
        if not ret.open:
            return []
        owing = await self._owing(tx, ret)
        if not owing.units:
            return []
        return self._nudges(ret, owing, overdue=rem.overdue, manual=False)

    async def nudge(self, return_id: int, *, actor: str) -> Nudged:
        """An admin's 催办: @-mention the operators of the units not done now, in batches."""
        async with self.db.tx() as tx:
            ret = await self._get(tx, return_id)
            if not ret.open:
                raise UserError(f"报送 {ret.label} 已经结束，不用催办。")
            owing = await self._owing(tx, ret)
            if not owing.units:
                raise UserError(f"报送 {ret.label} 的单位都已报送，不用催办。")
            messages = self._nudges(ret, owing, overdue=ret.deadline <= clock.now(), manual=True)
            detail = f"{ret.label} {len(owing.units)} 个单位"
            await self.engine.nudge(
                tx, ret, messages, purpose=RETURN_NUDGE, actor=actor, action="报送催办", detail=detail
            )
        return Nudged(ret, owing.units, len(owing.operators), owing.orphans, len(messages))

    # ------------------------------------------------------------ as reports, exports and the dashboard see tasks

    async def lines(self, *, include_closed: bool = True) -> list[TaskLine]:
        return [self.line(ret, done, total) for ret, done, total in await self.listing(include_closed=include_closed)]

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]:
        now = clock.now_db()
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT r.id, r.title, r.deadline, r.state, ru.submitted_at AS done_at, ru.late FROM return_units ru "
                "JOIN returns r ON r.id=ru.return_id WHERE ru.unit_id=? ORDER BY r.deadline DESC LIMIT ?",
                (unit_id, limit),
            )
        return [self.history_line(r, now) for r in rows]

    async def people(self) -> list[tuple[str, str]]:
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT submitted_by, submitted_by_name FROM return_units WHERE submitted_by IS NOT NULL"
            )
        return [(r[0], r[1]) for r in rows]

    async def view(self, task_id: int) -> TaskView:
        p = await self.progress(task_id)
        ret = p.ret
        done = [
            TaskDone(
                s.unit,
                person_label(s.by_name, s.by),
                clock.stamp(s.at),
                s.late,
                "；".join(x for x in (s.via if s.via != BY_SELF else "", s.note) if x),
            )
            for s in p.done
        ]
        return self.task_view(ret, done, list(p.pending), note=ret.note)
