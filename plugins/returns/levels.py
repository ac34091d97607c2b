"""逐级汇总 (issue 24.3): /报送 上报 and /报送 退回, and the progress of a return collected by level. The work is in
bot/returns/levels.py; this is the handlers' glue (arguments, the asker's scope, the merged file to the asker)."""

from __future__ import annotations

from bot.errors import UserError
from bot.returns.levels_text import city_progress, province_progress
from bot.returns.records import Return
from bot.roles import Role
from plugins._client import to_asker_privately
from plugins._ctx import Ctx
from plugins._reply import Reply

CONFIRM_WORDS = ("确认", "确定", "强制")


async def progress(ctx: Ctx, ret: Return, named: str = "") -> Reply:
    """`/报送 进度 N [城市]` of a return by level (`named`: the city, taken from the arguments by the progress
    command): a city admin sees their units, the province each city (and one city's units when named); anyone
    else the province's view."""
    levels = ctx.app.return_levels
    lv = await levels.levels(ret.id)
    if named and ctx.role >= Role.CITY_ADMIN:
        city = await levels.city_in_scope(lv, ctx.scope, named)
        return city_progress(lv, ctx.scope, ctx.limit, city)
    if ctx.role == Role.CITY_ADMIN:
        return city_progress(lv, ctx.scope, ctx.limit)
    return province_progress(lv, ctx.limit)


async def hand_up(ctx: Ctx) -> Reply:
    """`/报送 上报 <编号> [城市] [确认]`: the city's merged file handed up, signed off by the asker."""
    if not ctx.args:
        raise UserError("用法：/报送 上报 <编号> [确认]，如：/报送 上报 3（审核完本市单位的文件后发）")
    rid = ctx.int_arg(ctx.args[0], "报送编号")
    rest = ctx.args[1:]
    confirm = any(a in CONFIRM_WORDS for a in rest)
    city = " ".join(a for a in rest if a not in CONFIRM_WORDS)
    msg, made = await ctx.app.return_levels.hand_up(
        rid, actor=ctx.user_id, actor_name=ctx.name, scope=ctx.scope, city_text=city, confirm=confirm
    )
    sent = await to_asker_privately(ctx, made, "上报的汇总表")
    return msg.line(sent.plain())


async def send_back(ctx: Ctx) -> Reply:
    """`/报送 退回 <编号> <单位> [原因]`: a unit's file sent back as 需修改, its operators told."""
    if len(ctx.args) < 2:
        raise UserError("用法：/报送 退回 <编号> <单位> [原因]，如：/报送 退回 3 郑州市金水区教育局 粉丝数填错了")
    rid = ctx.int_arg(ctx.args[0], "报送编号")
    return await ctx.app.return_levels.send_back(
        rid, ctx.args[1], " ".join(ctx.args[2:]), actor=ctx.user_id, actor_name=ctx.name, scope=ctx.scope
    )


async def in_scope(ctx: Ctx, unit_text: str) -> None:
    """A city admin acts only for units of their scope (`/报送 接受`).

    Raises:
        UserError: the unit is outside the asker's scope.
    """
    if ctx.scope.everything:
        return
    unit = await ctx.app.units.resolve(unit_text, strict=True)
    if unit not in ctx.scope:
        raise UserError(f"“{unit.name}”不在你的管理范围（{ctx.scope.label}）内。")
