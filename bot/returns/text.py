"""报送 in words: usage, the announcement, progress, reminders and nudges. All user-facing text of 报送 that is not an error lives here or in bot/returns/parse.py."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from bot import clock
from bot.nudge import who_owes
from bot.reminders import describe_left
from bot.render import Msg, cut_list, percent
from bot.returns.records import (
    TEMPLATE,
    Owed,
    Return,
    Submission,
)
from bot.tasks import (
    Progress,
    by_category,
)
from bot.units.records import Operator, Unit

USAGE_NEW = (
    "/报送 新建 <标题> 截止 <时间> [范围 <类别或地市,…>] [说明]\n"
    "例：/报送 新建 2026年秋季新媒体统计表 截止 11-25 18:00 请按附件格式填写\n"
    "例：/报送 新建 高校账号自查表 截止 周五17:30 范围 本科高校,高职高专\n"
    "要交文件时加：表格 统计表|汇总表|备案表|模板（几张表都要交就用逗号隔开，交齐才算已报送），和/或 扫描件，"
    "例：/报送 新建 2026年新媒体统计 截止 10-31 17:30 表格 统计表,汇总表,扫描件\n"
    "由各市先收齐审核再上报时加：逐级汇总，例：/报送 新建 2026年新媒体统计 截止 10-31 17:30 表格 统计表 逐级汇总"
)


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
        if ret.by_level:
            out.line(
                "本报送逐级汇总：各市所属单位交的文件由本市教育局审核（接受或退回修改），汇总后由市教育局上报；"
                "高校、省直单位等直属单位直接交给省里。"
            )
        return out
    out.line(f"报送后请联络员给本条消息点个 👍 或 OK 表情，或回复（引用）本条“已报送”，或发送：/已报送 {ret.id} [备注]")
    return out


def _files_wanted(ret: Return) -> str:
    """What to send and how, for a return that asks for files."""
    parts = []
    official = [f for f in ret.forms if f != TEMPLATE]
    if official:
        each = "，每张表一个文件" if len(official) > 1 else ""
        parts.append(f"{'、'.join(official)}（.xlsx 或 .xls，按官方格式{each}）")
    if TEMPLATE in ret.forms:
        parts.append("按管理员提供的模板填写的表格（.xlsx 或 .xls）")
    if ret.wants_scan:
        parts.append("首页加盖单位公章的扫描件（PDF 或图片）")
    how = (
        f"请联络员把{join_and(parts)}直接上传到本群文件（或私聊发给机器人），文件名写上单位名称，"
        "如 20261030郑州大学新媒体统计.xlsx；机器人会当场检查并回复。"
    )
    if len(ret.forms) > 1:
        how += f"{_count_word(len(ret.forms))}张表都交齐才算已报送。"
    if ret.forms:
        how += f"发 /报送 表格 {ret.id} 可领取本单位的表格" + (
            "（已按登记信息预填，核对修改即可）。" if ret.forms != (TEMPLATE,) else "。"
        )
    return how


def _count_word(n: int) -> str:
    return {2: "两", 3: "三", 4: "四"}.get(n, str(n))


def join_and(names: Sequence[str]) -> str:
    """`甲`, `甲和乙`, `甲、乙和丙`."""
    names = list(names)
    return "、".join(names[:-1]) + "和" + names[-1] if len(names) > 1 else "".join(names)


def form_label(form: str) -> str:
    """How a form is called to a unit: `统计表`, and the admin's template as `模板表格`."""
    return "模板表格" if form == TEMPLATE else form


def owed_files(ret: Return, owed: Owed | None = None) -> str:
    """`统计表、汇总表和盖章扫描件`: what a unit (still) hands in for a file return."""
    o = owed or Owed(ret.forms, (), ret.wants_scan)
    names = [form_label(f) for f in o.forms] + (["盖章扫描件"] if o.scan else [])
    return join_and(names) or "文件"


def how_to_hand_in(ret: Return, owed: Owed | None = None) -> str:
    """The one instruction for a unit that has not handed in: `报送后发 /已报送 3`, or for a file return which files
    to upload where (and how to fetch the forms)."""
    if not ret.wants_files:
        return f"报送后发 /已报送 {ret.id}"
    o = owed or Owed(ret.forms, (), ret.wants_scan)
    text = f"请把{owed_files(ret, o)}上传到群文件或私聊发给机器人"
    if o.forms:
        text += f"（发 /报送 表格 {ret.id} 领取本单位的表格）"
    return text


def unit_state(ret: Return, owed: Owed | None) -> str:
    """`未报送` or, when some of several forms are in, `未交齐（已交统计表）`."""
    if owed is not None and owed.have:
        return f"未交齐（已交{'、'.join(form_label(f) for f in owed.have)}）"
    return "未报送"


def category_lines(units: list[Unit], limit: int | None) -> list[str]:
    """`【本科高校】郑州大学、河南大学` lines, categories in their usual order, each cut at `limit` names."""
    return [f"【{cat}】{cut_list([u.name for u in group], limit)}" for cat, group in by_category(units)]


def render_progress(p: Progress[Return, Submission], limit: int | None) -> Msg:
    ret = p.task
    state = "" if ret.open else "（已结束）"
    out = Msg(f"报送 {ret.label}{state}")
    out.line(f"截止：{clock.show(ret.deadline)}（{_left(ret)}）　范围：{ret.scope}")
    late = f"，其中逾期 {p.late}" if p.late else ""
    out.line(f"已报送 {len(p.done)}/{p.total}（{percent(len(p.done), p.total)}）{late}")
    if ret.wants_files:
        out.line(_each_unit_hands_in(ret))
    if p.pending:
        out.line(f"未报送（{len(p.pending)}）：")
        for line in category_lines(starred(p.pending, p.unstaffed), limit):
            out.line(line)
        if p.fixing:
            fixing = [u.name for u in p.pending if u.id in p.fixing]
            out.line(f"其中需修改（{len(fixing)}，已交文件但有问题）：{cut_list(fixing, limit)}")
        if p.owes:
            part = [f"{u.name}（还差{'、'.join(map(form_label, p.owes[u.id]))}）" for u in p.pending if u.id in p.owes]
            out.line(f"其中已交一部分（{len(part)}）：{cut_list(part, limit)}")
        if p.unstaffed:
            out.line(UNSTAFFED_NOTE.format(n=len(p.unstaffed)))
    elif p.total:
        out.line("全部单位都已报送。")
    return out


UNSTAFFED_NOTE = "带 * 的 {n} 个单位没有联络员，没有人能报送，催办时也无法 @，需另行联系。"


def starred(units: Sequence[Unit], unstaffed: Collection[int]) -> list[Unit]:
    """The units, those with no operator named with a `*` (`UNSTAFFED_NOTE` says what it means)."""
    return [replace(u, name=f"{u.name}*") if u.id in unstaffed else u for u in units]


def _each_unit_hands_in(ret: Return) -> str:
    """`每个单位要交：统计表、汇总表（交齐才算已报送）；另交盖章扫描件`."""
    forms = "、".join(map(form_label, ret.forms))
    if not forms:
        return "每个单位要交：盖章扫描件"
    return (
        f"每个单位要交：{forms}"
        + ("（交齐才算已报送）" if len(ret.forms) > 1 else "")
        + ("；另交盖章扫描件" if ret.wants_scan else "")
    )


def nudge_header(ret: Return, pending: int, ops: Sequence[Operator], *, overdue: bool, manual: bool = False) -> str:
    if overdue or ret.deadline <= clock.now():
        return f"【报送逾期】{ret.label}已于 {clock.show(ret.deadline)} 截止，{who_owes(pending, ops, '没有报送')}"
    kind = "催办" if manual else "提醒"
    return (
        f"【报送{kind}】{ret.label}将于 {clock.show(ret.deadline)} 截止（{_left(ret)}），"
        f"{who_owes(pending, ops, '没有报送')}"
    )


def footer(ret: Return, *, group: bool = True) -> str:
    """The line under a reminder: how to hand in (a reaction counts only on the group's message)."""
    if ret.wants_files:
        whole = "（交齐才算已报送）" if len(ret.forms) > 1 else ""
        fetch = f"；发 /报送 表格 {ret.id} 领取本单位的表格" if ret.forms else ""
        return f"请把{owed_files(ret)}上传到群文件或私聊发给机器人{whole}{fetch}。"
    if group:
        return f"报送后请给本条消息点个 👍，或发：/已报送 {ret.id} [备注]"
    return f"报送后请发：/已报送 {ret.id} [备注]"


def files_not_by_reaction(ret: Return) -> str:
    """Said privately, once, to someone who reacted to the notice of a return that asks for files."""
    return f"报送 {ret.label}要交文件，表情回应不算报送：{files_needed(ret)}"


def files_needed(ret: Return, owed: Owed | None = None) -> str:
    """The sentence for someone who tried to confirm a file return another way: which files to upload, where."""
    table = f"发 /报送 表格 {ret.id} 可领取本单位的表格。" if (owed.forms if owed else ret.forms) else ""
    return (
        f"请把填好的{owed_files(ret, owed)}上传到群文件或私聊发给机器人，"
        f"机器人{'检查，交齐后' if len(ret.forms) > 1 else '检查后'}自动记为已报送。{table}"
    )


def private_text(ret: Return, overdue: bool) -> str:
    when = (
        f"已于 {clock.show(ret.deadline)} 截止" if overdue else f"将于 {clock.show(ret.deadline)} 截止（{_left(ret)}）"
    )
    return f"【报送提醒】你所在的单位还没有报送 {ret.label}，{when}。{footer(ret, group=False)}"
