"""The web dashboard (SPEC §9) under /dashboard on the bot's own FastAPI server; off while DASHBOARD_TOKEN is empty."""

from __future__ import annotations

from nonebot import get_driver, logger
from nonebot.plugin import PluginMetadata

from plugins._kit import ADMIN, Topic
from plugins.dashboard import return_files  # noqa: F401  (its routes join the router before mounting)
from plugins.dashboard.web import router

HELP = [
    Topic(
        "后台",
        ADMIN,
        "网页管理后台：概览、单位、账号、统发与报送进度、粉丝排行、导入名册、导出",
        "浏览器打开 http://<机器人服务器>:<端口>/dashboard ，输入配置项 DASHBOARD_TOKEN 的令牌登录。\n"
        "DASHBOARD_TOKEN 为空时后台关闭。后台里的每一次导入、导出都记入操作记录。",
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


mount()


@get_driver().on_startup
async def _announce() -> None:
    from bot.app import current_app

    app = current_app()
    if app is not None and app.settings.dashboard_token:
        logger.info("管理后台已启用：/dashboard")
    elif app is not None:
        logger.info("管理后台未启用（DASHBOARD_TOKEN 为空）")
