"""一键统发 in words: usage, the announcement, progress and nudges, how confirmations are named in tables. All user-facing text of 统发 that is not an error lives here or in bot/broadcasts/parse.py."""

from __future__ import annotations

from collections.abc import Sequence

from bot import clock
from bot.broadcasts.records import (
    Done,
    Task,
)
from bot.nudge import who_owes
from bot.reminders import describe_left
from bot.render import Msg
from bot.tasks import (
    NudgeText,
    Progress,
    by_category,
)
from bot.units.records import Operator

USAGE = (
    "/统发 <标题> <链接> [截止 <时间>] [要求 转发,点赞,评论,在看] [范围 <类别或地市,…>]\n"
    "例：/统发 学习全国教育大会精神 https://mp.weixin.qq.com/s/xxxx 截止 明天18点 要求 转发,点赞 范围 本科高校,高职高专"
)


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


def progress_message(p: Progress[Task, Done], limit: int | None) -> Msg:
    """`已完成 x/y（p%）`, then the units not done by category; past `limit` names, a count of the rest."""
    t = p.task
    when = describe_left(t.deadline, clock.now()) if t.is_open else t.state
    m = Msg(f"统发 {t.label} 截止 {clock.show(t.deadline)}（{when}）")
    m.line(f"已完成 {len(p.done)}/{p.total}（{p.percent}）" + (f"，其中逾期 {p.late} 个" if p.late else ""))
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


def nudge_text(task: Task, pending: int, ops: Sequence[Operator], *, auto: bool) -> NudgeText:
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


# how a confirmation came, as the dashboard and exports say it
VIA = {"admin": "管理员代确认", "reply": "回复确认", "reaction": "表情确认", "command": ""}
