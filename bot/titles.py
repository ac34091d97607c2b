"""The linked article's real title, fetched when a 统发 is posted.

How it stays safe and quick: the address guard of bot/netguard.py (only http/https, only public addresses
unless ALLIANCE_FETCH_PRIVATE allows the rest, the request aimed at the address checked, every redirect checked
again, at most 3); a short timeout; at most ALLIANCE_FETCH_MAX_BYTES read; nothing in the page is run. The title
is read by an HTML parser in a worker thread (never on the event loop), in time linear in the page and within
PARSE_SECONDS: a hostile page (issue 20: `<title>` or `<meta ` repeated, unclosed comments and scripts, deep
nesting, a megabyte of `<`) costs a fraction of a second and never holds up anyone's answer. WeChat articles carry
the title in `og:title` and `var msg_title`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

from bot import netguard
from bot.netguard import MAX_REDIRECTS, Blocked, Guard, TooManyRedirects

__all__ = ["DEAD", "MAX_REDIRECTS", "OK", "UNREACHABLE", "Blocked", "Fetcher", "Page", "extract_title", "fetch_page"]

log = logging.getLogger("alliance.titles")

OK, DEAD, UNREACHABLE = "ok", "dead", "unreachable"
USER_AGENT = "Mozilla/5.0 (compatible; alliance-bot/1.0; +https://github.com/)"
PARSE_SECONDS = 3.0  # past this, the title found so far (if any) is taken
_KEEP = 4000  # characters of a title (or of a msg_title) kept while reading; 120 are shown


@dataclass(frozen=True)
class Page:
    """What fetching a link found: `ok` with a title (None when the page has none), `dead` (404/410), or
    `unreachable` (with the reason, for the admin)."""

    state: str
    title: str | None = None
    reason: str = ""


Fetcher = Callable[[str], Awaitable[Page]]

# each try is bounded (a WeChat title is at most 64 characters), so a script of unclosed `msg_title = '` costs
# linear time
_MSG_TITLE = re.compile(r"""\bmsg_title\s{0,20}=\s{0,20}(?:'((?:[^'\\]|\\.){0,300})'|"((?:[^"\\]|\\.){0,300})")""")
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_TITLE_META = ("og:title", "twitter:title")


def _clean(text: str) -> str | None:
    text = html.unescape(html.unescape(text[:_KEEP]))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:120] or None


class _Found(Exception):
    """Stops the parser: an og:title was found, or the time is up."""


class _TitleParser(HTMLParser):
    """Collects `og:title`/`twitter:title` (first wins, and ends the reading), WeChat's `msg_title` in a script,
    and the first `<title>`'s text.

    Never `close()`d: on Python before 3.11.13 (CVE-2025-6069) `close()` is quadratic on a page that ends inside
    an unclosed tag (minutes for a page of `<meta ` repeated: bench/README.md); `feed()` alone is linear, and leaves such an
    unfinished tail unread, as a browser would find nothing in it either.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.meta: str | None = None
        self.msg: str | None = None
        self.title: str | None = None
        self._in_title = False
        self._title: list[str] = []
        self._kept = 0
        self._ticks = 0

    def _tick(self) -> None:
        self._ticks += 1
        if not self._ticks % 512 and time.monotonic() > self.deadline:
            raise _Found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tick()
        if tag == "meta":
            a = {k: v or "" for k, v in attrs}
            if (a.get("property") or a.get("name") or "").strip().lower() in _TITLE_META:
                if title := _clean(a.get("content", "")):
                    self.meta = title
                    raise _Found
        elif tag == "title" and self.title is None and not self._in_title:
            self._in_title, self._title, self._kept = True, [], 0

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._tick()
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = _clean("".join(self._title))

    def handle_data(self, data: str) -> None:
        self._tick()
        if self.cdata_elem == "script":
            if self.msg is None and "msg_title" in data and (m := _MSG_TITLE.search(data)):
                raw = m.group(1) if m.group(1) is not None else m.group(2)
                self.msg = _clean(raw.replace("\\x26", "&").replace("\\'", "'").replace('\\"', '"'))
        elif self._in_title and self._kept < _KEEP:
            self._title.append(data)
            self._kept += len(data)


def extract_title(page: str, seconds: float = PARSE_SECONDS) -> str | None:
    """`og:title` (or `twitter:title`), then WeChat's `msg_title`, then `<title>`; what was found when `seconds`
    run out."""
    parser = _TitleParser(time.monotonic() + seconds)
    try:
        parser.feed(page)
    except _Found:
        pass
    except Exception as e:  # the parser is tolerant; whatever it still raises means no title
        log.info("reading a title failed: %r", e)
    if parser.meta is None and time.monotonic() > parser.deadline:
        log.warning("reading a title took over %g s; the page is %d characters", seconds, len(page))
    return parser.meta or parser.msg or parser.title


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


def read_title(body: bytes, content_type: str) -> str | None:
    """The page's title from its bytes (decoding and parsing: run it in a worker thread)."""
    return extract_title(_decode(body, content_type))


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
            return await asyncio.wait_for(_fetch(client, url, max_bytes, Guard(allow_private)), timeout * 2)
    except (Blocked, TooManyRedirects) as e:
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


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int, guard: Guard) -> Page:
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
    async with netguard.get(client, url, guard, headers=headers) as resp:
        if resp.status_code in (404, 410):
            return Page(DEAD, reason=f"网页返回 {resp.status_code}")
        if resp.status_code >= 400:
            return Page(UNREACHABLE, reason=f"网页返回 {resp.status_code}")
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) >= max_bytes:
                del body[max_bytes:]
                break
        content_type = resp.headers.get("content-type", "")
    return Page(OK, await asyncio.to_thread(read_title, bytes(body), content_type))
