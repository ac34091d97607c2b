"""Simulated OneBot v11 QQ client (reverse WebSocket) plus a bot-subprocess runner, for tests and demos."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse
from urllib.request import url2pathname

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

__all__ = [
    "PROFILES",
    "BotProcess",
    "BotStartError",
    "Disconnected",
    "HandshakeRefused",
    "Profile",
    "QQClient",
    "QQSimError",
    "Sent",
    "cq_escape",
    "cq_unescape",
    "free_port",
    "parse_cq",
    "to_cq",
]

log = logging.getLogger("qqsim")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEND_ACTIONS = frozenset({"send_group_msg", "send_private_msg", "send_msg"})
UPLOAD_ACTIONS = frozenset({"upload_group_file", "upload_private_file"})
FORWARD_ACTIONS = frozenset({"send_group_forward_msg", "send_private_forward_msg"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# reactions (表情回应): putting one (NapCat/LLOneBot, Lagrange) and listing who reacted (NapCat, LLOneBot)
REACTION_ACTIONS = frozenset({"set_msg_emoji_like", "set_group_reaction", "get_emoji_likes", "fetch_emoji_like"})
HEARTBEAT_INTERVAL = 5.0


# --------------------------------------------------------------------------- client profiles (issue 22)


@dataclass(frozen=True)
class Profile:
    """How one real client answers the calls about reactions and message ids (see QQClient's profile block)."""

    name: str
    get_emoji_likes: bool  # NapCat's get_emoji_likes (LLOneBot has only fetch_emoji_like)
    id_window: int | None  # short ids remembered (None: all, kept across client restarts)


PROFILES = {
    "permissive": Profile("permissive", True, None),
    "napcat": Profile("napcat", True, 5000),
    "llonebot": Profile("llonebot", False, None),
}


# --------------------------------------------------------------------------- errors


class QQSimError(Exception):
    """Base class of qqsim errors."""


class HandshakeRefused(QQSimError):
    """The bot refused the WebSocket handshake (e.g. HTTP 403 for a wrong access token)."""

    def __init__(self, status: int, body: str = "") -> None:
        self.status = status
        self.body = body
        super().__init__(f"bot refused the WebSocket handshake: HTTP {status}" + (f" ({body})" if body else ""))


class Disconnected(QQSimError):
    """The WebSocket connection is closed (or was never opened)."""


class BotStartError(QQSimError):
    """The bot subprocess exited or did not open its port in time."""


# --------------------------------------------------------------------------- CQ code


def cq_escape(text: str, *, escape_comma: bool = True) -> str:
    """Escape text for CQ code (`&`, `[`, `]` and, if asked, `,`)."""
    text = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return text.replace(",", "&#44;") if escape_comma else text


def cq_unescape(text: str) -> str:
    """Undo CQ-code escaping."""
    return text.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")


_CQ_RE = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[A-Za-z0-9_.\-]+=[^,\]]*)*),?\]")


def parse_cq(message: str) -> list[dict]:
    """Parse a CQ-code string into OneBot array segments (values unescaped, as strings)."""
    segments: list[dict] = []
    pos = 0
    for m in _CQ_RE.finditer(message):
        if m.start() > pos:
            segments.append({"type": "text", "data": {"text": cq_unescape(message[pos : m.start()])}})
        data: dict[str, str] = {}
        for item in filter(None, m.group(2).split(",")):
            key, _, value = item.partition("=")
            data[key] = cq_unescape(value)
        segments.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(message):
        segments.append({"type": "text", "data": {"text": cq_unescape(message[pos:])}})
    return segments


def _cq_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_cq(segments: list[dict]) -> str:
    """Render array segments as a CQ-code string, the way real clients build `raw_message`."""
    parts: list[str] = []
    for seg in segments:
        data = seg.get("data") or {}
        if seg.get("type") == "text":
            parts.append(cq_escape(str(data.get("text", "")), escape_comma=False))
        else:
            params = "".join(f",{k}={cq_escape(_cq_value(v))}" for k, v in data.items() if v is not None)
            parts.append(f"[CQ:{seg.get('type')}{params}]")
    return "".join(parts)


def normalize_message(message: Any, *, auto_escape: bool = False) -> list[dict]:
    """Normalise a message as found in API params (str / segment dict / list) to the array form."""
    if message is None:
        return []
    if isinstance(message, str):
        return [{"type": "text", "data": {"text": message}}] if auto_escape else parse_cq(message)
    if isinstance(message, dict):
        message = [message]
    result: list[dict] = []
    for seg in message:
        if isinstance(seg, str):
            result.append({"type": "text", "data": {"text": seg}})
        elif isinstance(seg, dict):
            result.append({"type": str(seg.get("type", "")), "data": dict(seg.get("data") or {})})
    return result


# --------------------------------------------------------------------------- records


@dataclass
class Sent:
    """One message (or file) the bot sent to a chat.

    `group_id` is set for group chats and `user_id` for private chats (the other one is None;
    the raw API params, including any extra ids, stay in `params`).
    """

    action: str
    group_id: int | None
    user_id: int | None
    message: list[dict]
    message_id: int
    time: float
    params: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # pictures given by path, as the client read them then

    @property
    def text(self) -> str:
        """Concatenation of the text segments (of a merged-forward message: its nodes' texts, one per line)."""
        if self.is_forward:
            return "\n".join(self.node_texts)
        return "".join(str(s["data"].get("text", "")) for s in self.message if s.get("type") == "text")

    @property
    def ats(self) -> list[str]:
        """`qq` values of the at segments, as strings ("all" for @全体成员); of a merged-forward message, those in
        its first node (where a folded answer names the asker)."""
        segments = self.message
        if self.is_forward:
            nodes = self.segments("node")
            segments = normalize_message(nodes[0]["data"].get("content")) if nodes else []
        return [str(s["data"].get("qq")) for s in segments if s.get("type") == "at"]

    @property
    def reply_id(self) -> int | None:
        """Id of the message quoted by a reply segment, if any."""
        for s in self.message:
            if s.get("type") == "reply":
                with contextlib.suppress(TypeError, ValueError):
                    return int(s["data"].get("id"))
        return None

    @property
    def is_file(self) -> bool:
        """True for upload_group_file / upload_private_file records."""
        return self.action in UPLOAD_ACTIONS

    def segments(self, type_: str) -> list[dict]:
        """The segments of a given type."""
        return [s for s in self.message if s.get("type") == type_]

    @property
    def images(self) -> list[bytes]:
        """The bytes of the image segments sent inline (`base64://…`) or as local files (`file://…`)."""
        return [
            data
            for s in self.segments("image")
            if (data := self.files.get(str(s.get("data", {}).get("file", ""))) or _image_bytes(s)) is not None
        ]

    @property
    def is_forward(self) -> bool:
        """True for a merged-forward message (send_group_forward_msg / send_private_forward_msg)."""
        return self.action in FORWARD_ACTIONS

    @property
    def node_texts(self) -> list[str]:
        """The text of each node of a merged-forward message."""
        return [
            "".join(
                str(x["data"].get("text", ""))
                for x in normalize_message(n["data"].get("content"))
                if x["type"] == "text"
            )
            for n in self.segments("node")
        ]

    def __str__(self) -> str:
        chat = f"group {self.group_id}" if self.group_id is not None else f"user {self.user_id}"
        return f"{self.action}->{chat}: {to_cq(self.message)!r}"


def _image_bytes(seg: dict) -> bytes | None:
    file = str(seg.get("data", {}).get("file", ""))
    try:
        if file.startswith("base64://"):
            return base64.b64decode(file[len("base64://") :], validate=True)
        if file.startswith("file://"):
            return Path(url2pathname(urlparse(file).path)).read_bytes()
    except (ValueError, OSError):
        return None
    return None


def _member_defaults(group_id: int, member: dict) -> dict:
    uid = int(member["user_id"])
    now = int(time.time())
    full = {
        "group_id": group_id,
        "user_id": uid,
        "nickname": f"用户{uid}",
        "card": "",
        "sex": "unknown",
        "age": 0,
        "area": "",
        "join_time": now - 86400 * 30 - uid % 86400,
        "last_sent_time": now - uid % 3600,
        "level": "1",
        "qq_level": 0,
        "role": "member",
        "unfriendly": False,
        "title": "",
        "title_expire_time": 0,
        "card_changeable": False,
        "shut_up_timestamp": 0,
        "is_robot": False,
    }
    full.update(member)
    full["user_id"] = uid
    full["group_id"] = group_id
    return full


def _ok(data: Any) -> dict:
    return {"status": "ok", "retcode": 0, "data": data, "message": "", "wording": ""}


def _failed(retcode: int, msg: str) -> dict:
    return {"status": "failed", "retcode": retcode, "data": None, "msg": msg, "message": msg, "wording": msg}


# --------------------------------------------------------------------------- real clients (issue 22.3-5)
# How NapCat and LLOneBot really answer the calls about files, forwards and history (clients-files block).
# NapCat: packages/napcat-onebot/action/go-cqhttp/{UploadGroupFile,GetGroupMsgHistory}.ts, file/GetGroupFileUrl.ts;
# LLOneBot: src/onebot11/action/go-cqhttp/{UploadGroupFile,GetGroupMsgHistory}.ts.

_PASS = object()


class _RealClient:
    """Failures of real clients, on demand; mixed into QQClient.

    - `sees_bot_disk` False: the client runs in Docker (NapCat #483, #964). A `file` that is not `base64://`,
      `http(s)://` or a path on its own disk fails as NapCat's `uriToLocalFile` does: "未知文件类型, uri= …".
    - `upload_error`: every upload fails with this text (group file storage full, NapCat #1466).
    - `file_url_error`: get_group_file_url / get_private_file_url / get_file fail with this text
      ("real fileUUID not found!", NapCat #1267).
    - `forward_mode`: "ok"; "refused"; "timeout" (no answer, nothing delivered: a big group, NapCat #1009, #1147);
      "arrived" (no answer, but the forward is in the group, NapCat #210).
    - `get_group_msg_history`: both clients' parameters (`group_id`, `message_seq` optional: 0 or absent is the
      newest, `count` default 20, `reverse_order`/`reverseOrder`); answers `{messages}` oldest first, the page
      ending at (and including) `message_seq`. NapCat takes the short message id there, LLOneBot the seq; each
      message carries `message_seq` set the way its own client reads it back.
    """

    history_style: str = "napcat"  # "napcat": message_seq is the short id; "llonebot": the real seq

    def _init_real_client(self) -> None:
        self.sees_bot_disk: bool = True
        self.upload_error: str | None = None
        self.file_url_error: str | None = None
        self.forward_mode: str = "ok"
        self.history: dict[int, list[dict]] = {}  # group id → messages, oldest first (what members and the bot said)

    def use_profile(self, name: str) -> None:
        """`permissive` (today's), `napcat-docker` (NapCat in Docker: cannot see the bot's disk), `llonebot`,
        `llonebot-docker` (LLOneBot that cannot see the bot's disk)."""
        self.sees_bot_disk = not name.endswith("-docker")
        self.history_style = "llonebot" if name.startswith("llonebot") else "napcat"
        client: Any = self
        client.set_profile(name.removesuffix("-docker"))  # reactions and ids (issue 22.1-2)

    def _real_api(self, action: str, params: dict) -> Any:
        if action in ("get_group_file_url", "get_private_file_url", "get_file") and self.file_url_error:
            return _failed(200, self.file_url_error)
        if action == "get_group_msg_history":
            return self._api_history(params)
        return _PASS

    def _own(self, mid: int, group_id: int, message: list[dict]) -> dict:
        """A message the bot itself sent, as the history shows it."""
        client: Any = self
        seq = client._next_seq()
        return {
            "self_id": client.self_id,
            "user_id": client.self_id,
            "time": int(time.time()),
            "message_id": mid,
            "message_seq": seq,
            "real_seq": str(seq),
            "message_type": "group",
            "group_id": group_id,
            "sender": {"user_id": client.self_id, "nickname": client.bot_nickname, "card": "", "role": "member"},
            "message": message,
            "message_format": "array",
            "post_type": "message_sent",
        }

    def _upload_refusal(self, params: dict) -> str | None:
        """Why a real client refuses this upload, or None."""
        file = str(params.get("file") or "")
        if self.upload_error:
            return self.upload_error
        if file.startswith(("base64://", "http://", "https://")):
            return None
        if not self.sees_bot_disk:  # LLOneBot's uri2local: not a file:// URI, no such path, no cached file name
            return (
                f"未知文件类型或路径不存在: {file}"
                if self.history_style == "llonebot"
                else f"未知文件类型, uri= {file}"
            )
        return None

    def _picture_refusal(self, images: list[dict], files: dict[str, bytes]) -> str | None:
        """Why a real client refuses a message whose pictures it reads from `file://` paths, or None; `files` gets
        the bytes of those it read (a real client copies the picture before it answers).

        NapCat (packages/napcat-onebot/api/msg.ts `handleOb11FileLikeMessage`, napcat-common/src/file.ts
        `uriToLocalFile`, api/file.ts `createValidSendPicElement` → core `uploadFile` → `calculateFileMD5`): the
        stream's ENOENT, retcode 1200 (OneBotAction.ts `websocketHandle`). LLOneBot (src/onebot11/transform/
        message/outgoing.ts `handleOb11RichMedia`, src/common/utils/file.ts `uri2local`): "路径不存在", 1200.
        """
        for seg in images:
            uri = str(seg.get("data", {}).get("file", ""))
            if not uri.startswith("file://"):
                continue
            path = Path(url2pathname(urlparse(uri).path))
            try:
                if not self.sees_bot_disk:
                    raise FileNotFoundError
                files[uri] = path.read_bytes()
            except OSError:
                return (
                    "路径不存在"
                    if self.history_style == "llonebot"
                    else f"ENOENT: no such file or directory, open '{path}'"
                )
        return None

    def remember(self, group_id: int, event: dict) -> None:
        """A group message in the client's history (seen live or not)."""
        self.history.setdefault(int(group_id), []).append(dict(event))

    def _api_history(self, params: dict) -> dict:
        try:
            group_id = int(params["group_id"])
            count = int(params.get("count", 20))
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id")
        msgs = self.history.get(group_id, [])
        start = params.get("message_seq")
        key = "message_id" if self.history_style == "napcat" else "message_seq"
        if start in (None, "", 0, "0"):
            end = len(msgs)
        else:
            idx = [i for i, m in enumerate(msgs) if str(m.get(key)) == str(start)]
            if not idx:
                return _failed(200, f"消息{start}不存在")
            end = idx[0] + 1
        page = [json.loads(json.dumps(m)) for m in msgs[max(0, end - count) : end]]
        if self.history_style == "napcat":
            for m in page:
                m["message_seq"] = m["message_id"]
        if params.get("reverse_order") or params.get("reverseOrder"):
            page.reverse()
        return _ok({"messages": page})

    def offline_group_message(self, group_id: int, user_id: int, text: str, *, when: float, card: str = "") -> int:
        """A member writes in the group while the bot is away: in the history, no event. Returns its message_id."""
        client: Any = self
        segments = client._build_segments(text, None, False)
        mid = client.new_message_id()
        sender = {"user_id": int(user_id), "nickname": card or f"用户{user_id}", "card": card, "role": "member"}
        event = client._message_event("group", "normal", mid, int(user_id), segments, sender, False)
        event.update(group_id=int(group_id), time=int(when))
        client._store_message(event, segments)
        self.remember(group_id, {**event, "message": segments})
        return mid


def uploaded_bytes(sent: Sent) -> bytes:
    """The bytes of an upload the bot made, whether it gave a path or base64://."""
    file = str(sent.params.get("file") or "")
    if file.startswith("base64://"):
        return base64.b64decode(file[len("base64://") :])
    return Path(file).read_bytes()


# --------------------------------------------------------------------------- end of real clients


# --------------------------------------------------------------------------- client


class QQClient(_RealClient):
    """A fake QQ client (NapCat / LLOneBot style) connecting to a NoneBot2 bot by OneBot v11 reverse WebSocket.

    Failure injection: `send_mode` ("ok" | "fail" | "silent"), `get_msg_fails`, `upload_fails`,
    `images_refused` (a message with an image fails, as when the client cannot send pictures),
    `forward_supported` (False: merged-forward messages are an unknown API, as on older clients).
    Extra actions can be answered by `handlers[action] = fn(params) -> data` (raise to fail).
    """

    def __init__(
        self,
        url: str = "ws://127.0.0.1:8080/onebot/v11/ws",
        self_id: int = 10000,
        token: str | None = None,
        group_members: dict[int, list[dict]] | None = None,
        bot_nickname: str = "联盟助手",
        *,
        track_members: bool = True,
        seed: int | None = None,
        profile: str = "permissive",
    ) -> None:
        self.url = url
        self.self_id = int(self_id)
        self.token = token
        self.bot_nickname = bot_nickname
        self.track_members = track_members
        self.group_members: dict[int, list[dict]] = {
            int(gid): [dict(m) for m in members] for gid, members in (group_members or {}).items()
        }
        self.group_names: dict[int, str] = {}
        self.friends: dict[int, str] = {}

        self.send_mode: str = "ok"
        self.get_msg_fails: bool = False
        self.upload_fails: bool = False
        self.images_refused: bool = False
        self.forward_supported: bool = True
        self.handlers: dict[str, Callable[[dict], Any]] = {}
        # reactions: False plays a client without them (the calls answer 1404 "不支持的Api"); the notice style
        # is NapCat/LLOneBot's `group_msg_emoji_like` or Lagrange's `reaction`
        self.reactions_supported: bool = True
        self.reaction_style: str = "napcat"
        self.bot_reactions: list[tuple[int, str, float]] = []  # (message id, emoji id, monotonic time) by the bot
        self._likes: dict[int, dict[str, list[int]]] = {}  # message id → emoji id → users who reacted
        self.like_reads = 0  # listing calls answered under a profile (each page one)
        self._init_profile(profile)
        self._init_real_client()  # issue 22.3-5: real clients' failures (see _RealClient)

        self.sent: list[Sent] = []
        self.attempts: list[Sent] = []
        self.api_calls: list[tuple[str, dict]] = []
        self.events: list[dict] = []

        self._messages: dict[int, dict] = {}
        self._used_ids: set[int] = set()
        self._rng = random.Random(self.self_id if seed is None else seed)
        self._next_id = -2_000_000_001
        self._id_count = 0
        self._seq = 0
        self._mark = 0
        self._mark_attempts = 0

        self._ws: ClientConnection | None = None
        self._reader_task: asyncio.Task | None = None
        self._heartbeat_task: asyncio.Task | None = None
        self._changed: asyncio.Event | None = None
        self._ever_connected = False
        self._alive = False
        self._close_reason: str = "not connected"

    # ----------------------------------------------------------------- connection

    @property
    def connected(self) -> bool:
        return self._alive

    def _headers(self) -> dict[str, str]:
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": "Universal"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def connect(self, timeout: float = 10) -> None:
        """Open the reverse WebSocket (retrying while the bot starts), announce lifecycle connect, start tasks."""
        if self.connected:
            return
        await self._stop_tasks()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # A quick reconnect may race with the bot's cleanup of our previous connection; the adapter then
        # refuses the duplicate X-Self-ID with the same HTTP 403 as a wrong token, so allow a short grace.
        refused_grace = loop.time() + (min(3.0, timeout) if self._ever_connected else 0.0)
        last_error: BaseException | None = None
        while True:
            remaining = deadline - loop.time()
            try:
                ws = await ws_connect(
                    self.url,
                    additional_headers=self._headers(),
                    user_agent_header="qqsim/1.0 OneBot/11",
                    open_timeout=max(0.5, min(5.0, remaining)),
                    ping_interval=None,
                    max_size=None,
                    compression=None,
                )
                break
            except InvalidStatus as e:
                status = e.response.status_code
                body = (e.response.body or b"").decode("utf-8", "replace").strip()
                if status in (401, 403) and loop.time() >= refused_grace:
                    raise HandshakeRefused(status, body) from None
                last_error = e
            except (OSError, InvalidHandshake, TimeoutError, EOFError) as e:
                last_error = e
            if loop.time() + 0.1 >= deadline:
                raise TimeoutError(f"could not connect to {self.url} within {timeout}s: {last_error!r}")
            await asyncio.sleep(0.1)

        self._ws = ws
        self._ever_connected = True
        self._close_reason = ""
        try:
            await ws.send(json.dumps(self._meta("lifecycle", sub_type="connect"), ensure_ascii=False))
        except ConnectionClosed as e:
            self._ws = None
            raise Disconnected(f"connection closed right after the handshake: {e}") from e
        self._alive = True
        self._reader_task = asyncio.create_task(self._reader(ws), name="qqsim-reader")
        self._heartbeat_task = asyncio.create_task(self._heartbeat(ws), name="qqsim-heartbeat")
        self._notify()

    async def close(self) -> None:
        """Close the connection and stop background tasks. Safe to call more than once."""
        ws = self._ws
        if ws is not None:
            if self._alive:
                self._close_reason = "closed by client"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        if self._reader_task is not None and not self._reader_task.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader_task), 2)
        await self._stop_tasks()
        self._alive = False
        if not self._close_reason:
            self._close_reason = "closed by client"
        self._notify()

    async def _stop_tasks(self) -> None:
        current = asyncio.current_task()
        for task in (self._heartbeat_task, self._reader_task):
            # cancelled until done (not `await task` under suppress(BaseException), which swallowed the caller's
            # own cancellation and waited for ever on a task that ignored one)
            while task is not None and task is not current and not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.05)
        self._heartbeat_task = None
        self._reader_task = None
        self._ws = None

    async def __aenter__(self) -> QQClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _meta(self, meta_event_type: str, **fields: Any) -> dict:
        return {
            "time": int(time.time()),
            "self_id": self.self_id,
            "post_type": "meta_event",
            "meta_event_type": meta_event_type,
            **fields,
        }

    async def _heartbeat(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
            while True:
                await asyncio.sleep(HEARTBEAT_INTERVAL)
                status = {"online": True, "good": True}
                event = self._meta("heartbeat", status=status, interval=int(HEARTBEAT_INTERVAL * 1000))
                await ws.send(json.dumps(event))

    async def _reader(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    payload = json.loads(raw)
                except (ValueError, TypeError):
                    continue
                if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
                    continue
                try:
                    response = self._handle_api(payload["action"], payload.get("params") or {})
                except Exception as e:  # a bug here must never kill the connection
                    log.exception("qqsim: error while answering %s", payload.get("action"))
                    response = _failed(1400, f"qqsim internal error: {e!r}")
                if response is None:
                    continue
                if "echo" in payload:
                    response["echo"] = payload["echo"]
                await ws.send(json.dumps(response, ensure_ascii=False))
        except ConnectionClosed as e:
            self._close_reason = self._close_reason or f"connection lost ({e})"
        except Exception as e:
            self._close_reason = self._close_reason or f"reader failed: {e!r}"
            log.exception("qqsim: reader failed")
        finally:
            self._alive = False
            if not self._close_reason:
                self._close_reason = f"connection closed by bot ({ws.close_code} {ws.close_reason})".strip()
            if self._heartbeat_task is not None and self._heartbeat_task is not asyncio.current_task():
                self._heartbeat_task.cancel()
            self._notify()

    # ----------------------------------------------------------------- ids and notifications

    def new_message_id(self) -> int:
        """A fresh message id: negative, pseudo-random steps, every few ids below the int32 range."""
        while True:
            self._id_count += 1
            self._next_id -= self._rng.randint(1, 9973)
            mid = self._next_id - 2**31 if self._id_count % 4 == 0 else self._next_id
            if mid not in self._used_ids:
                self._used_ids.add(mid)
                return mid

    def _claim_id(self, message_id: int | None) -> int:
        if message_id is None:
            return self.new_message_id()
        self._used_ids.add(int(message_id))
        return int(message_id)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _event_flag(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        ev = self._changed
        self._changed = asyncio.Event()
        if ev is not None:
            ev.set()

    # ----------------------------------------------------------------- sending events

    async def send_raw(self, payload: dict) -> None:
        """Send any JSON payload to the bot as-is."""
        ws = self._ws
        if ws is None or not self.connected:
            raise Disconnected(f"not connected ({self._close_reason})")
        try:
            await ws.send(json.dumps(payload, ensure_ascii=False))
        except ConnectionClosed as e:
            raise Disconnected(f"connection closed while sending: {e}") from e
        self.events.append(payload)

    def _build_segments(self, message: str | list[dict], reply_to: int | None, at_bot: bool) -> list[dict]:
        body = [{"type": "text", "data": {"text": message}}] if isinstance(message, str) else normalize_message(message)
        prefix: list[dict] = []
        if reply_to is not None:
            prefix.append({"type": "reply", "data": {"id": str(self.short_id(reply_to))}})
        if at_bot:
            prefix.append({"type": "at", "data": {"qq": str(self.self_id)}})
            prefix.append({"type": "text", "data": {"text": " "}})
        return prefix + body

    def _member(self, group_id: int, user_id: int) -> dict | None:
        for m in self.group_members.get(group_id, []):
            if int(m.get("user_id", 0)) == user_id:
                return m
        return None

    async def group_message(
        self,
        group_id: int,
        user_id: int,
        message: str | list[dict],
        *,
        card: str = "",
        nickname: str | None = None,
        role: str = "member",
        message_id: int | None = None,
        reply_to: int | None = None,
        at_bot: bool = False,
        as_string: bool = False,
    ) -> int:
        """Send a group message event; returns its message_id."""
        group_id, user_id = int(group_id), int(user_id)
        member = self._member(group_id, user_id)
        if nickname is None:
            nickname = str(member.get("nickname")) if member and member.get("nickname") else f"用户{user_id}"
        if self.track_members:
            if member is None:
                members = self.group_members.setdefault(group_id, [])
                members.append({"user_id": user_id, "nickname": nickname, "card": card, "role": role})
            else:
                member["last_sent_time"] = int(time.time())
        segments = self._build_segments(message, reply_to, at_bot)
        mid = self._claim_id(message_id)
        sender = {"user_id": user_id, "nickname": nickname, "card": card, "role": role, "sex": "unknown", "age": 0}
        event = self._message_event("group", "normal", mid, user_id, segments, sender, as_string)
        event["group_id"] = group_id
        event["group_name"] = self.group_names.get(group_id, f"群{group_id}")
        await self.send_raw(event)
        self._store_message(event, segments)
        self.remember(group_id, {**event, "message": segments})  # issue 22.5 (_RealClient)
        return mid

    async def private_message(
        self,
        user_id: int,
        message: str | list[dict],
        *,
        nickname: str | None = None,
        message_id: int | None = None,
        reply_to: int | None = None,
        as_string: bool = False,
    ) -> int:
        """Send a private (friend) message event; returns its message_id."""
        user_id = int(user_id)
        nickname = nickname if nickname is not None else self.friends.get(user_id, f"用户{user_id}")
        self.friends.setdefault(user_id, nickname)
        segments = self._build_segments(message, reply_to, False)
        mid = self._claim_id(message_id)
        sender = {"user_id": user_id, "nickname": nickname, "card": "", "sex": "unknown", "age": 0}
        event = self._message_event("private", "friend", mid, user_id, segments, sender, as_string)
        event["target_id"] = self.self_id
        await self.send_raw(event)
        self._store_message(event, segments)
        return mid

    def _message_event(
        self,
        message_type: str,
        sub_type: str,
        mid: int,
        user_id: int,
        segments: list[dict],
        sender: dict,
        as_string: bool,
    ) -> dict:
        seq = self._next_seq()
        raw = to_cq(segments)
        return {
            "self_id": self.self_id,
            "user_id": user_id,
            "time": int(time.time()),
            "message_id": mid,
            "message_seq": seq,
            "real_id": seq,
            "real_seq": str(seq),
            "message_type": message_type,
            "sender": sender,
            "raw_message": raw,
            "font": 14,
            "sub_type": sub_type,
            "message": raw if as_string else segments,
            "message_format": "string" if as_string else "array",
            "post_type": "message",
            "message_sent_type": "other",
        }

    def _store_message(self, event: dict, segments: list[dict]) -> None:
        stored = dict(event)
        stored["message"] = segments
        stored["message_format"] = "array"
        self._messages[int(event["message_id"])] = stored
        self._seen(int(event["message_id"]))

    async def notice(self, **fields: Any) -> None:
        """Send a notice event, e.g. notice(notice_type="group_decrease", sub_type="leave", group_id=1, user_id=2,
        operator_id=2). Member lists follow group_increase / group_decrease when track_members is on."""
        event = {"time": int(time.time()), "self_id": self.self_id, "post_type": "notice", **fields}
        if self.track_members and "group_id" in event and "user_id" in event:
            gid, uid = int(event["group_id"]), int(event["user_id"])
            if event.get("notice_type") == "group_decrease":
                if uid == self.self_id:
                    self.group_members.pop(gid, None)
                elif gid in self.group_members:
                    self.group_members[gid] = [m for m in self.group_members[gid] if int(m["user_id"]) != uid]
            elif event.get("notice_type") == "group_increase" and self._member(gid, uid) is None:
                self.group_members.setdefault(gid, []).append({"user_id": uid, "join_time": int(time.time())})
        await self.send_raw(event)

    async def react(
        self, group_id: int, user_id: int, message_id: int, emoji_id: str | int = "76", *, add: bool = True
    ) -> None:
        """A member puts (or takes back) a reaction on a message: the client sends its notice, in the style of
        `reaction_style`, and remembers it for the listing calls."""
        emoji = str(emoji_id)
        users = self._likes.setdefault(int(message_id), {}).setdefault(emoji, [])
        if add and int(user_id) not in users:
            users.append(int(user_id))
        elif not add and int(user_id) in users:
            users.remove(int(user_id))
        if self.reaction_style == "lagrange":
            await self.notice(
                notice_type="reaction",
                sub_type="add" if add else "remove",
                group_id=int(group_id),
                message_id=self.short_id(int(message_id)),
                operator_id=int(user_id),
                code=emoji,
                count=len(users),
            )
        else:
            await self.notice(
                notice_type="group_msg_emoji_like",
                group_id=int(group_id),
                user_id=int(user_id),
                message_id=self.short_id(int(message_id)),
                likes=[{"emoji_id": emoji, "count": len(users)}],
                is_add=add,
            )

    def react_offline(self, user_id: int, message_id: int, emoji_id: str | int = "76") -> None:
        """A reaction given while the bot was away: no notice, but the listing calls show it."""
        users = self._likes.setdefault(int(message_id), {}).setdefault(str(emoji_id), [])
        if int(user_id) not in users:
            users.append(int(user_id))

    def _api_reaction(self, action: str, params: dict) -> dict:
        if not self.reactions_supported:
            return _failed(1404, "不支持的Api")
        if self.profile.name != "permissive":
            return self._profile_reaction(action, params)
        return self._api_reaction_plain(action, params)

    def _api_reaction_plain(self, action: str, params: dict) -> dict:
        try:
            mid = int(params["message_id"])
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing message_id")
        if action in ("set_msg_emoji_like", "set_group_reaction"):
            emoji = str(params.get("emoji_id") if action == "set_msg_emoji_like" else params.get("code"))
            if mid not in self._messages:
                return _failed(1200, "消息不存在")
            self.bot_reactions.append((mid, emoji, time.monotonic()))
            self._likes.setdefault(mid, {}).setdefault(emoji, []).append(self.self_id)
            self._notify()
            return _ok(None)
        emoji = str(params.get("emoji_id") or params.get("emojiId"))
        users = self._likes.get(mid, {}).get(emoji, [])
        if action == "fetch_emoji_like":  # NapCat/LLOneBot: the NT client's list as it is
            listing = [{"tinyId": str(u), "nickName": self._known_nickname(u), "headUrl": ""} for u in users]
            return _ok({"result": 0, "errMsg": "", "emojiLikesList": listing, "cookie": "", "isLastPage": True})
        return _ok({"emoji_like_list": [{"user_id": u, "nick_name": self._known_nickname(u)} for u in users]})

    async def wait_reactions(self, count: int, *, timeout: float = 10) -> list[tuple[int, str, float]]:
        """Wait until the bot has put at least `count` reactions (since the client was created)."""

        def check() -> list | None:
            return list(self.bot_reactions) if len(self.bot_reactions) >= count else None

        return await self._wait_for(check, timeout, f"waiting for {count} reaction(s)", lambda: str(self.bot_reactions))

    # ----------------------------------------------------------------- client profiles: reactions and ids (issue 22)
    #
    # What the real clients do, read from their source:
    # - NapCat (NapNeko/NapCatQQ): `packages/napcat-common/src/message-unique.ts` keeps the short `message_id` of
    #   the latest 5,000 messages in memory (`LimitedHashTable(5000)`), forgotten at a restart; `get_msg`
    #   (`packages/napcat-onebot/action/msg/GetMsg.ts`) and `get_emoji_likes` on a forgotten id answer
    #   `消息不存在`; `get_msg` gives `message_seq` = `real_id` = the short id and the stable sequence as `real_seq`.
    #   `get_emoji_likes` (`action/extends/GetEmojiLikes.ts`): `message_id` a string, `count` (0 = all) read 15
    #   at a time; `fetch_emoji_like` (`action/extends/FetchEmojiLike.ts`): `emojiId`, `count` (default 20), `cookie`.
    # - LLOneBot (LLOneBot/LuckyLilliaBot): `src/onebot11/action/llbot/msg/FetchEmojiLike.ts` reads one page of
    #   `count` (default 20) from `cookie`, answering `cookie` and `isLastPage`; there is no `get_emoji_likes`;
    #   short ids live in its database (`src/main/store.ts`), `get_msg` gives `message_seq` = `real_id` = the
    #   sequence (`src/onebot11/action/msg/GetMsg.ts`).
    # A windowed profile re-issues a new short id to a message seen again after it was forgotten (`id_window`,
    # shrink it in tests); tests keep using the id the message had first, the client translates.

    def _init_profile(self, name: str) -> None:
        self.profile = PROFILES[name]
        self.id_window: int | None = self.profile.id_window
        self._short_of: dict[int, int] = {}  # first id → the short id the client knows it by now (insertion order)
        self._original_of: dict[int, int] = {}  # short id → first id

    def set_profile(self, name: str) -> None:
        """Answer reactions and ids as client `name` does from now on (`PROFILES`); messages already seen keep
        their ids."""
        known = list(self._messages)
        self._init_profile(name)
        for mid in known[-self.id_window :] if self.id_window is not None else ():
            self._seen(mid)

    def _seen(self, first: int) -> None:
        """The client sees a message (sent, received): its short id is remembered, the oldest beyond the window
        forgotten."""
        if self.id_window is None or first in self._short_of:
            return
        self._remember(first, first)

    def _remember(self, first: int, short: int) -> None:
        self._short_of[first] = short
        self._original_of[short] = first
        while self.id_window is not None and len(self._short_of) > self.id_window:
            old = next(iter(self._short_of))
            self._original_of.pop(self._short_of.pop(old), None)

    def short_id(self, first: int) -> int:
        """The id a message (known to tests by the id it had first) carries now in events: a new one when the
        client had forgotten it."""
        first = int(first)
        if self.id_window is None:
            return first
        if first not in self._short_of:
            self._remember(first, self.new_message_id())
        return self._short_of[first]

    def _first_id(self, short: object) -> int | None:
        """The message a short id names, or None when the client does not know it (forgotten)."""
        try:
            sid = int(str(short))
        except (TypeError, ValueError):
            return None
        if self.id_window is None:
            return sid
        return self._original_of.get(sid)

    def see_messages(self, n: int) -> None:
        """The account sees `n` messages in chats the bot does not serve: they push older short ids out."""
        for _ in range(n):
            self._seen(self.new_message_id())

    def restart_client(self) -> None:
        """The QQ client restarts: a windowed profile forgets every short id (NapCat keeps them in memory)."""
        if self.profile.id_window is not None:
            self._short_of.clear()
            self._original_of.clear()

    def _profile_get_msg(self, params: dict) -> dict:
        first = self._first_id(params.get("message_id"))
        stored = self._messages.get(first) if first is not None else None
        if stored is None:
            return _failed(1200, "消息不存在")
        out = json.loads(json.dumps(stored))
        seq = int(stored["message_seq"])
        out["message_id"] = self.short_id(first)
        if self.profile.name == "napcat":  # GetMsg.ts: message_seq = real_id = the short id; real_seq the sequence
            out["message_seq"] = out["real_id"] = out["message_id"]
            out["real_seq"] = str(seq)
        else:  # LLOneBot: real_id = message_seq, the sequence; no real_seq
            out["message_seq"] = out["real_id"] = seq
            out.pop("real_seq", None)
        return _ok(out)

    def _profile_reaction(self, action: str, params: dict) -> dict:
        p = self.profile
        if (action == "get_emoji_likes" and not p.get_emoji_likes) or action == "set_group_reaction":
            return _failed(1404, "不支持的Api")
        if action == "get_emoji_likes" and not isinstance(params.get("message_id"), str):
            # NapCat validates the payload (typebox Type.String) before it looks at anything
            return _failed(1400, "参数错误: /message_id must be string")
        first = self._first_id(params.get("message_id"))
        if first is None or first not in self._messages:
            return _failed(1200, "消息不存在")
        if action == "set_msg_emoji_like":
            return self._api_reaction_plain(action, {**params, "message_id": first})
        if action == "get_emoji_likes":
            emoji = str(params.get("emoji_id"))
        else:
            emoji = str(params.get("emoji_id") or params.get("emojiId") or "")
            if not emoji or emoji == "None":
                return _failed(1200, "未指定表情 ID")
        users = self._likes.get(first, {}).get(emoji, [])
        self.like_reads += 1
        if action == "get_emoji_likes":  # GetEmojiLikes.ts: 15 a read, count 0 = all (at most 200 reads)
            count = int(params.get("count", 0) or 0)
            reads = 200 if count == 0 else -(-count // 15)
            got = users[: reads * 15]
            if count > 0:
                got = got[:count]
            return _ok({"emoji_like_list": [{"user_id": str(u), "nick_name": self._known_nickname(u)} for u in got]})
        count = int(params.get("count", 20) or 20)
        start = int(params.get("cookie") or 0)
        page = users[start : start + count]
        end = start + len(page)
        listing = [{"tinyId": str(u), "nickName": "", "headUrl": ""} for u in page]
        return _ok(
            {
                "emojiLikesList": listing,
                "cookie": str(end) if end < len(users) else "",
                "isLastPage": end >= len(users),
                "isFirstPage": start == 0,
            }
        )

    # ----------------------------------------------------------------- API answering

    def _handle_api(self, action: str, params: dict) -> dict | None:
        self.api_calls.append((action, params))
        if (real := self._real_api(action, params)) is not _PASS:  # issue 22.3-5 (_RealClient)
            return real
        if action in SEND_ACTIONS:
            return self._api_send(action, params)
        if action in UPLOAD_ACTIONS:
            return self._api_upload(action, params)
        if action in FORWARD_ACTIONS:
            return self._api_forward(action, params)
        if action in REACTION_ACTIONS and action not in self.handlers:
            return self._api_reaction(action, params)
        if action in self.handlers:
            try:
                return _ok(self.handlers[action](params))
            except Exception as e:
                return _failed(100, str(e) or type(e).__name__)
        method = self._QUERY_ACTIONS.get(action)
        if method is None:
            return _failed(1404, "不支持的Api")
        return method(self, params)

    def _target(self, action: str, params: dict) -> tuple[int | None, int | None]:
        if action == "send_group_msg":
            return int(params["group_id"]), None
        if action == "send_private_msg":
            return None, int(params["user_id"])
        message_type = params.get("message_type")
        if message_type == "group" or (message_type is None and params.get("group_id") is not None):
            return int(params["group_id"]), None
        return None, int(params["user_id"])

    def _record(self, sent: Sent, ok: bool) -> None:
        self.attempts.append(sent)
        if ok:
            self.sent.append(sent)
        self._notify()

    def _api_send(self, action: str, params: dict) -> dict | None:
        try:
            group_id, user_id = self._target(action, params)
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id / user_id")
        message = normalize_message(params.get("message"), auto_escape=bool(params.get("auto_escape")))
        mode = self.send_mode
        mid = self.new_message_id()
        sent = Sent(action, group_id, user_id, message, mid, time.monotonic(), dict(params))
        images = [s for s in message if s["type"] == "image"]
        if images and (refused := self._picture_refusal(images, sent.files)):  # issue 23 (_RealClient)
            self._record(sent, False)
            return _failed(1200, refused)
        if images and (
            self.images_refused
            or any(
                not (sent.files.get(s["data"].get("file")) or _image_bytes(s) or b"").startswith(PNG_SIGNATURE)
                for s in images
            )
        ):
            self._record(sent, False)
            return _failed(1200, "图片发送失败 (qqsim images_refused or not a PNG)")
        self._record(sent, mode == "ok")
        if mode == "silent":
            return None
        if mode == "fail":
            return _failed(100, "发送消息失败 (qqsim send_mode=fail)")
        seq = self._next_seq()
        stored = {
            "self_id": self.self_id,
            "user_id": self.self_id,
            "time": int(time.time()),
            "message_id": mid,
            "message_seq": seq,
            "real_id": seq,
            "real_seq": str(seq),
            "message_type": "group" if group_id is not None else "private",
            "sender": {"user_id": self.self_id, "nickname": self.bot_nickname, "card": "", "role": "member"},
            "raw_message": to_cq(message),
            "font": 14,
            "sub_type": "normal" if group_id is not None else "friend",
            "message": message,
            "message_format": "array",
            "post_type": "message_sent",
        }
        if group_id is not None:
            stored["group_id"] = group_id
            self.remember(group_id, stored)  # issue 22.5 (_RealClient)
        else:
            stored["target_id"] = user_id
        self._messages[mid] = stored
        self._seen(mid)
        return _ok({"message_id": mid})

    def _api_forward(self, action: str, params: dict) -> dict | None:
        if not self.forward_supported:
            return _failed(1404, "不支持的Api")
        try:
            group_id, user_id = self._target(
                "send_group_msg" if action == "send_group_forward_msg" else "send_private_msg", params
            )
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id / user_id")
        nodes = normalize_message(params.get("messages"))
        if not nodes or any(n["type"] != "node" or "content" not in n["data"] for n in nodes):
            return _failed(1400, "messages must be flat nodes with content")
        mid = self.new_message_id()
        if self.forward_mode == "refused":  # issue 22.4 (_RealClient): refused in a big group
            self._record(Sent(action, group_id, user_id, nodes, mid, time.monotonic(), dict(params)), False)
            return _failed(200, "转发消息失败")
        if self.forward_mode in ("timeout", "arrived"):  # issue 22.4 (_RealClient): no answer in a big group
            arrived = self.forward_mode == "arrived"
            self._record(Sent(action, group_id, user_id, nodes, mid, time.monotonic(), dict(params)), arrived)
            if arrived and group_id is not None:
                self.remember(group_id, self._own(mid, group_id, [{"type": "forward", "data": {"id": str(mid)}}]))
            return None
        self._record(
            Sent(action, group_id, user_id, nodes, mid, time.monotonic(), dict(params)), self.send_mode == "ok"
        )
        if self.send_mode == "silent":
            return None
        if self.send_mode == "fail":
            return _failed(100, "发送消息失败 (qqsim send_mode=fail)")
        return _ok({"message_id": mid, "forward_id": f"qqsim-{-mid}"})

    def _api_upload(self, action: str, params: dict) -> dict | None:
        try:
            if action == "upload_group_file":
                group_id, user_id = int(params["group_id"]), None
            else:
                group_id, user_id = None, int(params["user_id"])
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id / user_id")
        name = params.get("name") or Path(str(params.get("file", ""))).name
        segment = {"type": "file", "data": {"file": params.get("file"), "name": name}}
        sent = Sent(action, group_id, user_id, [segment], self.new_message_id(), time.monotonic(), dict(params))
        refusal = self._upload_refusal(params)  # issue 22.3-4 (_RealClient)
        self._record(sent, not self.upload_fails and refusal is None)
        if refusal is not None:
            return _failed(200, refusal)
        if self.upload_fails:
            return _failed(1200, "上传文件失败 (qqsim upload_fails)")
        return _ok(None)

    def _api_get_msg(self, params: dict) -> dict:
        if self.get_msg_fails:
            return _failed(1200, "leveldb: not found")
        if self.profile.name != "permissive":
            return self._profile_get_msg(params)
        try:
            stored = self._messages.get(int(params.get("message_id")))
        except (TypeError, ValueError):
            stored = None
        if stored is None:
            return _failed(1200, "leveldb: not found")
        return _ok(json.loads(json.dumps(stored)))

    def _api_get_login_info(self, params: dict) -> dict:
        return _ok({"user_id": self.self_id, "nickname": self.bot_nickname})

    def _api_get_status(self, params: dict) -> dict:
        return _ok({"online": True, "good": True, "stat": {}})

    def _api_get_version_info(self, params: dict) -> dict:
        return _ok({"app_name": "qqsim", "app_version": "1.0.0", "protocol_version": "v11"})

    def _api_can_send_image(self, params: dict) -> dict:
        return _ok({"yes": True})

    def _api_can_send_record(self, params: dict) -> dict:
        return _ok({"yes": True})

    def _group_info(self, group_id: int) -> dict:
        count = len(self.group_members.get(group_id, []))
        return {
            "group_id": group_id,
            "group_name": self.group_names.get(group_id, f"群{group_id}"),
            "group_remark": "",
            "group_all_shut": 0,
            "member_count": count + 1,
            "max_member_count": 500,
        }

    def _api_get_group_list(self, params: dict) -> dict:
        return _ok([self._group_info(gid) for gid in sorted(set(self.group_members) | set(self.group_names))])

    def _api_get_group_info(self, params: dict) -> dict:
        try:
            return _ok(self._group_info(int(params["group_id"])))
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id")

    def _api_get_group_member_list(self, params: dict) -> dict:
        try:
            gid = int(params["group_id"])
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id")
        return _ok([_member_defaults(gid, m) for m in self.group_members.get(gid, [])])

    def _api_get_group_member_info(self, params: dict) -> dict:
        try:
            gid, uid = int(params["group_id"]), int(params["user_id"])
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing group_id / user_id")
        member = self._member(gid, uid)
        if member is None:
            return _failed(100, "群成员不存在")
        return _ok(_member_defaults(gid, member))

    def _known_nickname(self, user_id: int) -> str:
        if user_id in self.friends:
            return self.friends[user_id]
        for gid in self.group_members:
            member = self._member(gid, user_id)
            if member and member.get("nickname"):
                return str(member["nickname"])
        return f"用户{user_id}"

    def _api_get_stranger_info(self, params: dict) -> dict:
        try:
            uid = int(params["user_id"])
        except (KeyError, TypeError, ValueError):
            return _failed(1400, "missing user_id")
        nickname = self._known_nickname(uid)
        return _ok(
            {
                "user_id": uid,
                "nickname": nickname,
                "sex": "unknown",
                "age": 0,
                "qid": "",
                "level": 1,
                "login_days": 0,
                "remark": "",
                "long_nick": "",
            }
        )

    def _api_get_friend_list(self, params: dict) -> dict:
        return _ok(
            [
                {"user_id": uid, "nickname": nick, "remark": "", "sex": "unknown", "age": 0}
                for uid, nick in sorted(self.friends.items())
            ]
        )

    _QUERY_ACTIONS: ClassVar[dict[str, Callable[[QQClient, dict], dict]]] = {
        "get_msg": _api_get_msg,
        "get_login_info": _api_get_login_info,
        "get_status": _api_get_status,
        "get_version_info": _api_get_version_info,
        "can_send_image": _api_can_send_image,
        "can_send_record": _api_can_send_record,
        "get_group_list": _api_get_group_list,
        "get_group_info": _api_get_group_info,
        "get_group_member_list": _api_get_group_member_list,
        "get_group_member_info": _api_get_group_member_info,
        "get_stranger_info": _api_get_stranger_info,
        "get_friend_list": _api_get_friend_list,
    }

    # ----------------------------------------------------------------- waiting helpers

    def mark(self) -> None:
        """Set the watermark: later waits only consider messages sent from now on."""
        self._mark = len(self.sent)
        self._mark_attempts = len(self.attempts)

    def _describe(self, items: list[Sent], start: int) -> str:
        shown = items[start:][-20:]
        lines = "\n".join(f"  - {s}" for s in shown) or "  (nothing)"
        return (
            f"sent since mark: {len(self.sent) - self._mark}, attempts since mark: "
            f"{len(self.attempts) - self._mark_attempts}\n{lines}"
        )

    async def _wait_for(self, check: Callable[[], Any], timeout: float, what: str, describe: Callable[[], str]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            flag = self._event_flag()
            result = check()
            if result is not None:
                return result
            if not self.connected:
                raise Disconnected(f"{what}: not connected ({self._close_reason})\n{describe()}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what}: timed out after {timeout}s\n{describe()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flag.wait(), remaining)

    async def wait_sent(
        self,
        pred: Callable[[Sent], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 10,
        attempts: bool = False,
    ) -> list[Sent]:
        """Wait until at least `count` messages matching `pred` were sent since the mark; return all matches.

        With `attempts=True` failed / unanswered send attempts count too."""
        items = self.attempts if attempts else self.sent

        def check() -> list[Sent] | None:
            start = self._mark_attempts if attempts else self._mark
            found = [s for s in items[start:] if pred is None or pred(s)]
            return found if len(found) >= count else None

        start = self._mark_attempts if attempts else self._mark
        return await self._wait_for(
            check, timeout, f"waiting for {count} message(s)", lambda: self._describe(items, start)
        )

    async def expect_reply(
        self, *, group_id: int | None = None, user_id: int | None = None, timeout: float = 10
    ) -> Sent:
        """Next message sent after the mark to a group (`group_id`) or a private chat (`user_id`), or anywhere;
        advances the mark past it."""
        if group_id is not None and user_id is not None:
            raise ValueError("give group_id (group chat) or user_id (private chat), not both")

        def check() -> tuple[int, Sent] | None:
            for i in range(self._mark, len(self.sent)):
                s = self.sent[i]
                if (group_id is None or s.group_id == group_id) and (user_id is None or s.user_id == user_id):
                    return i, s
            return None

        start = self._mark
        target = f"group {group_id}" if group_id is not None else f"user {user_id}" if user_id is not None else "any"
        index, sent = await self._wait_for(
            check, timeout, f"waiting for a reply to {target}", lambda: self._describe(self.sent, start)
        )
        self._mark = index + 1
        self._mark_attempts = len(self.attempts)
        return sent

    async def quiet(self, seconds: float, *, since_mark: bool = False) -> list[Sent]:
        """Wait `seconds` and return what was sent meanwhile (or since the mark if `since_mark`)."""
        start = self._mark if since_mark else len(self.sent)
        await asyncio.sleep(seconds)
        return self.sent[start:]

    async def ask(self, group_id: int, user_id: int, text: str | list[dict], *, timeout: float = 10, **kw: Any) -> Sent:
        """Mark, send a group message, and return the bot's next message to that group."""
        self.mark()
        await self.group_message(group_id, user_id, text, **kw)
        return await self.expect_reply(group_id=group_id, timeout=timeout)

    async def ask_private(self, user_id: int, text: str | list[dict], *, timeout: float = 10, **kw: Any) -> Sent:
        """Mark, send a private message, and return the bot's next private message to that user."""
        self.mark()
        await self.private_message(user_id, text, **kw)
        return await self.expect_reply(user_id=user_id, timeout=timeout)

    def get_message(self, message_id: int) -> dict | None:
        """The stored message (as get_msg would return it), or None."""
        return self._messages.get(int(message_id))


# --------------------------------------------------------------------------- bot subprocess


# Ports for bots under test: below Linux's ephemeral range (32768–60999), so no outgoing connection or
# `bind(0)` server takes one, and a band of its own per pytest-xdist worker (PYTEST_XDIST_WORKER=gw0, gw1, …;
# a bench started by a test inherits it), so two workers never hand out the same port. A bot restarted on its
# port keeps it: nobody else is handed that port meanwhile.
PORT_BANDS = (10_000, 32_000)
_handed: set[int] = set()
_pick = random.SystemRandom()  # not the `random` module, which pytest-randomly seeds alike in every test


def port_band(worker: str | None = None) -> tuple[int, int] | None:
    """[low, high) of the ports `free_port` hands out in this pytest-xdist worker; None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "") if worker is None else worker
    if not (worker.startswith("gw") and worker[2:].isdigit()):
        return None
    bands = 8
    width = (PORT_BANDS[1] - PORT_BANDS[0]) // bands
    low = PORT_BANDS[0] + (int(worker[2:]) % bands) * width
    return low, low + width


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1, not handed out before by this process."""
    band = port_band()
    for _ in range(200 if band else 0):
        port = _pick.randrange(*band)
        if port in _handed:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    _handed.add(port)
    return port


class BotProcess:
    """Start `python -m bot` in a subprocess for end-to-end tests and benchmarks."""

    def __init__(
        self, workdir: str | Path, env: dict[str, str], port: int | None = None, python: str = sys.executable
    ) -> None:
        self.workdir = Path(workdir)
        self.env = {k: str(v) for k, v in env.items()}
        if port is None:
            port = int(self.env["PORT"]) if self.env.get("PORT") else free_port()
        self.port: int = port
        self.python = python
        self.url: str = f"ws://127.0.0.1:{self.port}/onebot/v11/ws"
        self.log_path: Path = self.workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self._log_file: Any = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def build_env(self) -> dict[str, str]:
        """The environment the bot process gets (PYTHONPATH, HOST, PORT and the given settings)."""
        env = os.environ.copy()
        env["HOST"] = "127.0.0.1"
        env["PORT"] = str(self.port)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.env)
        env["PORT"] = str(self.port)
        paths = [str(PROJECT_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env

    async def start(self, timeout: float = 30) -> None:
        """Launch the bot and wait until its port accepts TCP connections."""
        if self.running:
            raise BotStartError("bot process already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log_file = open(self.log_path, "ab")  # kept open for the subprocess lifetime
        self._log_file.write(f"\n=== qqsim: starting bot on port {self.port} at {time.ctime()} ===\n".encode())
        self._log_file.flush()
        self.proc = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "bot",
            cwd=str(self.workdir),
            env=self.build_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.proc.returncode is not None:
                raise BotStartError(f"bot exited early with code {self.proc.returncode}\n{self.log_tail()}")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 1)
            except (OSError, TimeoutError):
                pass
            else:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
                return
            if loop.time() >= deadline:
                await self.stop()
                raise BotStartError(f"bot did not open port {self.port} within {timeout}s\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGINT, wait up to 10 s, then SIGKILL. Safe to call more than once."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if sys.platform == "win32":  # no SIGINT for a child process there
                    proc.terminate()
                else:
                    proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        elif proc is not None:
            await proc.wait()
        self._close_log()

    def kill9(self) -> None:
        """SIGKILL the bot (crash test). Call `stop()` afterwards (or `start()` again) to reap it."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(Exception):
                self._log_file.close()
            self._log_file = None

    def log_text(self) -> str:
        """The whole bot.log (all runs appended)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
