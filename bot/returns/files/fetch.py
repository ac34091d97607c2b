"""Getting a handed-in file's bytes from what the QQ client answered: a URL, base64, or a local path.

The QQ client (NapCat, LLOneBot) answers `get_group_file_url` / `get_private_file_url` with a URL and
`get_file` with a URL, base64 text or a path on its own disk (useful when it shares the machine). Every
way is capped: a URL is streamed with httpx under a timeout and abandoned once past the cap (whatever the
server claimed), base64 is measured before decoding, a path must be a regular file under the cap.

Nothing the client says is trusted (issue 20 item 7: a client answering `{"file": "<bot>/.env"}` had the bot's
tokens stored as a unit's return; `/proc/kmsg` froze it; `http://127.0.0.1:…` was fetched). `ClientFiles` holds
the rules: a URL goes through the same address guard as a 统发 link (bot/netguard.py: public addresses only,
unless listed in ALLIANCE_CLIENT_FILE_HOSTS; each redirect checked); a local path is read only inside the folders
of ALLIANCE_CLIENT_FILE_DIRS (none by default: then every path is refused), after resolving symlinks, never
under /proc, /sys, /dev, the bot's data folder or its .env, only a regular file (opened without following a last
symlink and without blocking, then checked on the open file), within the cap, in a worker thread under the
file timeout: a path that hangs cannot stop the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from bot import netguard
from bot.errors import UserError
from bot.netguard import PUBLIC_ONLY, Blocked, Guard, TooManyRedirects, parse_hosts

log = logging.getLogger("alliance.files")

PROJECT = Path(__file__).resolve().parents[3]
SYSTEM_DIRS = (Path("/proc"), Path("/sys"), Path("/dev"))
NO_DIRS = "QQ 客户端只给出了它电脑上的文件路径，机器人按设置不读本机文件，这个文件没有收到。请稍后重新上传一次；仍不行请联系管理员。"
OUTSIDE = "QQ 客户端给出的文件路径不在允许读取的文件夹里，机器人没有读取，这个文件没有收到。请重新上传一次；仍不行请联系管理员。"
NOT_REGULAR = "QQ 客户端给出的不是一个普通文件，机器人没有读取，这个文件没有收到。请重新上传一次；仍不行请联系管理员。"
PRIVATE_URL = (
    "QQ 客户端给出的下载地址指向本机或内网，机器人按设置不下载，这个文件没有收到。请重新上传一次；仍不行请联系管理员。"
)


class FetchFailed(UserError):
    """The file could not be fetched; `str(e)` tells the uploader what to do."""


class TooBig(FetchFailed):
    pass


@dataclass(frozen=True)
class Source:
    """One way to the bytes, as the client gave it."""

    url: str = ""
    b64: str = ""
    path: str = ""


@dataclass(frozen=True)
class ClientFiles:
    """What may be read of the QQ client's answers: local paths inside `dirs` but never inside `never`, URLs
    through `guard`. The default refuses every local path and every private address."""

    dirs: tuple[Path, ...] = ()
    never: tuple[Path, ...] = SYSTEM_DIRS
    guard: Guard = PUBLIC_ONLY

    @classmethod
    def of(cls, settings: Any) -> ClientFiles:
        """The rules of the settings (ALLIANCE_CLIENT_FILE_DIRS, ALLIANCE_CLIENT_FILE_HOSTS), never the data
        folder nor the settings file (.env where the bot runs, and the project's)."""
        real = lambda p: Path(os.path.realpath(p))  # noqa: E731
        never = (*SYSTEM_DIRS, real(settings.data_dir), real(".env"), real(PROJECT / ".env"))
        return cls(
            dirs=tuple(real(Path(d).expanduser()) for d in settings.alliance_client_file_dirs),
            never=tuple(dict.fromkeys(never)),
            guard=Guard(allowed=parse_hosts(settings.alliance_client_file_hosts)),
        )

    def allows(self, real: Path) -> bool:
        """Whether the resolved path `real` may be read."""
        if any(real == n or real.is_relative_to(n) for n in self.never):
            return False
        return any(real.is_relative_to(d) for d in self.dirs)

    def is_forbidden_file(self, st: os.stat_result) -> bool:
        """Whether `st` is one of the forbidden files itself (the .env), reached by another name (a hard link)."""
        for n in self.never:
            try:
                other = os.stat(n)
            except OSError:
                continue
            if stat.S_ISREG(other.st_mode) and (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                return True
        return False


def mb(n: int | float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def too_big(size: int, cap: int) -> TooBig:
    return TooBig(f"文件太大（{mb(size)}），上限是 {mb(cap)}。请删去多余的工作表或图片，或压缩扫描件后重新上传。")


async def fetch(
    source: Source,
    cap: int,
    timeout: float,
    client: httpx.AsyncClient | None = None,
    rules: ClientFiles | None = None,
) -> bytes:
    """The bytes, at most `cap` of them, as far as `rules` allow (none given: no local path, no private address).

    Raises:
        TooBig: the file is bigger than the cap.
        FetchFailed: the client's answer led nowhere (dead URL, timeout, unreadable path).
    """
    rules = rules or ClientFiles()
    if source.b64:
        text = source.b64.split(",", 1)[1] if source.b64.startswith("data:") else source.b64
        if text.startswith("base64://"):
            text = text[len("base64://") :]
        if len(text) * 3 // 4 > cap + 3:
            raise too_big(len(text) * 3 // 4, cap)
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            raise FetchFailed("QQ 客户端给出的文件内容读不出来。请重新上传一次。") from None
    if source.path:
        try:
            return await asyncio.wait_for(asyncio.to_thread(_read_local, source.path, cap, rules), timeout)
        except TimeoutError:
            log.warning("reading %r, given by the QQ client, took over %g s", source.path, timeout)
            raise FetchFailed("从 QQ 客户端读取文件超时。请稍后重新上传一次。") from None
    if source.url:
        try:
            return await asyncio.wait_for(_download(source.url, cap, timeout, client, rules.guard), timeout)
        except TimeoutError:
            raise FetchFailed("从 QQ 下载文件超时。请稍后重新上传一次。") from None
    raise FetchFailed("QQ 客户端没有给出文件的下载地址。请重新上传一次，或私聊发给机器人。")


def _local_path(text: str) -> Path | None:
    """The path in `/a/b`, `file:///a/b` or `file://localhost/a%20b`; None when it is not an absolute path."""
    if text.startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            return None
        text = unquote(parts.path)
    p = Path(text)
    return p if p.is_absolute() and "\x00" not in text else None


def _read_local(text: str, cap: int, rules: ClientFiles) -> bytes:
    """Read a path the client gave, as far as `rules` allow (runs in a worker thread)."""
    if not rules.dirs:
        log.warning(
            "the QQ client gave a local path %r; refused: ALLIANCE_CLIENT_FILE_DIRS is empty (name the folder "
            "where the client keeps received files to allow it)",
            text,
        )
        raise FetchFailed(NO_DIRS)
    path = _local_path(text)
    real = Path(os.path.realpath(path)) if path is not None else None
    if real is None or not rules.allows(real):
        log.warning("the QQ client gave %r (%s); refused: outside ALLIANCE_CLIENT_FILE_DIRS or forbidden", text, real)
        raise FetchFailed(OUTSIDE)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise FetchFailed("QQ 客户端给出的文件不存在（可能还没下载完）。请稍后重新上传一次。") from None
    except OSError as e:
        log.warning("the QQ client gave %r; cannot open it: %r", text, e)
        raise FetchFailed("QQ 客户端给出的文件读不出来。请重新上传一次。") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            log.warning("the QQ client gave %r; refused: not a regular file (mode %o)", text, st.st_mode)
            raise FetchFailed(NOT_REGULAR)
        opened = _opened_path(fd)
        if opened is not None and not rules.allows(opened):  # a folder on the way was swapped for a symlink
            log.warning("the QQ client gave %r; refused: it opened as %s", text, opened)
            raise FetchFailed(OUTSIDE)
        if rules.is_forbidden_file(st):  # a hard link to the settings
            log.warning("the QQ client gave %r; refused: a hard link to a forbidden file", text)
            raise FetchFailed(OUTSIDE)
        if st.st_size > cap:
            raise too_big(st.st_size, cap)
        chunks, got = [], 0
        while chunk := os.read(fd, min(1 << 20, cap + 1 - got)):
            chunks.append(chunk)
            got += len(chunk)
            if got > cap:
                raise too_big(got, cap)
        return b"".join(chunks)
    except BlockingIOError:
        raise FetchFailed(NOT_REGULAR) from None
    except OSError as e:
        log.warning("reading %r, given by the QQ client, failed: %r", text, e)
        raise FetchFailed("QQ 客户端给出的文件读不出来。请重新上传一次。") from None
    finally:
        os.close(fd)


def _opened_path(fd: int) -> Path | None:
    """Where the open file really is (Linux: /proc/self/fd), or None where that cannot be told."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


async def _download(url: str, cap: int, timeout: float, client: httpx.AsyncClient | None, guard: Guard) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise FetchFailed("QQ 客户端给出的下载地址不对。请重新上传一次。")
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout, trust_env=False)
    try:
        async with netguard.get(http, url, guard, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise FetchFailed(f"从 QQ 下载文件失败（HTTP {resp.status_code}），可能链接已过期。请重新上传一次。")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise too_big(int(declared), cap)
            chunks: list[bytes] = []
            got = 0
            async for chunk in resp.aiter_bytes():
                got += len(chunk)
                if got > cap:
                    raise too_big(got, cap)
                chunks.append(chunk)
            return b"".join(chunks)
    except Blocked as e:
        log.warning("the QQ client gave the download address %r; refused: %s (ALLIANCE_CLIENT_FILE_HOSTS)", url, e)
        raise FetchFailed(PRIVATE_URL) from None
    except TooManyRedirects:
        raise FetchFailed("从 QQ 下载文件时跳转太多次。请重新上传一次。") from None
    except httpx.TimeoutException:
        raise FetchFailed("从 QQ 下载文件超时。请稍后重新上传一次。") from None
    except (httpx.HTTPError, OSError):
        raise FetchFailed("从 QQ 下载文件失败。请稍后重新上传一次。") from None
    finally:
        if own:
            await http.aclose()
