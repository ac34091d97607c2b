"""Accounts and filing: /账号 登记|变更|注销|列表, /备案."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot import clock
from bot.accounts import duplicate_filings
from bot.errors import UserError
from bot.render import Msg, lines_cut, person_name
from bot.roles import Role
from plugins._ctx import Ctx, numbers_or_all
from plugins._registry import admins, command, sub
from plugins._reply import Reply, To
from plugins._roles import ADMIN, ANYONE
from plugins._topics import Topic

HELP = [
    Topic(
        "账号",
        ANYONE,
        "账号列表；联络员登记、变更、注销本单位账号（备案）",
        "/账号 列表 [单位] — 例：/账号 列表 郑州大学\n联络员：\n"
        "/账号 登记 <平台> <账号名称> [账号ID] [开通日期] — 例：/账号 登记 微信 郑州大学 zzu1956 2014-03-01\n"
        "/账号 变更 <平台> <账号名称> <字段>=<值>… — 字段：名称、账号ID、开通日期；例：/账号 变更 微博 郑大 名称=郑州大学\n"
        "/账号 注销 <平台> <账号名称> — 例：/账号 注销 抖音 郑大青年\n"
        "平台：微信公众号（微信、公众号）、微博、抖音、头条号（头条）、视频号、快手、B站（哔哩哔哩）、百家号、小红书、客户端（APP）、网站、其他",
    ),
    Topic(
        "备案",
        ADMIN,
        "审核账号备案",
        "/备案 — 列出待审核的备案\n/备案 通过 <编号…> — 例：/备案 通过 12 13\n/备案 驳回 <编号> [原因] — 例：/备案 驳回 14 账号名称不规范",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="账号备案",
    description="新媒体账号的开设、变更、注销备案",
    usage="/账号 登记 <平台> <账号名称> [账号ID] [开通日期]\n/账号 变更 <平台> <账号名称> <字段>=<值>…\n"
    "/账号 注销 <平台> <账号名称>\n/账号 列表 [单位]\n/备案 [通过 <编号…> | 驳回 <编号> [原因]]",
    extra={"help": HELP},
)


async def file_open(ctx: Ctx) -> Msg:
    if not 2 <= len(ctx.args) <= 4:
        raise UserError(
            "用法：/账号 登记 <平台> <账号名称> [账号ID] [开通日期]，如：/账号 登记 微信 郑州大学 zzu1956 2014-03-01"
        )
    platform, name, uid, opened = (ctx.args + ["", ""])[:4]
    f = await ctx.app.accounts.file_opening(ctx.user_id, ctx.name, platform, name, uid, opened)
    return Msg(f"已记录开设备案 #{f.id}：{f.unit_name} {f.account.platform}“{f.account.name}”，等待管理员审核。")


async def file_change(ctx: Ctx) -> Msg:
    if len(ctx.args) < 3:
        raise UserError(
            "用法：/账号 变更 <平台> <账号名称> <字段>=<值>…，字段可选 名称、账号ID、开通日期，"
            "如：/账号 变更 微博 河南教育 名称=河南省教育厅"
        )
    f = await ctx.app.accounts.file_change(ctx.user_id, ctx.name, ctx.args[0], ctx.args[1], ctx.args[2:])
    return Msg(f"已记录变更备案 {f.describe()}，等待管理员审核。")


async def file_close(ctx: Ctx) -> Msg:
    if len(ctx.args) != 2:
        raise UserError("用法：/账号 注销 <平台> <账号名称>，如：/账号 注销 微博 河南教育")
    f = await ctx.app.accounts.file_closure(ctx.user_id, ctx.name, ctx.args[0], ctx.args[1])
    return Msg(f"已记录注销备案 #{f.id}：{f.unit_name} {f.account.platform}“{f.account.name}”，等待管理员审核。")


async def account_list(ctx: Ctx) -> Msg:
    if ctx.args:
        unit = await ctx.app.units.resolve(" ".join(ctx.args))
    else:
        bound = await ctx.app.units.registrations.operator(ctx.user_id)
        if bound is None:
            raise UserError("请写出单位名称，如：/账号 列表 郑州大学")
        unit = bound[1]
    accounts = await ctx.app.accounts.of_unit(unit.id)
    if not accounts:
        return Msg(f"“{unit.name}”还没有登记账号。")
    out = Msg(f"“{unit.name}”的账号 {len(accounts)} 个：")
    lines = []
    for a in accounts:
        extra = "，".join(
            x
            for x in (
                a.uid and f"ID {a.uid}",
                a.opened_on and f"开通 {a.opened_on}",
                a.state == "待审核" and "备案审核中",
            )
            if x
        )
        lines.append(f"· {a.platform}“{a.name}”" + (f"（{extra}）" if extra else ""))
    for line in lines_cut(lines, ctx.limit):
        out.line(line)
    return out


async def account_usage(ctx: Ctx) -> Msg:
    raise UserError("用法：/账号 登记|变更|注销|列表 …，如：/账号 登记 微信 郑州大学。发 /帮助 账号 查看例子。")


ACCOUNT_SUBS = {
    "登记": file_open,
    "开设": file_open,
    "变更": file_change,
    "修改": file_change,
    "注销": file_close,
    "列表": account_list,
    "查看": account_list,
}


@command("账号", may=Role.MEMBER)
async def account_cmd(ctx: Ctx) -> Msg:
    return await sub(ctx, ACCOUNT_SUBS, account_usage)


@command("备案", may=admins("审核备案", Role.CITY_ADMIN))
async def filing_cmd(ctx: Ctx) -> Reply:
    svc = ctx.app.accounts
    if not ctx.args:
        pending = await svc.pending(ctx.scope)
        if not pending:
            return Msg("没有待审核的备案。")
        out = Msg(f"待审核的备案 {len(pending)} 个：")
        same = duplicate_filings(pending)
        lines = [
            f"{f.describe()}，{person_name(f.filed_by_name)} {clock.show(clock.from_db(f.filed_at))}"
            + (f"（与 #{same[f.id]} 内容相同，可驳回）" if f.id in same else "")
            for f in pending
        ]
        for line in lines_cut(lines, ctx.limit):
            out.line(line)
        out.line("通过：/备案 通过 <编号…>；驳回：/备案 驳回 <编号> [原因]")
        return out
    head, rest = ctx.args[0], ctx.args[1:]
    if head in ("通过", "同意"):
        if not rest:
            raise UserError("请写出要通过的备案编号，如：/备案 通过 3 4")

        async def pending_ids() -> list[int]:
            return [f.id for f in await svc.pending(ctx.scope)]

        ids = await numbers_or_all(ctx, rest, "备案编号", "/备案 通过", pending_ids)
        results = await svc.approve(ids, actor=ctx.user_id, scope=ctx.scope)
        out = Msg()
        approved: dict[str, list[str]] = {}  # filer → what of theirs was approved: one notice each
        for fid, f, err in results:
            if f is None:
                out.line(f"#{fid} 未通过：{err}")
            elif f.state == "已备案":
                out.line(f"已备案 {f.describe()}。")
                approved.setdefault(f.filed_by, []).append(f.describe())
            else:
                out.line(f"#{fid} 已作废（不再待审核）：{err.removeprefix('自动作废：')}")
        told = [
            To("private", uid, Msg(f"你提交的备案已通过：{'；'.join(items)}。"))
            for uid, items in approved.items()
            if uid != ctx.user_id
        ]
        return [out, *told]
    if head in ("驳回", "拒绝"):
        if not rest:
            raise UserError("请写出要驳回的备案编号，如：/备案 驳回 3 账号名称与证书不符")
        reason = " ".join(rest[1:])[:200]
        f = await svc.reject(ctx.int_arg(rest[0], "备案编号"), reason, actor=ctx.user_id, scope=ctx.scope)
        await ctx.app.outbox.send(
            "private",
            f.filed_by,
            Msg(f"你提交的备案 {f.describe()} 被驳回" + (f"，原因：{reason}" if reason else "") + "。"),
        )
        return Msg(f"已驳回 {f.describe()}" + (f"，原因：{reason}" if reason else "") + "。")
    raise UserError("用法：/备案（查看待审核）、/备案 通过 <编号…>、/备案 驳回 <编号> [原因]")
