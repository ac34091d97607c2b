"""Watching the bot (issue 25 §2): GET /healthz and /metrics on the bot's own server, /状态 for admins.

Access to both paths: a request from this machine (its address read as the dashboard reads it: behind a configured
trusted proxy, the forwarded one, so a reverse proxy on the same machine does not make the world local), or one that carries the dashboard's token
as `Authorization: Bearer <DASHBOARD_TOKEN>` (compared like the dashboard's login). Anyone else gets 403 and no
data. The facts come from the core (`bot.health`, `bot.metrics`).
"""

from __future__ import annotations

import ipaddress

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from nonebot import get_driver, logger
from nonebot.adapters.onebot.v11 import Event
from nonebot.message import event_preprocessor
from nonebot.plugin import PluginMetadata
from prometheus_client import CONTENT_TYPE_LATEST

from bot import metrics
from bot.app import App, current_app
from bot.health import metrics_text
from bot.render import Msg
from plugins._ctx import Ctx
from plugins._registry import admins, command
from plugins._reply import Reply, privately
from plugins._roles import ADMIN
from plugins._topics import Topic
from plugins.dashboard.web import client_address, token_matches

HELP = [
    Topic(
        "状态",
        ADMIN,
        "机器人的运行状态：版本、运行时长、QQ 账号是否在线、待发消息、数据库和文件大小、最近备份",
        "/状态 — 私聊告诉你机器人现在是否一切正常，有问题时写明是什么问题\n"
        "QQ 账号断开超过 10 分钟（工作时间）或消息积压超过 10 分钟时，机器人会主动私聊告诉管理员。",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="运行状态",
    description="/healthz 与 /metrics（本机或带后台令牌访问），管理员私聊 /状态",
    usage="/状态 — 管理员查看机器人运行状态",
    extra={"help": HELP},
)

REFUSED = "只能在运行机器人的电脑上访问，或带上请求头 Authorization: Bearer <DASHBOARD_TOKEN>。"


def is_local(request: Request, app: App) -> bool:
    """A request from this machine: the address the dashboard counts logins against (the peer, or behind a trusted
    proxy the nearest forwarded address that is not one) is a loopback address."""
    try:
        return ipaddress.ip_address(client_address(request, app)).is_loopback
    except ValueError:
        return False


def allowed(request: Request, app: App) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return is_local(request, app) or (scheme.lower() == "bearer" and token_matches(app, given.strip()))


def _refused(app: App | None) -> Response | None:
    if app is None:
        return Response("机器人还没有启动完。", status_code=503, media_type="text/plain; charset=utf-8")
    return None


async def healthz(request: Request) -> Response:
    app = current_app()
    if (early := _refused(app)) is not None:
        return early
    assert app is not None
    if not allowed(request, app):
        return Response(REFUSED, status_code=403, media_type="text/plain; charset=utf-8")
    report = await app.health.report()
    return JSONResponse(report.as_json(), status_code=200 if report.ok else 503, headers={"Cache-Control": "no-store"})


async def metrics_endpoint(request: Request) -> Response:
    app = current_app()
    if (early := _refused(app)) is not None:
        return early
    assert app is not None
    if not allowed(request, app):
        return Response(REFUSED, status_code=403, media_type="text/plain; charset=utf-8")
    return Response(metrics_text(await app.health.report()), media_type=CONTENT_TYPE_LATEST)


def mount() -> bool:
    """Add /healthz and /metrics to the FastAPI app NoneBot serves (once)."""
    server_app = getattr(get_driver(), "server_app", None)
    if server_app is None or not hasattr(server_app, "add_api_route"):
        logger.warning("/healthz 与 /metrics 需要 FastAPI 驱动，未启用")
        return False
    paths = {getattr(r, "path", "") for r in server_app.router.routes}
    if "/healthz" not in paths:
        server_app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    if "/metrics" not in paths:
        server_app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return True


MOUNTED = mount()


def _count_error(message: object) -> None:
    record = getattr(message, "record", None)
    metrics.ERRORS.labels(str(record["name"] if record else "?").split(".")[0] or "?").inc()


logger.add(_count_error, level="ERROR", format="{message}", catch=True)  # every ERROR logged, counted


@event_preprocessor
async def _count_event(event: Event) -> None:
    metrics.EVENTS.labels(event.post_type).inc()
    if getattr(event, "notice_type", None) in ("group_msg_emoji_like", "reaction"):
        metrics.REACTIONS.inc()


@command("状态", "运行状态", may=admins("查看机器人的运行状态"))
async def status_cmd(ctx: Ctx) -> Reply:
    return privately(ctx, Msg(), await ctx.app.health.status(), "机器人的运行状态已私聊发给你。")
