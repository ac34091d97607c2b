"""The linked article's real title, fetched when a 统发 is posted (SPEC §9).

How it stays safe and quick: only http/https; every address the name resolves to must be a public one
(never this machine, a private network, link-local or reserved space) unless ALLIANCE_FETCH_PRIVATE allows
it, and the request goes to the address checked (no second lookup); checked again at every redirect (at
most 3); a short timeout; at most ALLIANCE_FETCH_MAX_BYTES read; nothing in the page is run. WeChat articles carry the title in `og:title` and `var msg_title`.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

log = logging.getLogger("alliance.titles")

OK, DEAD, UNREACHABLE = "ok", "dead", "unreachable"
MAX_REDIRECTS = 3
USER_AGENT = "Mozilla/5.0 (compatible; alliance-bot/1.0; +https://github.com/)"


@dataclass(frozen=True)
class Page:
    """What fetching a link found: `ok` with a title (None when the page has none), `dead` (404/410), or
    `unreachable` (with the reason, for the admin)."""

    state: str
    title: str | None = None
    reason: str = ""


Fetcher = Callable[[str], Awaitable[Page]]


class Blocked(Exception):
    """The link points at this machine or a private network."""


_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_MSG_TITLE = re.compile(r"""\bmsg_title\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)


def _clean(text: str) -> str | None:
    text = html.unescape(html.unescape(text))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:120] or None


def extract_title(page: str) -> str | None:
    """`og:title`, then WeChat's `msg_title`, then `<title>`."""
    for tag in _META.findall(page):
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(tag)}
        if (attrs.get("property") or attrs.get("name") or "").lower() in ("og:title", "twitter:title"):
            if title := _clean(attrs.get("content", "")):
                return title
    if m := _MSG_TITLE.search(page):
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        if title := _clean(raw.replace("\\x26", "&").replace("\\'", "'").replace('\\"', '"')):
            return title
    if m := _TITLE.search(page):
        return _clean(m.group(1))
    return None


def _decode(body: bytes, content_type: str) -> str:
    charset = None
    if m := re.search(r"charset=([A-Za-z0-9_-]+)", content_type, re.I):
        charset = m.group(1)
    elif m := _CHARSET.search(body[:4096]):
        charset = m.group(1).decode("ascii", "ignore")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


async def _pin(url: str, allow_private: bool) -> tuple[str, dict[str, str], dict[str, str]]:
    """Resolve the link's host once, check every address, and aim the request at the first one: (the URL with
    the address, the Host header, the TLS name). Connecting to the address checked leaves no second lookup
    that could answer differently (DNS rebinding).

    Raises:
        Blocked: not http/https, or an address on this machine or a private network.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blocked("只读取 http/https 链接")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise OSError("no address")
    if not allow_private and any(not ip.is_global or ip.is_multicast for ip in addresses):
        raise Blocked("链接指向本机或内网地址，按设置不读取")
    ip = addresses[0]
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = parts._replace(netloc=f"{host}:{port}").geturl()
    default_port = port == (443 if parts.scheme == "https" else 80)
    headers = {"Host": parts.hostname if default_port else f"{parts.hostname}:{port}"}
    return pinned, headers, {"sni_hostname": parts.hostname}


async def fetch_page(
    url: str,
    *,
    timeout: float = 5,
    max_bytes: int = 1_000_000,
    allow_private: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Page:
    """Fetch `url` and read its title; never raises."""
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport, trust_env=False
        ) as client:
            return await asyncio.wait_for(_fetch(client, url, max_bytes, allow_private), timeout * 2)
    except Blocked as e:
        return Page(UNREACHABLE, reason=str(e))
    except TimeoutError:
        return Page(UNREACHABLE, reason=f"{timeout:g} 秒内没有打开")
    except (httpx.HTTPError, OSError) as e:
        return Page(UNREACHABLE, reason=_why_unreachable(e))
    except Exception as e:  # a page must never stop a 统发
        log.warning("fetching %s failed: %r", url, e)
        return Page(UNREACHABLE, reason="打不开")


def _why_unreachable(e: BaseException) -> str:
    """What went wrong, in words an office worker reads (`gaierror` is 网址无法访问: no such site)."""
    if isinstance(e, socket.gaierror | httpx.ConnectError):
        return "网址无法访问，找不到这个网站或连不上"
    if isinstance(e, httpx.TimeoutException):
        return "网址无法访问，网站长时间没有响应"
    return "网址无法访问"


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int, allow_private: bool) -> Page:
    for _ in range(MAX_REDIRECTS + 1):
        pinned, host, tls = await _pin(url, allow_private)
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html", **host}
        async with client.stream("GET", pinned, headers=headers, extensions=tls) as resp:
            if resp.is_redirect and "location" in resp.headers:
                url = urljoin(url, resp.headers["location"])
                continue
            if resp.status_code in (404, 410):
                return Page(DEAD, reason=f"网页返回 {resp.status_code}")
            if resp.status_code >= 400:
                return Page(UNREACHABLE, reason=f"网页返回 {resp.status_code}")
            body = b""
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) >= max_bytes:
                    body = body[:max_bytes]
                    break
            return Page(OK, extract_title(_decode(body, resp.headers.get("content-type", ""))))
    return Page(UNREACHABLE, reason=f"跳转超过 {MAX_REDIRECTS} 次")
