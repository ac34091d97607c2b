"""/群: a city's own group (issue 24.3, SPEC §13). A province admin ties an alliance group to a city (its 市教育局):
that city admin's own tasks and nudges are announced there; the rules live in bot/units/groups.py."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.render import Msg
from bot.roles import Role
from bot.units.tree import PROVINCE, is_province
from plugins._ctx import Ctx
from plugins._registry import admins, command, sub
from plugins._roles import ADMIN
from plugins._topics import Topic

USAGE = (
    "用法：在要设置的联盟群里发 /群 归属 <城市>，如：/群 归属 郑州；改回省里的群：/群 归属 全省；"
    "私聊可写群号：/群 归属 <城市> <群号>"
)

HELP = [
    Topic(
        "群",
        ADMIN,
        "把联盟群设为某个城市自己的群（市级管理员的统发、催办只发到本市的群）",
        "/群 — 各联盟群的归属\n"
        "/群 归属 <城市> — 在联盟群里发，把这个群设为该市的群，如：/群 归属 郑州\n"
        "/群 归属 全省 — 改回省里的群\n"
        "市级管理员发布的统发、报送和他们的催办只发到本市的群（本市没有群时发到省里的群）；省里的任务照常发到所有联盟群。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="群归属",
    description="联盟群归属哪个城市",
    usage="/群 归属 <城市>",
    extra={"help": HELP},
)


async def tie(ctx: Ctx) -> Msg:
    args = list(ctx.args)
    group = ctx.group_id
    if args and args[-1].isdigit() and len(args) > 1:
        group = args.pop()
    if not args or group is None:
        raise UserError(USAGE)
    text = " ".join(args)
    if is_province(text):
        old = await ctx.app.city_groups.untie(group, actor=ctx.user_id)
        if old is None:
            return Msg(f"群 {group} 本来就是{PROVINCE}的群，没有变化。")
        return Msg(f"群 {group} 已改回{PROVINCE}的群（原归属：{old.name}）。")
    unit = await ctx.app.city_groups.tie(group, text, actor=ctx.user_id)
    return Msg(
        f"已把群 {group} 设为“{unit.name}”的群：该单位及其下级的市级管理员发布的统发、报送和催办只发到这里；"
        f"省里的任务照常发到所有联盟群。改回：/群 归属 {PROVINCE}"
    )


async def overview(ctx: Ctx) -> Msg:
    if ctx.args:
        raise UserError(USAGE)
    out = Msg("各联盟群的归属：")
    for group, unit in (await ctx.app.city_groups.listing()).items():
        out.line(f"群 {group}：{unit.name if unit else PROVINCE}")
    return out.line("设置：/群 归属 <城市>（在要设置的群里发）")


@command("群", may=admins("查看联盟群的归属", Role.CITY_ADMIN), subs={"归属": admins("设置联盟群的归属")})
async def group_cmd(ctx: Ctx) -> Msg:
    return await sub(ctx, {"归属": tie}, overview)
