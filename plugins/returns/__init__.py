"""Returns: /报送 新建|登记|进度|催办|列表|结束 and /已报送."""

from __future__ import annotations

from dataclasses import replace

from nonebot.adapters.onebot.v11 import Message, MessageEvent, MessageSegment, NoticeEvent
from nonebot.plugin import PluginMetadata

from bot import clock
from bot.app import current_app
from bot.broadcasts.records import norm_id
from bot.config import Settings
from bot.errors import UserError
from bot.parse import leading_numbers, read_number
from bot.readouts.views import task_progress_card
from bot.reminders import OVERDUE, describe_left
from bot.render import Ack, Msg, cut_list, lines_cut, person_name, span
from bot.returns.parse import parse_new, return_in_text, submitted_rest
from bot.returns.records import BY_ADMIN, Owed
from bot.returns.text import USAGE_NEW, category_lines, render_progress, unit_state
from bot.roles import Role
from bot.tasks import Progress, by_category
from plugins._client import caught_up, reaction_of
from plugins._ctx import Ctx
from plugins._notices import notice
from plugins._progress import progress_answer, rest_of_list
from plugins._registry import Command, admins, command, reply_saying, sub, trigger
from plugins._reply import Reply, laggards_to_admin, orphans_to_admin
from plugins._roles import ANYONE, OPERATOR
from plugins._rollup import Words, in_area, progress_view, take_area
from plugins._several import each_number
from plugins._topics import Topic
from plugins.returns import files, levels


def _quiet(s: Settings) -> str:
    q = s.quiet
    return f"（{q[0]:%H:%M}–{q[1]:%H:%M} 不打扰，留到早上发）" if q else ""


HELP = [
    Topic(
        "报送",
        ANYONE,
        "报送任务：进度、列表；管理员可新建、登记、催办、结束",
        lambda s: (
            "/报送 — 进行中的报送（联络员能看到本单位是否已报送）\n"
            "/报送 进度 [编号] — 已报送多少、哪些单位还没报，例：/报送 进度 3（单位多时发图片，加“文字”发文字）\n"
            f"截止前 {'、'.join(span(o) for o in s.remind_offsets) or '（不提前提醒）'}和逾期时，自动提醒还没报送的单位"
            f"{_quiet(s)}。\n"
            "要交文件的报送：把填好的表格直接上传到群文件或私聊发给机器人，机器人当场检查并回复；\n"
            "/报送 表格 [编号] — 领取本单位的表格（按登记信息预填），私聊发给你\n"
            "/报送 文件 <编号> [单位] — 说明刚上传的文件是哪个报送（和哪个单位）的\n"
            "管理员：\n"
            "/报送 列表 [全部] — 进行中的报送；写“全部”连已结束的一起列\n"
            f"{USAGE_NEW}\n"
            "（截止时间可写 2026-11-25 18:00、11月25日18时、明天18点、周五17:30、3天后 等；"
            "范围可选，不写就是全部单位；要交文件时加 表格 统计表|汇总表|备案表|模板 和/或 扫描件）\n"
            "/报送 登记 <编号> <单位…> — 替邮件报送的单位登记，例：/报送 登记 3 郑州大学 河大\n"
            "/报送 催办 [编号] [强制] — @ 还没报送的单位的联络员（刚自动提醒过时不重复，加“强制”照发）\n"
            "/报送 结束 <编号> — 结束报送，不再提醒\n"
            "/报送 表格 <编号> <单位…|全部> — 把预填的表格私聊发给各单位联络员\n"
            "/报送 模板 <编号> — 把你刚上传的表格设为模板；/报送 接受 <编号> <单位> — 接受需修改的文件\n"
            "只有本单位的联络员和管理员能替单位交文件；别人上传的文件记为待确认，不计报送，管理员会私聊收到提醒：\n"
            "/报送 待确认 — 待确认的文件（私聊发给你）；/报送 文件 <编号> <单位> #<文件编号> — 收下其中一个，"
            "例：/报送 文件 3 郑州大学 #12；/报送 丢弃 <文件编号…> — 丢弃\n"
            "逐级汇总的报送（新建时加“逐级汇总”）：各市的单位交给本市教育局，市级管理员审核后上报：\n"
            "/报送 进度 <编号> [城市] — 省里看各市（已上报/汇总中/未开始），市级管理员看本市各单位\n"
            "/报送 退回 <编号> <单位> [原因] — 把单位交的文件退回修改（私聊告诉其联络员）\n"
            "/报送 上报 <编号> [确认] — 把本市已交的单位合并为一个表格上报，记下签收人；有单位没交时加“确认”照报\n"
            "/报送 汇总 <编号> — 合并各单位的表格为一个工作簿；/报送 打包 <编号> — 各单位原件的压缩包（只私聊发给管理员，不发到群里）"
        ),
    ),
    Topic(
        "已报送",
        OPERATOR,
        "确认本单位已完成某个报送",
        "/已报送 <编号> [备注] — 例：/已报送 3 已发邮箱、/已报送 1，3\n"
        "只有一个待报送的任务时可以不写编号；也可以直接回复（引用）报送通知或提醒消息：已报送 / 已完成 / 报送了，"
        "或给它点个 👍 或 OK 表情（要交文件的报送不行：上传文件即可）。\n"
        "截止后仍可报送，会标记为逾期。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="报送",
    description="报送任务、截止提醒与进度",
    usage="/报送 新建|登记|进度|催办|列表|结束|表格|文件|模板|接受|汇总|打包\n/已报送 <编号> [备注]",
    extra={"help": HELP},
)


def _number(ctx: Ctx, usage: str) -> int:
    if not ctx.args:
        raise UserError(f"请写出报送编号。用法：{usage}（编号见 /报送）")
    return ctx.int_arg(ctx.args[0], "报送编号")


async def _number_or_only(ctx: Ctx) -> int:
    if ctx.args:
        return ctx.int_arg(ctx.args[0], "报送编号")
    return (await ctx.app.returns.pick_open()).id


# ---------------------------------------------------------------- admin


async def create(ctx: Ctx) -> Msg:
    if not ctx.args:
        raise UserError(f"用法：\n{USAGE_NEW}")
    new = parse_new(ctx.args, clock.now())
    made = await ctx.app.returns.create(new, actor=ctx.user_id, scope=ctx.scope)
    ret = made.ret
    where = (
        f"已在 {len(made.groups)} 个联盟群发布通知"
        if made.groups
        else "没有配置联盟群（ALLIANCE_GROUPS），没有发布通知"
    )
    out = Msg(
        f"已记录：报送 {ret.label}，截止 {clock.show(ret.deadline)}（{describe_left(ret.deadline, clock.now())}）。"
    )
    out.line(f"范围：{ret.scope}，共 {made.units} 个单位；{where}。")
    before = [_human(label) for label in made.reminders if label != OVERDUE]
    when = f"截止前 {'、'.join(before)}和逾期时" if before else "逾期时"
    out.line(f"将在{when}提醒未报送的单位（免打扰时段顺延）。查看进度：/报送 进度 {ret.id}")
    return out


def _human(label: str) -> str:
    """`3d` → `3 天`, `2h` → `2 小时`, `30m` → `30 分钟`, `45s` → `45 秒`."""
    unit = {"d": "天", "h": "小时", "m": "分钟", "s": "秒"}.get(label[-1:], "")
    return f"{label[:-1]} {unit}" if unit and label[:-1].isdigit() else label


async def register(ctx: Ctx) -> Msg:
    if len(ctx.args) < 2:
        raise UserError("用法：/报送 登记 <编号> <单位…>，如：/报送 登记 3 郑州大学 河南大学")
    rid = ctx.int_arg(ctx.args[0], "报送编号")
    out = Msg()
    last = None
    for name in ctx.args[1:]:
        try:
            s = await ctx.app.returns.register(rid, name, actor=ctx.user_id, actor_name=ctx.name, scope=ctx.scope)
        except UserError as e:
            if len(ctx.args) == 2:
                raise
            out.line(f"“{name}”没有登记：{e}")
            continue
        last = s
        if s.new:
            out.line(f"已记录：“{s.unit.name}”已报送 {s.ret.label}" + ("（逾期）" if s.submission.late else "") + "。")
        else:
            sub_ = s.submission
            how = "登记" if sub_.via == BY_ADMIN else "报送"
            out.line(f"“{s.unit.name}”已于 {clock.show(sub_.at)} 由 {person_name(sub_.by_name)} {how}过，不重复计。")
    if last is not None:
        out.line(f"进度：{last.done}/{last.total}")
    return out


async def nudge(ctx: Ctx) -> Reply:
    force = ctx.take_force()
    rid = await _number_or_only(ctx)
    await caught_up(ctx.app.returns, rid)
    n = await ctx.app.returns.nudge(rid, actor=ctx.user_id, force=force, scope=ctx.scope)
    out = Msg(f"已催办 {n.ret.label}：未报送 {len(n.units)} 个单位，@ 了 {n.operators} 位联络员。")
    if n.ret.wants_files:
        p = await ctx.app.returns.progress(n.ret.id)
        fixing = [u.name for u in p.pending if u.id in p.fixing]
        if fixing:
            out.line(f"其中需修改（{len(fixing)}，已交文件但有问题）：{cut_list(fixing, ctx.limit)}")
    if n.orphans:
        return orphans_to_admin(ctx, out, f"报送 {n.ret.label}未报送", [u.name for u in n.orphans])
    return out


async def close(ctx: Ctx) -> Reply:
    rid = _number(ctx, "/报送 结束 <编号>")
    p = await ctx.app.returns.close(rid, actor=ctx.user_id, scope=ctx.scope)
    out = Msg(f"已结束报送 {p.task.label}，不再提醒。")
    out.line(f"最终：已报送 {len(p.done)}/{p.total}" + (f"，其中逾期 {p.late}" if p.late else ""))
    pending = [u for _, group in by_category(p.pending) for u in group]
    return laggards_to_admin(ctx, out, "未报送", [u.name for u in pending], category_lines(p.pending, None))


# ---------------------------------------------------------------- anyone


async def progress(ctx: Ctx) -> Reply:
    ctx.take_format()
    area = take_area(ctx)
    rid = await _number_or_only(ctx)
    await caught_up(ctx.app.returns, rid)
    if (by_level := await ctx.app.returns.get(rid)).by_level:  # 逐级汇总: per city (plugins/returns/levels.py)
        return await levels.progress(ctx, by_level, area)
    p = await ctx.app.returns.progress(rid)
    view = await progress_view(ctx, p, area, RETURN_WORDS, _progress_head, _progress_subtitle(p))
    if view.answer is not None:
        return view.answer
    p, where = view.progress, f"{view.where} · " if view.where else ""
    ret = p.task
    asked = f"/报送 进度 {ret.id}" + (f" {area}" if area else "")
    return await progress_answer(
        ctx,
        len(p.pending),
        in_area(view.where, render_progress(p, ctx.limit)),
        lambda: task_progress_card(
            f"报送进度 · {ret.label}",
            where + _progress_subtitle(p),
            p,
            owing="未报送",
            done_label="已报送",
            full_list=rest_of_list(ctx, asked),
        ),
        lambda: in_area(view.where, render_progress(p, None)),
        asked,
    )


RETURN_WORDS = Words("/报送 进度", "报送进度", "未报送", "已报送")


def _progress_subtitle(p: Progress) -> str:
    fixing = f"，需修改 {len(p.fixing)}" if p.fixing else ""
    alone = f" · 带 * 的 {len(p.unstaffed)} 个单位没有联络员" if p.unstaffed else ""
    return f"截止 {clock.show(p.task.deadline)} · 已报送 {len(p.done)}/{p.total}（{p.percent}）{fixing}{alone}"


def _progress_head(p: Progress) -> Msg:
    """The first lines of a 报送's progress (the return, the overall figure), above its roll-up."""
    ret = p.task
    out = Msg(f"报送 {ret.label}{'' if ret.open else '（已结束）'}")
    out.line(f"截止：{clock.show(ret.deadline)}（{describe_left(ret.deadline, clock.now())}）　范围：{ret.scope}")
    late = f"，其中逾期 {p.late}" if p.late else ""
    fixing = f"，需修改 {len(p.fixing)}" if p.fixing else ""
    return out.line(f"已报送 {len(p.done)}/{p.total}（{p.percent}）{late}{fixing}")


async def listing(ctx: Ctx) -> Msg:
    include_closed = bool(ctx.args) and ctx.args[0] in ("全部", "所有", "历史")
    rows = await ctx.app.returns.listing(include_closed=include_closed)
    if not rows:
        return Msg("现在没有进行中的报送。" + ("管理员发起：/报送 新建 <标题> 截止 <时间>" if ctx.is_admin else ""))
    mine: dict[int, bool] = {}
    fixing: set[int] = set()
    owes: dict[int, Owed] = {}
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    if bound is not None:
        mine = {r.id: sub is not None for r, sub in await ctx.app.returns.open_for_unit(bound[1].id)}
        fixing = await ctx.app.returns.fixing_for_unit(bound[1].id)
        owes = await ctx.app.returns.owes_for_unit(bound[1].id)
    now = clock.now()
    lines = []
    for r, done, total in rows:
        line = f"{r.label} 截止 {clock.show(r.deadline)}（{describe_left(r.deadline, now)}），已报送 {done}/{total}"
        if not r.open:
            line += "（已结束）"
        elif r.id in mine:
            line += "，本单位" + (
                "已报送" if mine[r.id] else "需修改" if r.id in fixing else unit_state(r, owes.get(r.id))
            )
        lines.append(line)
    title = "报送任务" if include_closed else "进行中的报送"
    out = Msg(f"{title}（{len(rows)}）：")
    for line in lines_cut(lines, ctx.limit):
        out.line(line)
    if bound is not None:
        owing = [r for r, _, _ in rows if r.open and mine.get(r.id) is False]
        if any(not r.wants_files for r in owing):
            out.line("报送后请发：/已报送 <编号> [备注]")
        if any(r.wants_files for r in owing):
            out.line(
                "要交文件的报送：把要交的文件上传到群文件或私聊发给机器人，交齐后自动记为已报送；发 /报送 表格 <编号> 领取本单位的表格。"
            )
    return out


async def default(ctx: Ctx) -> Msg:
    if ctx.args and read_number(ctx.args[0]) is not None:
        return await progress(ctx)
    if ctx.args:
        can = (
            "/报送 列表、/报送 进度 <编号>、/报送 表格、/报送 文件、/报送 新建、/报送 登记、/报送 催办、/报送 结束、"
            "/报送 汇总、/报送 打包、/报送 待确认、/报送 丢弃"
            if ctx.is_admin
            else "/报送（进行中的报送）、/报送 进度 <编号>、/已报送 <编号>、/报送 表格、/报送 文件"
        )
        raise UserError(f"不认识“{ctx.args[0]}”。可用：{can}。发 /帮助 报送 查看说明和例子。")
    return await listing(ctx)


async def admin_listing(ctx: Ctx) -> Msg:
    """`/报送 列表` is the admins' list, as `/统发 列表` is; anyone may send /报送 for the open ones."""
    return await listing(ctx)


SUBS = {
    "新建": create,
    "发起": create,
    "登记": register,
    "代登记": register,
    "进度": progress,
    "催办": nudge,
    "催报": nudge,
    "列表": admin_listing,
    "结束": close,
    "上报": levels.hand_up,
    "退回": levels.send_back,
    **files.SUBS,
}


# who may use each sub-command (any other word, and /报送 alone: anyone)
RETURNS_MAY = {
    "新建": admins("发起报送", Role.CITY_ADMIN),
    "发起": admins("发起报送", Role.CITY_ADMIN),
    "登记": admins("登记报送", Role.CITY_ADMIN),
    "代登记": admins("登记报送", Role.CITY_ADMIN),
    "催办": admins("催办", Role.CITY_ADMIN),
    "催报": admins("催办", Role.CITY_ADMIN),
    "列表": admins("查看全部报送列表（发 /报送 可查看进行中的报送和本单位是否已报送）", Role.CITY_ADMIN),
    "结束": admins("结束报送", Role.CITY_ADMIN),
    "进度": Role.MEMBER,
    "上报": admins("上报本市汇总的报送", Role.CITY_ADMIN),
    "退回": admins("退回单位交的文件", Role.CITY_ADMIN),
    **files.RETURN_FILES_MAY,
}


@command("报送", may=Role.MEMBER, subs=RETURNS_MAY)
async def returns_cmd(ctx: Ctx) -> Msg:
    return await sub(ctx, SUBS, default)


# ---------------------------------------------------------------- /已报送


@command("已报送", "已提交", may=Role.MEMBER)
async def submitted(ctx: Ctx) -> Ack:
    return await _submit(ctx, None)


async def _submit(ctx: Ctx, quoted: int | None) -> Ack:
    rid = quoted
    numbers, note_args = leading_numbers(ctx.args)
    if len(numbers) > 1:  # /已报送 1，3: each of them, one acknowledgement
        return await each_number(numbers, lambda n: _submit(replace(ctx, args=[str(n), *note_args]), None))
    if numbers:
        rid = numbers[0]
    if ctx.is_admin and await ctx.app.units.registrations.operator(ctx.user_id) is None:
        raise UserError("你是管理员、没有绑定单位。替单位登记请用：/报送 登记 <编号> <单位>，如：/报送 登记 3 郑州大学")
    reply_to = ctx.reply_to if rid is None else None
    s = await ctx.app.returns.submit(ctx.user_id, ctx.name, rid, " ".join(note_args), reply_to=reply_to)
    if not s.new:
        sub_ = s.submission
        how = "登记" if sub_.via == BY_ADMIN else "报送"
        return Ack(
            f"“{s.unit.name}”已于 {clock.show(sub_.at)} 由 {person_name(sub_.by_name)} {how}过 {s.ret.label}，"
            f"不重复计。进度：{s.done}/{s.total}"
        )
    late = "（已过截止时间，记为逾期）" if s.submission.late else ""
    return Ack(f"已记录：“{s.unit.name}”已报送 {s.ret.label}{late}。进度：{s.done}/{s.total}")


# ---------------------------------------------------------------- a reply to a 报送 notice


@trigger
async def reply_submitted(event: MessageEvent) -> tuple[Command, Message] | None:
    """A reply (引用) to a 报送 notice or one of its reminders saying 已报送 / 已完成 / 报送了: same as /已报送 <it>.

    The quoted message must be the return's own (its stored message id, or, when the client cannot resolve it,
    text only those messages carry); 收到 never counts. Costs nothing for messages without a reply.
    """
    said = reply_saying(event, submitted_rest)
    if said is None:
        return None
    app, reply, rest = said
    rid = await app.returns.from_message(norm_id(reply.data.get("id")))
    quoted = event.reply
    if rid is None and quoted is not None and str(quoted.sender.user_id) == str(event.self_id):
        rid = return_in_text(quoted.message.extract_plain_text())
    if rid is None:
        return None
    found = rid

    async def handler(ctx: Ctx) -> Ack:
        return await _submit(ctx, found)

    return Command(handler), Message(MessageSegment.text(rest))


# ---------------------------------------------------------------- a reaction on a 报送 notice


async def _is_return_reaction(bot: object, event: NoticeEvent) -> bool:
    """A confirming reaction (👍, OK) on the notice, a reminder or a nudge of a 报送."""
    found = reaction_of(event)
    app = current_app()
    return found is not None and app is not None and await app.returns.reactions.return_of_post(found[2]) is not None


@notice(_is_return_reaction, block=True, first=True)
async def _return_reaction(bot: object, event: NoticeEvent) -> None:
    """Confirms a return without files like /已报送; for one with files, a private line says to upload it."""
    found = reaction_of(event)
    app = current_app()
    if found is not None and app is not None:
        await app.returns.reactions.confirm_by_reaction(found[1], found[2], account=str(event.self_id))
