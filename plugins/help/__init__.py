"""/帮助: what the asking user may do, and each command explained with examples."""

from __future__ import annotations

from dataclasses import dataclass

from nonebot import on_command
from nonebot.adapters.onebot.v11 import Message, MessageEvent
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from bot.errors import UserError
from bot.render import Msg
from plugins._kit import Ctx, run

__plugin_meta__ = PluginMetadata(
    name="帮助",
    description="列出可用命令，解释每个命令",
    usage="/帮助\n/帮助 <命令>",
)

ANYONE, OPERATOR, ADMIN = "所有人", "联络员", "管理员"


@dataclass(frozen=True)
class Topic:
    name: str
    who: str
    summary: str
    detail: str


TOPICS: list[Topic] = [
    Topic(
        "帮助", ANYONE, "查看可用命令", "/帮助 — 列出你能用的命令\n/帮助 <命令> — 某个命令的说明和例子，如：/帮助 注册"
    ),
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
        "管理员：\n/单位 添加 <名称> <类别> [地市] — 例：/单位 添加 郑州市第九中学 高中 郑州\n"
        "/单位 别名 <名称> <简称…> — 例：/单位 别名 郑州大学 郑大 zzu\n"
        "/单位 改名 <旧名> <新名>\n/单位 删除 <名称>（历史记录保留）",
    ),
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
        "我的单位",
        OPERATOR,
        "我的单位、联络员、账号和待办",
        "/我的单位 — 显示你所在单位的信息、联络员、账号和待审核的备案",
    ),
    Topic("解绑", OPERATOR, "不再做所在单位的联络员", "/解绑 — 解除你和所在单位的绑定；以后可以重新 /注册"),
    Topic(
        "审核",
        ADMIN,
        "审核注册申请",
        "/审核 — 列出待审核的申请\n/审核 通过 <编号…> — 例：/审核 通过 3 4 5\n/审核 驳回 <编号> [原因] — 例：/审核 驳回 6 单位名称有误",
    ),
    Topic(
        "备案",
        ADMIN,
        "审核账号备案",
        "/备案 — 列出待审核的备案\n/备案 通过 <编号…> — 例：/备案 通过 12 13\n/备案 驳回 <编号> [原因] — 例：/备案 驳回 14 账号名称不规范",
    ),
    Topic(
        "未绑定", ADMIN, "群里没绑定单位的成员，和没有联络员的单位", "/未绑定 — 在群里发，查本群；私聊发，查所有联盟群"
    ),
    Topic(
        "发送记录",
        ADMIN,
        "发送失败或不确定是否送达的消息",
        "/发送记录 — 这些消息不会自动重发，以免重复刷屏；请核对后手动补发",
    ),
]
_BY_NAME = {t.name: t for t in TOPICS}


async def help_cmd(ctx: Ctx) -> Msg:
    if ctx.args:
        name = ctx.args[0].lstrip("/／")
        topic = _BY_NAME.get(name)
        if topic is None:
            raise UserError(f"没有命令“{name}”。发 /帮助 查看全部命令。")
        return Msg(f"【/{topic.name}】{topic.summary}（{topic.who}）\n{topic.detail}")
    bound = await ctx.app.units.operator(ctx.user_id)
    roles = {ANYONE} | ({OPERATOR} if bound or ctx.is_admin else set()) | ({ADMIN} if ctx.is_admin else set())
    who = "管理员" if ctx.is_admin else (f"“{bound[1].name}”的联络员" if bound else "群成员（还没绑定单位）")
    out = Msg(f"联盟助手 — 你是{who}，可以用：")
    for t in TOPICS:
        if t.who in roles:
            out.line(f"/{t.name} — {t.summary}")
    if not bound and not ctx.is_admin:
        out.line("先发 /注册 <单位名称> 申请成为联络员，审核通过后可以登记账号、确认任务。")
    out.line("发 /帮助 <命令> 查看说明和例子，如：/帮助 注册")
    return out


help_matcher = on_command("帮助", aliases={"help", "菜单"}, priority=10, block=True)


@help_matcher.handle()
async def _help(event: MessageEvent, arg: Message = CommandArg()) -> None:
    await run(event, arg, help_cmd, at_sender=False)
