"""The web dashboard under /dashboard on the bot's own FastAPI server; off while DASHBOARD_TOKEN is empty."""

from __future__ import annotations

from nonebot import get_driver, logger
from nonebot.plugin import PluginMetadata

from bot.config import DASHBOARD_TOKEN_MIN, dashboard_url
from bot.render import Msg
from bot.roles import Role
from plugins._ctx import Ctx
from plugins._registry import admins, command
from plugins._reply import Reply, privately
from plugins._roles import ADMIN
from plugins._topics import Topic
from plugins.dashboard import (  # noqa: F401  (their routes join the router before mounting)
    files,
    links,
    pages,
    return_files,
)
from plugins.dashboard.web import router

HELP = [
    Topic(
        "后台",
        ADMIN,
        "网页管理后台：概览、单位、账号、统发与报送进度、粉丝排行、导入名册、导出",
        "/后台 — 私聊告诉你后台的网址，以及后台现在是否开着\n"
        "用浏览器打开这个网址，输入登录令牌（由管理机器人的同事保管）。后台里的每一次导入、导出都记入操作记录。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="管理后台",
    description="网页管理后台（/dashboard），用 DASHBOARD_TOKEN 登录",
    usage="浏览器打开 /dashboard，输入 DASHBOARD_TOKEN 登录",
    extra={"help": HELP},
)


def mount() -> bool:
    """Add the dashboard's routes to the FastAPI app NoneBot serves (once)."""
    driver = get_driver()
    server_app = getattr(driver, "server_app", None)
    if server_app is None or not hasattr(server_app, "include_router"):
        logger.warning(f"管理后台需要 FastAPI 驱动，当前驱动 {type(driver).__name__} 不支持，后台未启用")
        return False
    if not any(getattr(r, "path", "") == router.prefix for r in server_app.router.routes):
        server_app.include_router(router)
    return True


MOUNTED = mount()


@get_driver().on_startup
async def _announce() -> None:
    from bot.app import current_app

    app = current_app()
    if app is not None and app.settings.dashboard_token:
        logger.info("管理后台已启用：/dashboard")
    elif app is not None:
        logger.info("管理后台未启用（DASHBOARD_TOKEN 为空）")


def address() -> tuple[str, bool]:
    """The dashboard's address (from HOST and PORT) and whether it is served (a token is set and the routes are on)."""
    from bot.app import get_app

    driver = get_driver()
    url = dashboard_url(driver.config.host, driver.config.port)
    return url, MOUNTED and bool(get_app().settings.dashboard_token)


@command("后台", "管理后台", may=admins("打开管理后台", Role.CITY_ADMIN), at_sender=False)
async def dashboard_cmd(ctx: Ctx) -> Reply:
    url, on = address()
    if on:
        code = links.LINKS.issue(ctx.user_id, ctx.scope)
        mine = f"{url.rstrip('/')}/enter?c={code}"
        own = f"你的登录链接（只能用一次，{links.LINK_SECONDS // 60} 分钟内有效，请勿转发）：{mine}"
        msg = Msg(
            f"管理后台：{url}\n用浏览器打开，输入登录令牌登录（令牌在机器人的配置文件 .env 里，由管理机器人的同事保管）。"
            if ctx.scope.everything
            else f"管理后台（{ctx.scope.label}）：{url}"
        ).line(own)
        if str(get_driver().config.host) in ("127.0.0.1", "localhost", "::1"):
            msg.line("这个地址只能在运行机器人的电脑上打开。")
    else:
        msg = Msg(
            f"管理后台现在没有开启（地址会是 {url}）。开启方法：在机器人的 .env 里给 DASHBOARD_TOKEN 填一串至少 {DASHBOARD_TOKEN_MIN} 个字符的随机字符"
            "作为登录令牌，然后重启机器人。"
        )
    return privately(ctx, Msg(), msg, "管理后台的地址已私聊发给你。")
