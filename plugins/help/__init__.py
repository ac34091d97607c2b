"""/帮助: what the asking user may do, and each command explained with examples."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.render import Msg
from bot.roles import Role
from plugins._ctx import Ctx
from plugins._registry import COMMANDS, Command, command
from plugins._roles import ANYONE, OPERATOR
from plugins._topics import Topic, help_topics

HELP = [
    Topic(
        "帮助", ANYONE, "查看可用命令", "/帮助 — 列出你能用的命令\n/帮助 <命令> — 某个命令的说明和例子，如：/帮助 注册"
    ),
]


__plugin_meta__ = PluginMetadata(
    name="帮助",
    description="列出可用命令，解释每个命令",
    usage="/帮助\n/帮助 <命令>",
    extra={"help": HELP},
)


def needs(cmd: Command) -> Role:
    """The least role that may use any part of a command (its own use, a sub-command or its arguments)."""
    return min([cmd.may.role, *(n.role for n in cmd.subs.values())])


def may_use(cmd: Command, role: Role) -> list[str]:
    """The sub-commands `role` may use beyond what the command itself allows everyone who may use it."""
    return [word for word, n in cmd.subs.items() if cmd.may.role < n.role <= role]


def who_you_are(ctx: Ctx, bound: object) -> str:
    """省级管理员 / 市级管理员（管理范围：…）/ “单位”的联络员 / 群成员."""
    if ctx.role is Role.PROVINCE_ADMIN:
        return "省级管理员（管理全省）"
    if ctx.role is Role.CITY_ADMIN:
        return f"市级管理员（管理范围：{ctx.scope.label}）"
    if bound is not None:
        return f"“{bound[1].name}”的联络员"  # type: ignore[index]
    return "群成员（还没绑定单位）"


@command("帮助", "help", "菜单", may=Role.MEMBER, at_sender=False)
async def help_cmd(ctx: Ctx) -> Msg:
    if ctx.args:
        name = ctx.args[0].lstrip("/／")
        topic = next((t for t in help_topics() if t.name == name), None)
        if topic is None:
            raise UserError(f"没有命令“{name}”。发 /帮助 查看全部命令。")
        cmd = COMMANDS.get(topic.name)
        if cmd is not None and needs(cmd) > ctx.role:
            return Msg(f"“{topic.name}”是{needs(cmd).label}的命令。发 /帮助 查看你能用的命令。")
        detail = topic.text(ctx.app.settings)
        if ctx.role < Role.CITY_ADMIN:  # the admins' part of a topic everyone may read is for admins only
            detail = detail.split("管理员：\n")[0].rstrip()
        least = needs(cmd).label if cmd is not None else "所有人"
        return Msg(f"【/{topic.name}】{topic.summary}（{least}可用）\n{detail}")
    bound = await ctx.app.units.registrations.operator(ctx.user_id) if ctx.role < Role.CITY_ADMIN else None
    out = Msg(f"联盟助手 — 你是{who_you_are(ctx, bound)}，可以用：")
    for t in help_topics():
        cmd = COMMANDS.get(t.name)
        if cmd is not None and needs(cmd) > ctx.role:
            continue
        # the declarations know no 联络员 (the router looks no binding up for what anyone may use): what a topic says
        # is for operators is left out for someone bound to no unit
        if bound is None and ctx.role is Role.MEMBER and t.who == OPERATOR:
            continue
        more = may_use(cmd, ctx.role) if cmd is not None else []
        also = f"（{'、'.join(more)}）" if more else ""
        out.line(f"/{t.name} — {t.summary}{also}")
    if ctx.role is Role.CITY_ADMIN:
        out.line(
            "以上管理命令只作用于你管理范围内的单位；逐级汇总的报送：/报送 接受、/报送 退回 审核本地单位，/报送 上报 交给省里。"
        )
    if bound is None and ctx.role is Role.MEMBER:
        out.line("先发 /注册 <单位名称> 申请成为联络员，审核通过后可以登记账号、确认任务。")
    out.line("发 /帮助 <命令> 查看说明和例子，如：/帮助 注册")
    return out
