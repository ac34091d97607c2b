"""The only ways in: the OneBot v11 adapter with its HTTP event routes closed unless they are signed.

How the promise holds (docs/PROMISES.md, "only a QQ client that presented the access token over its WebSocket can
deliver events"):

- reverse WebSocket (`/onebot/v11/ws`, `/onebot/v11/ws/`, `/onebot/v11/`): the adapter refuses the handshake
  when `ONEBOT_ACCESS_TOKEN` is set and the `Authorization: Bearer` header does not carry it; `check_exposure`
  stops the bot at start when the token is empty and the server listens on anything but the loopback;
- forward WebSocket (`ONEBOT_WS_URLS`): the bot presents the token; `check_exposure` refuses to start without one;
- HTTP POST (`/onebot/v11/`, `/onebot/v11/http`, `/onebot/v11/http/`): the stock adapter checks only
  `ONEBOT_SECRET` there, and with none set it takes any event and registers any `X-Self-ID` as a bot. Here
  every HTTP event is refused (403) unless `ONEBOT_SECRET` is set and the `X-Signature` checks; so no POST
  can speak for the admin, and none can register a bot that takes over the outbox or locks the real client out.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nonebot.adapters.onebot.v11 import Adapter as OneBotV11Adapter
from nonebot.drivers import Request, Response
from nonebot.log import logger

HTTP_REFUSED = "HTTP event posting is disabled: connect by reverse WebSocket with the access token"


class GuardedAdapter(OneBotV11Adapter):
    """OneBot v11 as the stock adapter, except that events posted over HTTP need a configured, valid signature."""

    async def _handle_http(self, request: Request) -> Response:
        if not self.onebot_config.onebot_secret:
            logger.warning(f"refused an OneBot event posted over HTTP to {request.url.path} (no ONEBOT_SECRET set)")
            return Response(403, content=HTTP_REFUSED)
        return await super()._handle_http(request)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.strip().lower() == "localhost"


def check_exposure(host: Any, access_token: str | None, ws_urls: Any) -> str | None:
    """Why the bot must not start with this connection set-up (the message names the key), or None.

    Args:
        host: the address the bot's server listens on (`HOST`).
        access_token: `ONEBOT_ACCESS_TOKEN`.
        ws_urls: `ONEBOT_WS_URLS`, the forward WebSocket targets.
    """
    if access_token:
        return None
    if ws_urls:
        return (
            "配置项 ONEBOT_ACCESS_TOKEN 为空，但配置了正向 WebSocket（ONEBOT_WS_URLS）：请在 QQ 客户端和 .env 里设置同一个"
            '长随机令牌，如 python -c "import secrets; print(secrets.token_hex(16))" 的输出'
        )
    if not _is_loopback(str(host)):
        return (
            f"配置项 ONEBOT_ACCESS_TOKEN 为空，而 HOST={host} 不只监听本机：任何人都能冒充 QQ 客户端。请设置一个长随机令牌"
            '（python -c "import secrets; print(secrets.token_hex(16))"），或把 HOST 改回 127.0.0.1'
        )
    return None
