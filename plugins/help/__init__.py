"""/帮助: what the asking user may do, and each command explained with examples."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.render import Msg
from bot.roles import Role
from plugins._ctx import Ctx
from plugins._registry import command
from plugins._roles import ADMIN, ANYONE, OPERATOR, ROLES
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


@command("帮助", "help", "菜单", may=Role.MEMBER, at_sender=False)
async def help_cmd(ctx: Ctx) -> Msg:
    if ctx.args:
        name = ctx.args[0].lstrip("/／")
        topic = next((t for t in help_topics() if t.name == name), None)
        if topic is None:
            raise UserError(f"没有命令“{name}”。发 /帮助 查看全部命令。")
        if topic.who == ADMIN and not ctx.is_admin:
            return Msg(f"“{topic.name}”是管理员的命令。发 /帮助 查看你能用的命令。")
        detail = topic.text(ctx.app.settings)
        if not ctx.is_admin:  # the admins' part of a topic everyone may read is for admins only
            detail = detail.split("管理员：\n")[0].rstrip()
        return Msg(f"【/{topic.name}】{topic.summary}（{topic.who}）\n{detail}")
    bound = await ctx.app.units.operator(ctx.user_id)
    roles = {ANYONE} | ({OPERATOR} if bound or ctx.is_admin else set()) | ({ADMIN} if ctx.is_admin else set())
    who = "管理员" if ctx.is_admin else (f"“{bound[1].name}”的联络员" if bound else "群成员（还没绑定单位）")
    out = Msg(f"联盟助手 — 你是{who}，可以用：")
    for t in sorted(help_topics(), key=lambda t: ROLES.index(t.who)):
        if t.who in roles:
            out.line(f"/{t.name} — {t.summary}")
    if not bound and not ctx.is_admin:
        out.line("先发 /注册 <单位名称> 申请成为联络员，审核通过后可以登记账号、确认任务。")
    out.line("发 /帮助 <命令> 查看说明和例子，如：/帮助 注册")
    return out
