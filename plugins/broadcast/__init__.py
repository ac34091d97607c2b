"""一键统发: /统发 and its sub-commands, /已转发, and confirming by replying to the announcement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from nonebot import logger
from nonebot.plugin import PluginMetadata

from bot import clock
from bot.broadcasts.parse import parse_draft
from bot.broadcasts.records import Stats, Summary, WhichTask
from bot.broadcasts.text import USAGE, progress_message
from bot.config import Settings
from bot.errors import UserError
from bot.parse import TIME_FORMS
from bot.readouts.views import rates_card, task_progress_card
from bot.reminders import describe_left
from bot.render import Msg, lines_cut, percent, person_name, span
from bot.roles import Role
from bot.tasks import Progress, by_category
from bot.titles import DEAD, OK, UNREACHABLE
from plugins._client import caught_up
from plugins._ctx import Ctx
from plugins._progress import progress_answer, rest_of_list
from plugins._registry import admins, command, sub
from plugins._reply import Reply, kept_card, laggards_to_admin, orphans_to_admin, picture_or_text
from plugins._roles import ANYONE, OPERATOR
from plugins._rollup import Words, in_area, progress_view, take_area
from plugins._topics import Topic


def _help(s: Settings) -> str:
    return (
        "/统发 进度 [编号] — 已完成多少、哪些单位还没完成（群里单位多时发图片；加“文字”发文字，如：/统发 进度 3 文字）\n"
        "/统发 统计 [月份] — 各单位的完成率，最好和最差的，如：/统发 统计 11月\n"
        "管理员：\n"
        f"{USAGE}\n"
        f"截止时间可写：{TIME_FORMS}；不写截止时间，就是发布后 {span(s.broadcast_deadline, hours_up_to=48)}截止\n"
        "范围写单位类别或地市，多个用逗号隔开；类别和地市都写时取交集，如：范围 高中,初中 郑州\n"
        "/统发 列表 — 进行中的统发\n"
        f"/统发 催办 [编号] [强制] — @ 还没完成的单位的联络员（分批发，每条最多 @ {s.alliance_at_batch} 人；"
        "刚自动提醒过时不重复，加“强制”照发）\n"
        "/统发 代确认 <编号> <单位…> — 替用其他方式报告的单位确认，如：/统发 代确认 3 郑州大学\n"
        "/统发 结束 <编号> — 提前结束，不再提醒\n"
        "/统发 撤回 <编号> — 撤回任务并通知各群，完成率统计不再计入"
    )


HELP = [
    Topic("统发", ANYONE, "一键统发：查看进度和完成率；管理员发布、催办、结束、撤回", _help),
    Topic(
        "已转发",
        OPERATOR,
        "确认本单位已完成统发（也可以直接回复统发通知“已转发”）",
        "/已转发 [编号] [证明链接] — 只有一个进行中的统发时可以不写编号\n"
        "例：/已转发\n例：/已转发 3\n例：/已转发 3 https://weibo.com/xxxx\n例：/已转发 2，5（一次确认几个）\n"
        "也可以直接回复（引用）统发通知或催办消息：已转发 / 已完成 / 转发了（只回“收到”表示收到了通知，不算完成）\n"
        "或者给统发通知、催办消息点一个 👍 或 OK 表情（表情回应），效果相同\n"
        "消息里带截图会作为证明保存（截图不是必须的）。每个单位只计一次，其他联络员再确认会提示已确认。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="一键统发",
    description="统发任务的发布、确认、进度、催办和统计",
    usage="/统发 <标题> <链接> [截止 <时间>] [要求 …] [范围 …]\n/统发 进度|催办|代确认|列表|结束|撤回|统计\n"
    "/已转发 [编号] [证明链接]，或回复统发通知“已转发”",
    extra={"help": HELP},
)


# ---------------------------------------------------------------- /统发


def _summary_line(s: Summary) -> str:
    t = s.task
    state = "" if t.is_open else f"【{t.state}】"
    return f"#{t.id}「{t.title}」{state}截止 {clock.show(t.deadline)}，已完成 {s.done}/{s.total}（{percent(s.done, s.total)}）"


async def create(ctx: Ctx) -> Msg:
    draft = parse_draft(ctx.args, clock.now(), ctx.app.settings.broadcast_deadline)
    page = await ctx.app.fetch_page(draft.url) if ctx.app.fetch_page is not None else None
    if page is not None and page.state == DEAD:
        raise UserError(
            f"链接打不开（{page.reason}，文章可能已删除），没有发布。请检查链接后重发：/统发 <标题> <正确的链接>"
        )
    title = page.title if page is not None and page.state == OK else None
    c = await ctx.app.broadcasts.create(draft, actor=ctx.user_id, article_title=title, scope=ctx.scope)
    t = c.task
    out = Msg(
        f"已发布统发 #{t.id}「{t.title}」：{c.units} 个单位需完成，截止 {clock.show(t.deadline)}，"
        f"已在 {c.groups} 个联盟群发出通知。查看进度：/统发 进度 {t.id}"
    )
    if title:
        out.line(f"原文标题：《{title}》")
    elif page is not None and page.state == UNREACHABLE:
        out.line(f"注意：机器人没能打开这个链接（{page.reason}），已照常发布，请自己确认链接无误。")
    return out


async def overview(ctx: Ctx) -> Msg:
    if ctx.args:
        return await create(ctx)
    open_tasks = await ctx.app.broadcasts.listing()
    out = Msg(f"进行中的统发 {len(open_tasks)} 个：" if open_tasks else "现在没有进行中的统发。")
    for line in lines_cut([_summary_line(s) for s in open_tasks], ctx.limit):
        out.line(line)
    out.line("查看进度：/统发 进度 [编号]；完成率：/统发 统计 [月份]")
    if ctx.role >= Role.CITY_ADMIN:
        out.line("发布：" + USAGE.split("\n")[0])
    return out


async def progress(ctx: Ctx) -> Reply:
    ctx.take_format()
    area = take_area(ctx)
    if len(ctx.args) > 1:
        raise UserError("用法：/统发 进度 [编号] [城市]，如：/统发 进度 3、/统发 进度 3 郑州")
    task_id = ctx.int_arg(ctx.args[0]) if ctx.args else None
    await caught_up(ctx.app.broadcasts, task_id)
    try:
        p = await ctx.app.broadcasts.progress(task_id)
    except WhichTask:
        open_tasks = await ctx.app.broadcasts.listing()
        out = Msg(f"进行中的统发 {len(open_tasks)} 个：")
        for line in lines_cut([_summary_line(s) for s in open_tasks], ctx.limit):
            out.line(line)
        out.line(f"看某一个的未完成单位：/统发 进度 <编号>，如：/统发 进度 {open_tasks[-1].task.id}")
        return out
    view = await progress_view(ctx, p, area, BROADCAST_WORDS, _progress_head, _progress_subtitle(p))
    if view.answer is not None:
        return view.answer
    p, where = view.progress, f"{view.where} · " if view.where else ""
    t = p.task
    asked = f"/统发 进度 {t.id}" + (f" {area}" if area else "")
    return await progress_answer(
        ctx,
        len(p.pending),
        in_area(view.where, progress_message(p, ctx.limit)),
        kept_card(
            (p,),
            (t.title, where, _progress_subtitle(p), rest_of_list(ctx, asked)),
            lambda: task_progress_card(
                f"统发进度 · #{t.id}「{t.title}」",
                where + _progress_subtitle(p),
                p,
                pending=[replace(u, name=f"{u.name}*") if u.id in p.unstaffed else u for u in p.pending],
                full_list=rest_of_list(ctx, asked),
            ),
        ),
        lambda: in_area(view.where, progress_message(p, None)),
        asked,
    )


BROADCAST_WORDS = Words("/统发 进度", "统发进度", "未完成", "已完成")


def _progress_subtitle(p: Progress) -> str:
    t = p.task
    return (
        f"截止 {clock.show(t.deadline)} · 已完成 {len(p.done)}/{p.total}（{p.percent}）"
        + (f"，其中逾期 {p.late} 个" if p.late else "")
        + (f" · 带 * 的 {len(p.unstaffed)} 个单位没有联络员" if p.unstaffed else "")
    )


def _progress_head(p: Progress) -> Msg:
    """The first lines of a 统发's progress (the task, the overall figure), above its roll-up."""
    t = p.task
    when = describe_left(t.deadline, clock.now()) if t.is_open else t.state
    out = Msg(f"统发 {t.label} 截止 {clock.show(t.deadline)}（{when}）")
    return out.line(f"已完成 {len(p.done)}/{p.total}（{p.percent}）" + (f"，其中逾期 {p.late} 个" if p.late else ""))


def _task_arg(ctx: Ctx, usage: str, *, required: bool) -> int | None:
    if len(ctx.args) > 1 or (required and not ctx.args):
        raise UserError(f"用法：{usage}")
    return ctx.int_arg(ctx.args[0]) if ctx.args else None


async def nudge(ctx: Ctx) -> Reply:
    force = ctx.take_force()
    task_id = _task_arg(ctx, "/统发 催办 [编号] [强制]，如：/统发 催办 3", required=False)
    await caught_up(ctx.app.broadcasts, task_id)
    r = await ctx.app.broadcasts.nudge(task_id, actor=ctx.user_id, force=force, scope=ctx.scope)
    t = r.task
    if r.pending_units == 0:
        return Msg(f"统发 #{t.id}「{t.title}」所有单位都已完成，不需要催办。")
    if r.operators:
        out = Msg(
            f"已催办统发 #{t.id}：{r.pending_units} 个单位未完成，@ 了 {r.operators} 位联络员（{r.messages} 条消息）。"
        )
    else:
        out = Msg(f"统发 #{t.id} 还有 {r.pending_units} 个单位未完成，但它们都没有绑定联络员，无法 @。")
    if r.orphans:
        return orphans_to_admin(ctx, out, f"统发 #{t.id} 未完成", r.orphans)
    return out


async def confirm_for(ctx: Ctx) -> Msg:
    if len(ctx.args) < 2:
        raise UserError("用法：/统发 代确认 <编号> <单位…>，如：/统发 代确认 3 郑州大学 河南大学")
    task_id = ctx.int_arg(ctx.args[0])
    results = await ctx.app.broadcasts.confirm_for(
        task_id, ctx.args[1:], actor=ctx.user_id, actor_name=ctx.name, scope=ctx.scope
    )
    out = Msg()
    for c in results:
        if c.counted:
            late = "（逾期）" if c.late else ""
            out.line(f"已代“{c.unit.name}”确认统发 #{c.task.id}{late}。")
        else:
            when = clock.show(c.first_at) if c.first_at else ""
            out.line(f"“{c.unit.name}”已由 {person_name(c.first_name)} 在 {when} 确认过，未重复计数。")
    return out


async def listing(ctx: Ctx) -> Msg:
    if ctx.args and ctx.args[0] in ("全部", "所有"):
        tasks = await ctx.app.broadcasts.listing(include_closed=True)
        title = f"最近的统发 {len(tasks)} 个："
    else:
        tasks = await ctx.app.broadcasts.listing()
        title = f"进行中的统发 {len(tasks)} 个："
    if not tasks:
        return Msg("现在没有进行中的统发。发布：" + USAGE.split("\n")[0] + "；看已结束的：/统发 列表 全部")
    out = Msg(title)
    for line in lines_cut([_summary_line(s) for s in tasks], ctx.limit):
        out.line(line)
    return out


async def close(ctx: Ctx) -> Reply:
    task_id = _task_arg(ctx, "/统发 结束 <编号>，如：/统发 结束 3", required=True)
    assert task_id is not None
    p = await ctx.app.broadcasts.close(task_id, actor=ctx.user_id, scope=ctx.scope)
    out = Msg(f"已结束统发 #{p.task.id}「{p.task.title}」：最终完成 {len(p.done)}/{p.total}（{p.percent}），不再提醒。")
    groups = by_category(p.pending)
    full = [f"【{cat}】{'、'.join(u.name for u in units)}" for cat, units in groups]
    return laggards_to_admin(ctx, out, "未完成", [u.name for _, units in groups for u in units], full)


async def withdraw(ctx: Ctx) -> Msg:
    task_id = _task_arg(ctx, "/统发 撤回 <编号>，如：/统发 撤回 3", required=True)
    assert task_id is not None
    task, ids = await ctx.app.broadcasts.withdraw(task_id, actor=ctx.user_id, scope=ctx.scope)
    recalled = 0
    for mid in ids:  # best effort: QQ lets a bot recall only recent messages unless it is a group admin
        try:
            await ctx.bot.delete_msg(message_id=int(mid))
            recalled += 1
        except Exception as e:
            logger.info(f"could not recall announcement {mid}: {e!r}")
    out = Msg(f"已撤回统发 #{task.id}「{task.title}」，已在联盟群发出撤回通知，它不再计入完成率。")
    if ids and recalled == len(ids):
        out.line("群里的原通知也已撤回。")
    elif ids:
        left = len(ids) - recalled
        out.line(
            f"原通知还有 {left} 条没能撤回（机器人不是群管理员时，只能撤回自己 2 分钟内发的消息）。"
            "下一步：请群主或群管理员在群里长按那条【一键统发】通知，选“撤回”；"
            "不撤回也不要紧，撤回通知已说明不需要再转发。"
        )
    else:
        out.line(
            "原通知的消息编号没有记录下来（可能还没发出或发送超时）：请到群里看一眼，如已发出，请群管理员手动撤回。"
        )
    return out


async def stats(ctx: Ctx) -> Reply:
    ctx.take_format()
    s = await ctx.app.broadcasts.stats.statistics(" ".join(ctx.args))
    if not s.tasks:
        return Msg(f"{s.label}没有统发任务（撤回的不计）。换个月份试试，如：/统发 统计 上月")
    if not s.rows:
        return Msg(f"{s.label}统发 {s.tasks} 次（{_counted(s)}），还没有可以统计的完成情况。")
    limit = ctx.app.settings.alliance_picture_rows
    return await picture_or_text(
        ctx,
        len(s.rows),
        _stats_text(ctx, s),
        lambda: rates_card(
            f"统发完成率 · {s.label}",
            f"统发 {s.tasks} 次（{_counted(s)}），总完成 {s.done}/{s.owed}（{percent(s.done, s.owed)}）",
            [(r.name, r.done, r.owed, r.late) for r in s.rows],
            limit,
        ),
    )


def _counted(s: Stats) -> str:
    running = f"；其中 {s.running} 个还没到截止时间，只算已完成的单位" if s.running else ""
    return f"撤回的不计{running}"


def _stats_text(ctx: Ctx, s: Stats) -> Msg:
    out = Msg(f"{s.label}统发 {s.tasks} 次（{_counted(s)}），总完成 {s.done}/{s.owed}（{percent(s.done, s.owed)}）")

    def line(i: int, r) -> str:
        late = f"，逾期 {r.late}" if r.late else ""
        return f"{i}. {r.name} {r.done}/{r.owed}（{percent(r.done, r.owed)}{late}）"

    rows = s.rows
    k = 10
    if ctx.limit is None or len(rows) <= 2 * k:
        out.line(f"各单位完成率（{len(rows)} 个，从高到低）：")
        for i, r in enumerate(rows, 1):
            out.line(line(i, r))
        return out
    best = [r for r in rows[:k] if r.done]  # a unit that did nothing is never among the best
    if best:
        out.line("完成最好：")
        for i, r in enumerate(best, 1):
            out.line(line(i, r))
    else:
        out.line("还没有单位完成过。")
    out.line("完成最差：")
    for i, r in enumerate(rows[-k:], len(rows) - k + 1):
        out.line(line(i, r))
    out.line(f"……中间另有 {len(rows) - len(best) - k} 个单位未列出（私聊机器人发送同一命令查看全部）")
    return out


BROADCAST_SUBS: dict[str, Callable[[Ctx], Awaitable[Reply]]] = {
    "进度": progress,
    "催办": nudge,
    "代确认": confirm_for,
    "补登": confirm_for,
    "列表": listing,
    "结束": close,
    "撤回": withdraw,
    "统计": stats,
}


# who may use each sub-command (any other word: anyone; a title and a link, i.e. publishing: admins)
BROADCAST_MAY = {
    "进度": Role.MEMBER,
    "统计": Role.MEMBER,
    "催办": admins("催办统发", Role.CITY_ADMIN),
    "代确认": admins("代单位确认统发", Role.CITY_ADMIN),
    "补登": admins("代单位确认统发", Role.CITY_ADMIN),
    "列表": admins("查看统发列表", Role.CITY_ADMIN),
    "结束": admins("结束统发", Role.CITY_ADMIN),
    "撤回": admins("撤回统发", Role.CITY_ADMIN),
}


@command("统发", "一键统发", may=Role.MEMBER, subs=BROADCAST_MAY, with_args=admins("发布统发任务", Role.CITY_ADMIN))
async def broadcast_cmd(ctx: Ctx) -> Reply:
    return await sub(ctx, BROADCAST_SUBS, overview)


# 已转发: the command, a reply to the task's own messages, a bare 已转发, a reaction (plugins/broadcast/confirm.py)
from plugins.broadcast import confirm  # noqa: E402, F401
