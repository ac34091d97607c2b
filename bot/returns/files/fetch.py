"""Getting a handed-in file's bytes from what the QQ client answered: a URL, base64, or a local path.

The QQ client (NapCat, LLOneBot) answers `get_group_file_url` / `get_private_file_url` with a URL and
`get_file` with a URL, base64 text or a path on its own disk (useful when it shares the machine). Every
way is capped: a URL is streamed with httpx under a timeout and abandoned once past the cap (whatever the
server claimed), base64 is measured before decoding, a path must be a regular file under the cap.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.errors import UserError


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


def mb(n: int | float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def too_big(size: int, cap: int) -> TooBig:
    return TooBig(f"文件太大（{mb(size)}），上限是 {mb(cap)}。请删去多余的工作表或图片，或压缩扫描件后重新上传。")


async def fetch(source: Source, cap: int, timeout: float, client: httpx.AsyncClient | None = None) -> bytes:
    """The bytes, at most `cap` of them.

    Raises:
        TooBig: the file is bigger than the cap.
        FetchFailed: the client's answer led nowhere (dead URL, timeout, unreadable path).
    """
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
        p = Path(source.path.removeprefix("file://"))
        try:
            if not p.is_file():
                raise FetchFailed("QQ 客户端给出的文件不存在（可能还没下载完）。请稍后重新上传一次。")
            size = p.stat().st_size
            if size > cap:
                raise too_big(size, cap)
            return p.read_bytes()
        except OSError:
            raise FetchFailed("QQ 客户端给出的文件读不出来。请重新上传一次。") from None
    if source.url:
        return await _download(source.url, cap, timeout, client)
    raise FetchFailed("QQ 客户端没有给出文件的下载地址。请重新上传一次，或私聊发给机器人。")


async def _download(url: str, cap: int, timeout: float, client: httpx.AsyncClient | None) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise FetchFailed("QQ 客户端给出的下载地址不对。请重新上传一次。")
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout, follow_redirects=True)
    try:
        async with http.stream("GET", url, timeout=timeout) as resp:
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
    except httpx.TimeoutException:
        raise FetchFailed("从 QQ 下载文件超时。请稍后重新上传一次。") from None
    except httpx.HTTPError:
        raise FetchFailed("从 QQ 下载文件失败。请稍后重新上传一次。") from None
    finally:
        if own:
            await http.aclose()
