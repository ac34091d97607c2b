"""Exports: /导出 统计表|汇总表|备案表|统发 <编号>|报送 <编号> — an .xlsx sent to the admin privately."""

from __future__ import annotations

from nonebot.plugin import PluginMetadata

from bot.readouts import exports
from bot.render import Msg
from bot.roles import Role
from plugins._client import to_asker_privately
from plugins._ctx import Ctx
from plugins._registry import admins, command
from plugins._roles import ADMIN
from plugins._topics import Topic

HELP = [
    Topic(
        "导出",
        ADMIN,
        "导出 Excel 表格（统计表、汇总表、备案表、统发或报送进度）",
        "/导出 统计表 — 附件1：每个账号一行（账号名称、开设单位、类型、负责人等，电话和微信号留给单位填写）\n"
        "/导出 汇总表 — 附件2：各单位各平台账号数\n"
        "/导出 备案表 — 备案汇总表：所有开设、变更、注销备案\n"
        "/导出 统发 <编号> — 例：/导出 统发 3，各单位谁在什么时候确认、谁还没有\n"
        "/导出 报送 <编号> — 例：/导出 报送 2\n"
        "文件私聊发给你（在群里发命令也一样，群里只说一声）；也可以在管理后台下载。私聊发不出去时，机器人会告诉你文件在服务器上的位置。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="导出",
    description="按官方表格格式导出 Excel",
    usage="/导出 统计表|汇总表|备案表|统发 <编号>|报送 <编号>",
    extra={"help": HELP},
)


@command("导出", may=admins("导出表格", Role.CITY_ADMIN))
async def export_cmd(ctx: Ctx) -> Msg:
    kind, task_id = exports.parse_kind(ctx.args)
    made = await ctx.app.exports.export(kind, task_id, actor=ctx.user_id, scope=ctx.scope)
    return await to_asker_privately(ctx, made, f"已导出{made.title}（{made.rows} 行）")
