"""/管理员: who the city admins are (issue 24.1). A province admin appoints one for a unit's subtree, removes one,
lists them; anyone may ask what they themselves may do. The rules live in bot/roles.py."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.names import is_qq
from bot.render import Msg
from bot.roles import Role
from plugins._ctx import Ctx
from plugins._registry import admins, command, sub
from plugins._reply import Reply, admin_list
from plugins._roles import ADMIN
from plugins._topics import Topic

HELP = [
    Topic(
        "管理员",
        ADMIN,
        "任命、撤销市级管理员（管理某个单位及其下级单位）",
        "/管理员 — 看看你是什么角色、管理哪些单位\n"
        "/管理员 任命 <QQ号或@某人> <单位> — 任命市级管理员，如：/管理员 任命 123456789 郑州市教育局\n"
        "/管理员 撤销 <QQ号或@某人> [单位] — 撤销任命（不写单位：撤销此人的全部任命）\n"
        "/管理员 列表 — 所有市级管理员\n"
        "市级管理员在本市范围内可以用管理员命令（如 /后台）；任命、撤销、单位的添加删除改名只有省级管理员可以办理。"
        "任命、撤销立即生效，记入操作记录。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="管理员",
    description="省级管理员任命、撤销市级管理员",
    usage="/管理员 任命|撤销|列表",
    extra={"help": HELP},
)

USAGE = "用法：/管理员 任命 <QQ号或@某人> <单位>，如：/管理员 任命 123456789 郑州市教育局"


def _person(ctx: Ctx, usage: str) -> str:
    """The person named by an @-mention or a QQ number (taken out of the arguments)."""
    if ctx.mentions:
        return ctx.mentions[0]
    if ctx.args and is_qq(ctx.args[0]):
        return ctx.args.pop(0)
    raise UserError(f"请写对方的QQ号或 @ 对方。{usage}")


async def appoint(ctx: Ctx) -> Msg:
    person = _person(ctx, USAGE)
    if not ctx.args:
        raise UserError(f"请写要管理的单位。{USAGE}")
    unit, size = await ctx.app.roles.appoint(ctx.user_id, person, " ".join(ctx.args))
    return _named(ctx, "已任命 ", person).text(
        f" 为市级管理员，管理“{unit.name}”及其下级单位（共 {size} 个单位），立即生效。"
    )


async def revoke(ctx: Ctx) -> Msg:
    person = _person(ctx, "用法：/管理员 撤销 <QQ号或@某人> [单位]")
    gone = await ctx.app.roles.revoke(ctx.user_id, person, " ".join(ctx.args))
    return _named(ctx, "已撤销 ", person).text(f" 的市级管理员任命：{'、'.join(u.name for u in gone)}。立即生效。")


def _named(ctx: Ctx, before: str, person: str) -> Msg:
    """`before` and the person: @-mentioned in a group (a QQ id is never shown there), the QQ id in private."""
    return Msg(before).at(person) if ctx.in_group else Msg(f"{before}{person}")


async def listing(ctx: Ctx) -> Reply:
    rows = await ctx.app.roles.listing()
    if not rows:
        return Msg("还没有任命市级管理员。任命：" + USAGE.removeprefix("用法："))
    out = Msg(f"市级管理员 {len(rows)} 人次：")
    for a in rows:
        out.line(f"{a.unit.name}：{a.user_id}（{a.by} 任命于 {a.at[:10]}）")
    return admin_list(ctx, out, f"市级管理员 {len(rows)} 人次")


async def mine(ctx: Ctx) -> Msg:
    role, scope = await ctx.app.roles.of(ctx.user_id)
    where = f"，管理范围：{scope.label}" if role >= Role.CITY_ADMIN else (f"（{scope.label}）" if scope else "")
    return Msg(f"你是{role.label}{where}。发 /帮助 查看你能用的命令。")


ADMINS_SUBS = {"任命": appoint, "撤销": revoke, "列表": listing}

# who may use each sub-command (/管理员 alone: anyone, to learn their own role)
ADMINS_MAY = {
    "任命": admins("任命市级管理员"),
    "撤销": admins("撤销市级管理员"),
    "列表": admins("查看管理员名单"),
}


@command("管理员", may=Role.MEMBER, subs=ADMINS_MAY)
async def admins_cmd(ctx: Ctx) -> Reply:
    return await sub(ctx, ADMINS_SUBS, mine)
