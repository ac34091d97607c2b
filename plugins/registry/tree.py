"""The alliance tree in the roster: /单位 上级 and /单位 下级, and the 上级单位 line of a unit's card."""

from __future__ import annotations

from bot.app import App
from bot.errors import UserError
from bot.render import Msg
from bot.units.records import Unit
from bot.units.tree import PROVINCE, is_province
from plugins._ctx import Ctx
from plugins._reply import list_reply


async def parent_line(app: App, unit: Unit) -> str:
    """`上级单位：郑州市教育局`, with the 县区 when the roster gave one."""
    parent = await app.units.parent(unit)
    county = f"　县区：{unit.county}" if unit.county else ""
    return f"上级单位：{parent.name if parent else PROVINCE}{county}"


UNIT_PARENT_USAGE = (
    "用法：/单位 上级 <单位> <上级单位>，如：/单位 上级 郑州市第九中学 郑州市金水区教育局；"
    f"直属省里的写“{PROVINCE}”，恢复默认归属写“默认”。"
)


async def unit_parent(ctx: Ctx) -> Msg:
    """/单位 上级 <单位> [上级单位] (admins, declared in UNIT_MAY): show a unit's chain of parents, or move it."""
    if len(ctx.args) == 1:
        unit = await ctx.app.units.resolve(ctx.args[0])
        ctx.scope.check(unit)
        chain = [u.name for u in await ctx.app.units.ancestors(unit)] + [PROVINCE]
        return Msg(f"“{unit.name}”的上级单位：{' → '.join(chain)}").line(UNIT_PARENT_USAGE.replace("用法", "要调整"))
    if not ctx.args:
        raise UserError(UNIT_PARENT_USAGE)
    if len(ctx.args) != 2:
        raise UserError(UNIT_PARENT_USAGE)
    unit, old, new = await ctx.app.units.move(ctx.args[0], ctx.args[1], actor=ctx.user_id, scope=ctx.scope)
    before, after = (old.name if old else PROVINCE), (new.name if new else PROVINCE)
    if before == after:
        return Msg(f"“{unit.name}”的上级单位本来就是“{after}”，没有变化。")
    return Msg(f"已把“{unit.name}”的上级单位从“{before}”改为“{after}”。")


async def unit_below(ctx: Ctx) -> Msg:
    """/单位 下级 [单位] (admins, declared in UNIT_MAY): a unit's subtree (none: the province) with counts; cut in a
    group."""
    name = " ".join(ctx.args)
    unit = None if not name or is_province(name) else await ctx.app.units.resolve_area(name)
    if not ctx.scope.everything:  # a city admin: their own subtree (none named), or a unit of it
        unit = unit or await ctx.app.units.get(ctx.scope.owner or 0)
        if unit is None:
            raise ctx.scope.refusal(name or "全省")
        ctx.scope.check(unit)
    below = await ctx.app.units.below(unit)
    where = f"“{unit.name}”" if unit else PROVINCE
    if not below.units:
        parent = (await parent_line(ctx.app, unit)).removeprefix("上级单位：") if unit else ""
        return Msg(f"{where}下面没有单位。" + (f"它的上级单位是“{parent}”。" if unit else ""))
    head = f"{where}下面共 {len(below.units)} 个单位，有联络员的 {len(below.staffed)} 个。"
    counts = "按类别：" + "、".join(f"{c} {n}（有联络员 {s}）" for c, n, s in below.by_category())
    if unit is None:  # the province: one line per unit with units under it, the rest counted by category
        lines, direct = [], {}
        for u, depth in below.units:
            if depth == 1 and (below.children[u.id] or u.category == "市教育局"):  # every city, even empty
                sub_ids = await ctx.app.units.subtree(u)
                staffed = len(below.staffed & sub_ids - {u.id})
                lines.append(f"· {u.name}：下级 {len(sub_ids) - 1} 个，有联络员 {staffed} 个")
            elif depth == 1:
                direct[u.category] = direct.get(u.category, 0) + 1
        if direct:
            lines.append(f"直属{PROVINCE}：" + "、".join(f"{c} {n} 个" for c, n in direct.items()))
    else:
        lines = [
            "　" * (depth - 1)
            + f"· {u.name}（{u.category}"
            + (f"，下级 {below.children[u.id]} 个" if below.children[u.id] else "")
            + ("" if u.id in below.staffed else "，无联络员")
            + "）"
            for u, depth in below.units
        ]
    return list_reply(ctx, head, [counts, *lines])
