"""Units and registration: /注册 /审核 /我的单位 /解绑 /单位 /未绑定, and leaving the group."""

from __future__ import annotations

import re

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, GroupDecreaseNoticeEvent, NoticeEvent
from nonebot.plugin import PluginMetadata

from bot import clock
from bot.app import App, get_app
from bot.errors import UserError
from bot.render import Msg, lines_cut, person_label, person_name
from bot.returns.text import how_to_hand_in, unit_state
from bot.roles import Role
from bot.units.records import Application, Decision, Unit
from plugins._ctx import Ctx, numbers_or_all
from plugins._notices import notice
from plugins._registry import admins, command, sub
from plugins._reply import Reply, To, admin_list, list_reply
from plugins._roles import ADMIN, ANYONE, OPERATOR
from plugins._topics import Topic
from plugins.registry.tree import parent_line, unit_below, unit_parent

HELP = [
    Topic(
        "注册",
        ANYONE,
        "申请成为某单位的联络员",
        "/注册 <单位名称> [类别] [地市]\n例：/注册 郑州大学\n例：/注册 郑大（简称也可以）\n"
        "新单位要写类别和地市：/注册 郑州市第九中学 高中 郑州\n"
        "类别：省直单位、市教育局、县区教育局、本科高校、高职高专、中职学校、高中、初中、小学、幼儿园、其他\n"
        "名称含空格请加引号：/注册 “郑州 第九中学” 高中 郑州",
    ),
    Topic(
        "单位",
        ANYONE,
        "单位名册：列表、查看；管理员可添加、加简称、改名、删除",
        "/单位 列表 [类别或地市] — 例：/单位 列表 本科高校、/单位 列表 郑州\n/单位 <名称> — 查看一个单位\n"
        "管理员：\n/单位 添加 <名称> <类别> [地市] [县区 <县区>] [上级 <上级单位>] [别名 <简称…>] — "
        "例：/单位 添加 郑州市第九中学 高中 郑州 县区 金水区 别名 郑州九中（不写上级单位按默认归属）\n"
        "/单位 别名 <名称> <简称…> — 例：/单位 别名 郑州大学 郑大 zzu\n"
        "/单位 改名 <旧名> <新名>\n/单位 删除 <名称>（历史记录保留）\n"
        "/单位 上级 <单位> <上级单位> — 例：/单位 上级 郑州市第九中学 郑州市金水区教育局（直属省里写“全省”，恢复默认写“默认”）\n"
        "/单位 下级 [单位] — 看一个单位（不写：全省）下面有哪些单位、各类多少、几个有联络员",
    ),
    Topic(
        "我的单位",
        OPERATOR,
        "我的单位、联络员、账号和待办",
        "/我的单位 — 显示你所在单位的信息、联络员、账号和待审核的备案",
    ),
    Topic(
        "解绑",
        OPERATOR,
        "不再做所在单位的联络员",
        "/解绑 — 先说明解绑的后果，再发 /解绑 确认 解除你和所在单位的绑定；以后可以重新 /注册",
    ),
    Topic(
        "审核",
        ADMIN,
        "审核注册申请",
        "/审核 — 列出待审核的申请\n/审核 通过 <编号…> — 例：/审核 通过 3 4 5\n/审核 驳回 <编号> [原因] — 例：/审核 驳回 6 单位名称有误",
    ),
    Topic(
        "未绑定", ADMIN, "群里没绑定单位的成员，和没有联络员的单位", "/未绑定 — 在群里发，查本群；私聊发，查所有联盟群"
    ),
]

__plugin_meta__ = PluginMetadata(
    name="单位与注册",
    description="单位名册、联络员注册与审核",
    usage="/注册 <单位名称> [类别] [地市]\n/审核\n/我的单位\n/解绑\n/单位 列表|添加|别名|改名|删除\n/未绑定",
    extra={"help": HELP},
)


# ---------------------------------------------------------------- /注册


@command("注册", may=Role.MEMBER)
async def register(ctx: Ctx) -> Msg:
    if not ctx.args:
        raise UserError(
            "请写出单位名称，如：/注册 郑州大学。新单位请加上类别和地市，如：/注册 郑州市第九中学 高中 郑州"
        )
    if len(ctx.args) > 3:
        raise UserError("参数太多。单位名称含空格时请加引号，如：/注册 “郑州市 第九中学” 高中 郑州")
    name, category, city = (ctx.args + ["", ""])[:3]
    app, new = await ctx.app.units.registrations.apply(ctx.user_id, ctx.name, ctx.group_id, name, category, city)
    what = (
        f"新单位“{app.unit_name}”（{app.category}{'，' + app.city if app.city else ''}）"
        if app.is_new_unit
        else f"“{app.unit_name}”"
    )
    if not new:
        return Msg(f"你申请成为{what}联络员的申请 #{app.id} 已在审核中，请耐心等待管理员审核。")
    out = Msg(f"已记录：申请成为{what}的联络员，申请编号 #{app.id}。管理员审核后会通知你。")
    if app.is_new_unit and (close := await ctx.app.units.near(app.unit_name)):
        out.line(f"名册里有相近的“{close[0].name}”：如果就是它，请发 /注册 {close[0].name}，这条申请会被替换。")
    return out


# ---------------------------------------------------------------- /审核


def _app_line(a: Application, close: list[Unit]) -> str:
    new = f"【新单位：{a.category}{'，' + a.city if a.city else ''}】" if a.is_new_unit else ""
    if close:  # a new unit a typo away from one in the roster is most likely that one
        new += f"⚠与名册里的“{close[0].name}”只差一两个字，请核对是否就是它"
    when = clock.show(clock.from_db(a.created_at))
    return f"#{a.id} {person_label(a.user_name, a.user_id)}申请 {a.unit_name}{new} {when}"


@command("审核", may=admins("审核注册申请", Role.CITY_ADMIN))
async def review(ctx: Ctx) -> Reply:
    if not ctx.args:
        pending = await ctx.app.units.registrations.pending(ctx.scope)
        if not pending:
            return Msg("没有待审核的注册申请。")
        whole = Msg(f"待审核的注册申请 {len(pending)} 个：")
        lines = [_app_line(a, await ctx.app.units.near(a.unit_name) if a.is_new_unit else []) for a in pending]
        for line in [*lines, "通过：/审核 通过 <编号…>；驳回：/审核 驳回 <编号> [原因]"]:
            whole.line(line)
        return admin_list(ctx, whole, f"待审核的注册申请 {len(pending)} 个")
    head, rest = ctx.args[0], ctx.args[1:]
    if head in ("通过", "同意", "批准"):
        if not rest:
            raise UserError("请写出要通过的申请编号，如：/审核 通过 3 4 5")

        async def pending_ids() -> list[int]:
            return [a.id for a in await ctx.app.units.registrations.pending(ctx.scope)]

        ids = await numbers_or_all(ctx, rest, "申请编号", "/审核 通过", pending_ids)
        return approved_messages(
            ctx, await ctx.app.units.registrations.approve(ids, actor=ctx.user_id, scope=ctx.scope)
        )
    if head in ("驳回", "拒绝", "不通过"):
        if not rest:
            raise UserError("请写出要驳回的申请编号，如：/审核 驳回 3 单位名称有误")
        app_id = ctx.int_arg(rest[0], "申请编号")
        reason = " ".join(rest[1:])[:200]
        d = await ctx.app.units.registrations.reject(app_id, reason, actor=ctx.user_id, scope=ctx.scope)
        why = f"，原因：{reason}" if reason else ""
        await tell_applicant(
            ctx.app,
            d.application,
            Msg(f"你的注册申请 #{app_id}（{d.application.unit_name}）未通过{why}。如有疑问请联系管理员。"),
        )
        return Msg(f"已驳回 #{app_id}（{person_name(d.application.user_name)} 申请 {d.application.unit_name}）{why}。")
    raise UserError("用法：/审核（查看待审核）、/审核 通过 <编号…>、/审核 驳回 <编号> [原因]")


def approved_messages(ctx: Ctx, decisions: list[Decision]) -> list[Msg | To]:
    """One message names everyone approved, @-mentioned in batches, in the group each applied in.

    In the chat the admin approved from, that message is also the admin's summary (with what failed);
    people who applied privately are told privately.
    """
    app = ctx.app
    ok = [d for d in decisions if d.ok and d.unit is not None]
    failed = [f"#{d.application.id} 未通过：{d.message}" for d in decisions if not (d.ok and d.unit is not None)]
    here = ctx.group_id
    by_group: dict[str | None, list[Decision]] = {}
    for d in ok:
        g = d.application.group_id
        by_group.setdefault(g if g and g in app.settings.groups else None, []).append(d)
    size = max(1, app.settings.alliance_at_batch - 1)  # room for the @ of the admin in the first one

    def line(m: Msg, d: Decision, *, at: bool) -> None:
        a = d.application
        assert d.unit is not None
        m.line(f"已通过 #{a.id}：")
        if at:
            m.at(a.user_id)
        else:
            m.text(person_name(a.user_name))  # the summary may be read in a group
        m.text(f" 成为“{d.unit.name}”的联络员")

    def batches(ds: list[Decision], *, summary: bool) -> list[Msg]:
        chunks = [ds[i : i + size] for i in range(0, len(ds), size)] or [[]]
        out = []
        for i, chunk in enumerate(chunks, 1):
            part = f"（{i}/{len(chunks)}）" if len(chunks) > 1 else ""
            m = Msg(f"已通过 {len(ds)} 个注册申请{part}：" if len(ds) > 1 else "")
            for d in chunk:
                line(m, d, at=True)
            if summary and i == 1:
                for f in failed:
                    m.line(f)
            if chunk and i == len(chunks):
                m.line("新联络员请发 /帮助 看看能做什么。")
            out.append(m)
        return out

    result: list[Msg | To] = []
    if here is not None and here in by_group:
        result.extend(batches(by_group.pop(here), summary=True))
    else:  # approved in a private chat (or nobody here): the summary names everyone, without @
        summary = Msg(f"已通过 {len(ok)} 个注册申请：" if len(ok) > 1 else "")
        for d in ok:
            line(summary, d, at=False)
        for f in failed:
            summary.line(f)
        result.append(summary)
    for g in sorted(k for k in by_group if k is not None):
        result.extend(To("group", g, m) for m in batches(by_group[g], summary=False))
    for d in by_group.get(None, []):
        assert d.unit is not None
        a = d.application
        result.append(
            To(
                "private",
                a.user_id,
                Msg(f"你的注册申请 #{a.id} 已通过，现在是“{d.unit.name}”的联络员。发 /帮助 看看能做什么。"),
            )
        )
    return [m for m in result if (m.msg if isinstance(m, To) else m)]


async def tell_applicant(app: App, a: Application, msg: Msg) -> None:
    """@ the applicant in the group where they applied, or tell them privately."""
    if a.group_id and a.group_id in app.settings.groups:
        await app.outbox.send("group", a.group_id, Msg().at(a.user_id).text(" ").add_all(msg))
    else:
        await app.outbox.send("private", a.user_id, msg)


# ---------------------------------------------------------------- /我的单位 and /解绑


@command("我的单位", may=Role.MEMBER)
async def my_unit(ctx: Ctx) -> Msg:
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    if bound is None:
        raise UserError("你还没有绑定单位。请发 /注册 <单位名称> 申请成为联络员，如：/注册 郑州大学")
    _, unit = bound
    return await unit_card(ctx.app, unit, intro="你是", limit=ctx.limit)


async def unit_card(app: App, unit: Unit, intro: str = "", limit: int | None = None) -> Msg:
    """A unit, its operators (names only, never a phone number), accounts, and what is open for it."""
    ops = await app.units.registrations.operators(unit.id)
    accounts = await app.accounts.of_unit(unit.id)
    filings = await app.accounts.pending_for_unit(unit.id)
    tasks = await app.broadcasts.stats.open_for_unit(unit.id)
    returns = await app.returns.open_for_unit(unit.id)
    out = Msg(f"{intro}“{unit.name}”{'的联络员' if intro else ''}")
    out.line(
        f"类别：{unit.category}　地市：{unit.city or '未填'}"
        + (f"　简称：{'、'.join(unit.aliases)}" if unit.aliases else "")
    )
    out.line(await parent_line(app, unit))
    out.line(f"联络员（{len(ops)}）：{'、'.join(person_name(o.name) for o in ops) or '无'}")
    if accounts:
        out.line(f"账号（{len(accounts)}）：")
        lines = [f"· {a.platform}“{a.name}”" + ("（备案审核中）" if a.state == "待审核" else "") for a in accounts]
        for line in lines_cut(lines, limit):
            out.line(line)
    else:
        out.line("账号：还没有登记。发 /账号 登记 <平台> <账号名称> 备案。")
    for t in tasks:
        out.line(
            f"统发 {t.task.label} 截止 {clock.show(t.task.deadline)}："
            + ("已完成" if t.done else f"未完成，完成后发 /已转发 {t.id}")
        )
    owes = await app.returns.owes_for_unit(unit.id)
    for r, submission in returns:
        owed = owes.get(r.id)
        out.line(
            f"报送 {r.label} 截止 {clock.show(r.deadline)}："
            + ("已报送" if submission else f"{unit_state(r, owed)}，{how_to_hand_in(r, owed)}")
        )
    if filings:
        out.line(f"待审核备案：{'；'.join(f.describe() for f in filings)}")
    return out


@command("解绑", may=Role.MEMBER)
async def unbind(ctx: Ctx) -> Msg:
    confirmed = list(ctx.args) in (["确认"], ["确定"])
    if ctx.args and not confirmed:
        raise UserError("/解绑 不需要写单位。发 /解绑 确认 即可解除你和所在单位的绑定。")
    if not confirmed:  # leaving is not undone by the person alone (it takes a new /注册 and an approval): ask first
        bound = await ctx.app.units.registrations.operator(ctx.user_id)
        if bound is None:
            raise UserError("你还没有绑定任何单位，不需要解绑。")
        return Msg(
            f"解绑后你不再是“{bound[1].name}”的联络员，不能再替本单位确认任务、交报送；重新绑定要再 /注册 并等管理员审核。"
            "确定解绑请发 /解绑 确认"
        )
    result = await ctx.app.units.registrations.unbind(ctx.user_id, actor=ctx.user_id)
    if result is None:
        raise UserError("你还没有绑定任何单位，不需要解绑。")
    if result.last_operator:
        await tell_admins(
            ctx.app,
            Msg(
                f"“{result.unit.name}”的最后一位联络员 {person_label(ctx.name, ctx.user_id)}已解绑，该单位现在没有联络员。"
            ),
        )
    return Msg(f"已解绑：你不再是“{result.unit.name}”的联络员。")


async def tell_admins(app: App, msg: Msg) -> None:
    for admin in sorted(app.settings.admins):
        await app.outbox.send("private", admin, msg)


# ---------------------------------------------------------------- /单位


async def unit_list(ctx: Ctx) -> Msg:
    units, what = await ctx.app.units.listing(" ".join(ctx.args))
    if not units:
        if ctx.is_admin:
            return Msg(
                "名册里还没有单位。发 /单位 添加 <名称> <类别> [地市]，或用 python -m bot import-units 导入名册。"
            )
        return Msg("名册里还没有单位，请等管理员导入名册后再查。")
    lines = [f"{u.name}（{u.category}{'，' + u.city if u.city else ''}）" for u in units]
    return list_reply(ctx, f"{what}共 {len(units)} 个：", lines)


ALIAS_WORDS = ("别名", "简称")
# the options of /单位 添加, in any order after <名称> <类别> [地市]: the roster's 县区 and 上级单位 columns, aliases
UNIT_ADD_WORDS = {
    **dict.fromkeys(ALIAS_WORDS, "别名"),
    **dict.fromkeys(("县区", "区县", "所在县区"), "县区"),
    **dict.fromkeys(("上级", "上级单位"), "上级单位"),
}
UNIT_ADD_USAGE = (
    "用法：/单位 添加 <名称> <类别> [地市] [县区 <县区>] [上级 <上级单位>] [别名 <简称…>]，"
    "如：/单位 添加 郑州市第九中学 高中 郑州 县区 金水区 别名 郑州九中（不写上级单位时按默认归属："
    "学校归所在县区的教育局，否则归市教育局；直属省里的写“上级 全省”）"
)


def unit_add_args(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """<名称> <类别> [地市], then each option word with what follows it up to the next one (aliases split on 、,)."""
    at = next((i for i, w in enumerate(args) if w in UNIT_ADD_WORDS), len(args))
    head, opts, key = args[:at], {}, ""
    for w in args[at:]:
        if w in UNIT_ADD_WORDS:
            key = UNIT_ADD_WORDS[w]
            if key in opts and key != "别名":
                raise UserError(f"{key}只能写一个。{UNIT_ADD_USAGE}")
            opts.setdefault(key, [])
        else:
            opts[key].extend(a for a in re.split(r"[、,，;；/]+", w) if a) if key == "别名" else opts[key].append(w)
    if len(head) < 2 or len(head) > 3 or any(not v for v in opts.values()):
        raise UserError(UNIT_ADD_USAGE)
    for key in ("县区", "上级单位"):
        if len(opts.get(key, [])) > 1:
            raise UserError(f"{key}只能写一个（名称含空格请加引号）。{UNIT_ADD_USAGE}")
    return head, opts


async def unit_add(ctx: Ctx) -> Msg:
    head, opts = unit_add_args(ctx.args)
    name, category, city = (head + [""])[:3]
    unit = await ctx.app.units.add(
        name,
        category,
        city,
        actor=ctx.user_id,
        aliases=tuple(opts.get("别名", ())),
        county=(opts.get("县区") or [""])[0],
        parent=(opts.get("上级单位") or [""])[0],
        scope=ctx.scope,
    )
    also = f"简称：{'、'.join(unit.aliases)}。" if unit.aliases else ""
    return Msg(f"已添加单位“{unit.name}”（{unit.category}{'，' + unit.city if unit.city else ''}）。{also}").line(
        await parent_line(ctx.app, unit)
    )


async def unit_alias(ctx: Ctx) -> Msg:
    if len(ctx.args) < 2:
        raise UserError("用法：/单位 别名 <名称> <简称…>，如：/单位 别名 郑州大学 郑大 zzu")
    unit, added = await ctx.app.units.add_aliases(ctx.args[0], ctx.args[1:], actor=ctx.user_id)
    if not added:
        return Msg(f"“{unit.name}”已有这些简称，没有变化。")
    return Msg(f"已为“{unit.name}”添加简称：{'、'.join(added)}。现有简称：{'、'.join(unit.aliases)}")


async def unit_rename(ctx: Ctx) -> Msg:
    if len(ctx.args) != 2:
        raise UserError("用法：/单位 改名 <旧名> <新名>，如：/单位 改名 信阳师范学院 信阳师范大学")
    old, new = await ctx.app.units.rename(ctx.args[0], ctx.args[1], actor=ctx.user_id)
    return Msg(f"已把“{old.name}”改名为“{new.name}”，旧名仍可作简称使用。")


async def unit_delete(ctx: Ctx) -> Msg:
    if len(ctx.args) != 1:
        raise UserError("用法：/单位 删除 <名称>（历史记录会保留）")
    unit, ops = await ctx.app.units.delete(ctx.args[0], actor=ctx.user_id)
    extra = f"，{len(ops)} 位联络员已解绑" if ops else ""
    return Msg(f"已删除单位“{unit.name}”{extra}。它的历史记录仍然保留。")


async def unit_default(ctx: Ctx) -> Msg:
    if not ctx.args:
        return await unit_list(ctx)
    unit = await ctx.app.units.resolve(" ".join(ctx.args))
    return await unit_card(ctx.app, unit, limit=ctx.limit)


UNIT_SUBS = {
    "列表": unit_list,
    "添加": unit_add,
    "新增": unit_add,
    "别名": unit_alias,
    "简称": unit_alias,
    "改名": unit_rename,
    "删除": unit_delete,
    "上级": unit_parent,
    "下级": unit_below,
}


# who may use each sub-command of /单位 (/单位 alone or 列表: anyone)
UNIT_MAY = {
    "列表": Role.MEMBER,
    "添加": admins("添加单位"),
    "新增": admins("添加单位"),
    "别名": admins("添加单位简称"),
    "简称": admins("添加单位简称"),
    "改名": admins("改单位名称"),
    "删除": admins("删除单位"),
    "上级": admins("调整单位的上级单位", Role.CITY_ADMIN),
    "下级": admins("查看下级单位", Role.CITY_ADMIN),
}


@command("单位", may=Role.MEMBER, subs=UNIT_MAY)
async def unit_cmd(ctx: Ctx) -> Msg | list[Msg]:
    return await sub(ctx, UNIT_SUBS, unit_default)


# ---------------------------------------------------------------- /未绑定


async def members_of(bot: Bot, group_id: str) -> dict[str, str]:
    members = await bot.get_group_member_list(group_id=int(group_id))
    return {
        str(m["user_id"]): person_name(m.get("card"), "") or person_name(m.get("nickname"))
        for m in members
        if str(m.get("user_id")) != bot.self_id
    }


@command("未绑定", may=admins("查看未绑定成员"))
async def unbound(ctx: Ctx) -> Reply:
    groups = [ctx.group_id] if ctx.group_id else sorted(ctx.app.settings.groups)
    if not groups:
        raise UserError("没有配置联盟群（ALLIANCE_GROUPS），无法查询群成员。")
    members: dict[str, str] = {}
    for g in groups:
        try:
            members.update(await members_of(ctx.bot, g))
        except Exception as e:
            logger.warning(f"get_group_member_list({g}) failed: {e}")
            raise UserError("暂时取不到群成员列表（QQ 客户端没有返回），请稍后再试。") from None
    loose, orphan = await ctx.app.units.registrations.unbound(members, ctx.app.settings.admins)

    out = Msg(f"群成员 {len(members)} 人，未绑定单位 {len(loose)} 人：")
    for qq, name in loose:
        out.line(f"{name}（{qq}）")
    out.line(f"群里没有联络员的单位 {len(orphan)} 个：")
    for u in orphan:
        out.line(u.name)
    return admin_list(ctx, out, f"未绑定单位的群成员 {len(loose)} 人、没有联络员的单位 {len(orphan)} 个")


# ---------------------------------------------------------------- matchers


async def _is_leaving(bot: Bot, event: NoticeEvent) -> bool:
    return isinstance(event, GroupDecreaseNoticeEvent)


@notice(_is_leaving)
async def _left(bot: Bot, event: GroupDecreaseNoticeEvent) -> None:
    """An operator left the group: unbind them; tell the admins when their unit has no operator left."""
    app = get_app()
    bound = await app.units.registrations.operator(event.user_id)
    if bound is None or (
        bound[0].group_id not in (None, str(event.group_id)) and bound[0].group_id in app.settings.groups
    ):
        return  # not an operator, or bound through another alliance group they are still in
    result = await app.units.registrations.unbind(event.user_id, actor="system", why="退群解绑")
    if result is not None and result.last_operator:
        await tell_admins(
            app,
            Msg(f"联络员 {event.user_id} 已退出群 {event.group_id} 并自动解绑，“{result.unit.name}”现在没有联络员了。"),
        )
