"""报送 in words: usage, the announcement, progress, reminders and nudges. All user-facing text of 报送 that is not an error lives here or in bot/returns/parse.py."""

from __future__ import annotations

from collections.abc import Sequence

from bot import clock
from bot.nudge import who_owes
from bot.reminders import describe_left
from bot.render import Msg, cut_list, percent
from bot.returns.records import (
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
    "要交文件时加：表格 统计表|汇总表|备案表|模板，和/或 扫描件，"
    "例：/报送 新建 2026年新媒体统计 截止 10-31 17:30 表格 统计表,扫描件"
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
        return out
    out.line(f"报送后请联络员给本条消息点个 👍 或 OK 表情，或回复（引用）本条“已报送”，或发送：/已报送 {ret.id} [备注]")
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


def render_progress(p: Progress[Return, Submission], limit: int | None) -> Msg:
    ret = p.task
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


def _footer(ret: Return, *, group: bool = True) -> str:
    """The line under a reminder: how to hand in (a reaction counts only on the group's message)."""
    if ret.wants_files:
        return f"请把填好的文件上传到群文件或私聊发给机器人；发 /报送 表格 {ret.id} 领取本单位的表格。"
    if group:
        return f"报送后请给本条消息点个 👍，或发：/已报送 {ret.id} [备注]"
    return f"报送后请发：/已报送 {ret.id} [备注]"


def files_not_by_reaction(ret: Return) -> str:
    """Said privately, once, to someone who reacted to the notice of a return that asks for files."""
    table = f"发 /报送 表格 {ret.id} 可领取本单位的表格。" if ret.form else ""
    return (
        f"报送 {ret.label}要交文件，表情回应不算报送：请把填好的文件上传到群文件或私聊发给机器人，"
        f"机器人检查后自动记为已报送。{table}"
    )


def _private_text(ret: Return, overdue: bool) -> str:
    when = (
        f"已于 {clock.show(ret.deadline)} 截止" if overdue else f"将于 {clock.show(ret.deadline)} 截止（{_left(ret)}）"
    )
    return f"【报送提醒】你所在的单位还没有报送 {ret.label}，{when}。{_footer(ret, group=False)}"
