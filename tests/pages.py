"""A tiny HTTP server on 127.0.0.1 with pages for the title fetcher: a WeChat-like article, a 404, redirects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

WECHAT = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title></title>
<meta property="og:title" content="学习贯彻全国教育大会精神 &amp; 推进教育强省建设" />
<script>var msg_title = '学习贯彻全国教育大会精神 \\x26amp; 推进教育强省建设'.html(false);</script>
</head><body>正文</body></html>"""

MSG_ONLY = """<html><head><script>var msg_title = "只有 msg_title 的文章";</script></head></html>"""

PAGES: dict[str, tuple[int, dict[str, str], str]] = {
    "/s/wx": (200, {"Content-Type": "text/html; charset=utf-8"}, WECHAT),
    "/s/msg": (200, {"Content-Type": "text/html"}, MSG_ONLY),
    "/s/plain": (200, {"Content-Type": "text/html"}, "<html><title> 普通网页 标题 </title></html>"),
    "/s/gone": (404, {"Content-Type": "text/html"}, "<title>404</title>"),
    "/s/deleted": (410, {}, ""),
    "/s/broken": (500, {}, ""),
    "/s/moved": (302, {"Location": "/s/wx"}, ""),
    "/s/loop": (302, {"Location": "/s/loop"}, ""),
}

# hostile pages (issue 20 item 6): each one was quadratic for the old regexes, or is a classic trap for a parser
HOSTILE: dict[str, str] = {
    "title": "<title>" * (200_000 // 7),  # the page of the report: /帮助 waited 28.9 s behind it
    "meta": "<meta " * (200_000 // 6),
    "comment": "<html><head><!--" + "<title>x</title>" * 12_000,  # never closed
    "script": "<html><script>" + "<title>x</title>" * 12_000,  # never closed
    "nested": "<div><span>" * 18_000 + "<title>深处的标题</title>",
    "lt": "<" * 1_000_000,  # the 1 MB cap of `<`
    "attrs": '<meta property="og:title" ' + 'content="' * 22_000,
    "msg": "<script>" + "var msg_title = '" * 12_000 + "</script>",
    "late": "<title>" * (200_000 // 7) + '<meta property="og:title" content="后面的真标题">',
}
for _name, _body in HOSTILE.items():
    PAGES[f"/h/{_name}"] = (200, {"Content-Type": "text/html; charset=utf-8"}, _body)


SERVED: list[str] = []  # the paths served, in order, once their whole answer was written


@asynccontextmanager
async def serve_pages() -> AsyncIterator[str]:
    """Serve PAGES on a free port; yields the base address `http://127.0.0.1:PORT`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode()
            status, headers, body = PAGES.get(path, (404, {}, "not found"))
            if path == "/s/big":
                status, headers, body = 200, {"Content-Type": "text/html"}, "<title>大</title>" + "x" * 3_000_000
            data = body.encode()
            head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(head.encode() + b"\r\n" + data)
            await writer.drain()
            SERVED.append(path)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()
