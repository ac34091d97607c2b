"""Quick query: /查询 [单位] answers everything about a unit in one message."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.readouts.query import gather, render
from bot.render import Msg
from bot.roles import Role
from plugins._ctx import Ctx
from plugins._registry import command
from plugins._roles import ANYONE
from plugins._topics import Topic

HELP = [
    Topic(
        "查询",
        ANYONE,
        "一条消息看一个单位的全部情况",
        "/查询 — 查我的单位\n/查询 <单位> — 全称、简称或拼音首字母都可以，例：/查询 郑州大学、/查询 郑大、/查询 zzdx\n"
        "内容：类别、地市、联络员（只显示姓名）、账号及最新粉丝数、进行中的报送、近30天统发完成情况、待审核备案",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="查询",
    description="一个单位的类别、联络员、账号、报送、统发和备案，一条消息说清",
    usage="/查询 [单位]",
    extra={"help": HELP},
)


@command("查询", may=Role.MEMBER)
async def query(ctx: Ctx) -> Msg:
    if ctx.args:
        unit = await ctx.app.units.resolve(" ".join(ctx.args))
    else:
        bound = await ctx.app.units.registrations.operator(ctx.user_id)
        if bound is None:
            raise UserError(
                "你还没有绑定单位。查某个单位请写出名称，如：/查询 郑州大学；要成为联络员请发 /注册 <单位名称>。"
            )
        unit = bound[1]
    app = ctx.app
    return render(
        await gather(
            unit,
            units=app.units,
            accounts=app.accounts,
            followers=app.followers,
            broadcasts=app.broadcasts,
            returns=app.returns,
        ),
        limit=ctx.limit,
    )
