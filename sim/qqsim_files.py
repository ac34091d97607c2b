"""Files in the simulated QQ client: uploads to a group or a private chat, served from a local HTTP server.

A real client (NapCat, LLOneBot) announces a group upload with a `group_upload` notice
(`file: {id, name, size, busid}`), newer ones also post a message with a `file` segment; a private file
arrives as a message with a `file` segment. The bot then asks for the bytes: `get_group_file_url`
(group_id, file_id, busid) or `get_private_file_url` (file_id) answer `{url}`, `get_file` (file_id)
answers `{file, url, file_size, file_name}` and, in base64 mode, `base64`. The URLs point at a small
HTTP server on 127.0.0.1 that the test starts (`FileServer`). Kept apart from sim/qqsim.py: it plugs into
`QQClient.handlers`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import secrets
import tempfile
from pathlib import Path
from typing import Any

from sim.qqsim import QQClient


class FileServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that serves registered bytes by token (GET only)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.moved: dict[str, str] = {}
        self.requests: list[str] = []
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> FileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FileServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def add(self, data: bytes) -> str:
        token = secrets.token_hex(8)
        self.files[token] = data
        return f"http://127.0.0.1:{self.port}/f/{token}"

    def redirect(self, to: str) -> str:
        """A URL on this server that answers 302 to `to`."""
        token = secrets.token_hex(8)
        self.moved[token] = to
        return f"http://127.0.0.1:{self.port}/f/{token}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("latin-1")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split()
            path = parts[1] if len(parts) > 1 else ""
            self.requests.append(path)
            token = path.rsplit("/", 1)[-1] if path.startswith("/f/") else ""
            data = self.files.get(token)
            if token in self.moved:
                head = f"HTTP/1.1 302 Found\r\nLocation: {self.moved[token]}\r\nContent-Length: 0\r\n"
                writer.write((head + "Connection: close\r\n\r\n").encode())
            elif data is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\nContent-Type: application/octet-stream\r\n"
                writer.write((head + "Connection: close\r\n\r\n").encode())
                for i in range(0, len(data), 1 << 16):
                    writer.write(data[i : i + (1 << 16)])
                    await writer.drain()
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class SimFiles:
    """Uploads through a QQClient: registers the file API handlers on it and sends the events a client sends.

    `mode` chooses how `get_file` answers: "url" (default), "base64" or "path" (a local file, as a client on
    the same machine). `group_url_fails` makes `get_group_file_url` fail, so the bot falls back to get_file.
    `forged`, when set, is what a lying (or hostile) client answers to every file API instead: a path such as
    `{"file": "/proc/kmsg"}` or an address such as `{"url": "http://127.0.0.1:…/internal"}` (issue 20 item 7).
    """

    def __init__(self, client: QQClient, server: FileServer) -> None:
        self.client = client
        self.server = server
        self.mode = "url"
        self.group_url_fails = False
        self.forged: dict[str, Any] | None = None
        self.files: dict[str, tuple[str, bytes, str]] = {}
        self._ids = itertools.count(1)
        self._tmp = Path(tempfile.mkdtemp(prefix="qqsim-files-"))
        client.handlers["get_group_file_url"] = self._group_url
        client.handlers["get_private_file_url"] = self._private_url
        client.handlers["get_file"] = self._get_file

    def _add(self, name: str, data: bytes) -> str:
        fid = f"/{secrets.token_hex(4)}-{next(self._ids)}"
        self.files[fid] = (name, data, self.server.add(data))
        return fid

    def _find(self, params: dict) -> tuple[str, bytes, str]:
        found = self.files.get(str(params.get("file_id") or params.get("file") or ""))
        if found is None:
            raise LookupError("file not found")
        return found

    def _group_url(self, params: dict) -> dict:
        if self.forged is not None:
            return dict(self.forged)
        if self.group_url_fails:
            raise RuntimeError("get_group_file_url failed (qqsim)")
        int(params["group_id"])
        return {"url": self._find(params)[2]}

    def _private_url(self, params: dict) -> dict:
        if self.forged is not None:
            return dict(self.forged)
        return {"url": self._find(params)[2]}

    def _get_file(self, params: dict) -> dict:
        name, data, url = self._find(params)
        if self.forged is not None:
            return {"file_size": str(len(data)), "file_name": name, **self.forged}
        out: dict[str, Any] = {"file_size": str(len(data)), "file_name": name, "url": ""}
        if self.mode == "base64":
            out["base64"] = base64.b64encode(data).decode()
        elif self.mode == "path":
            p = self._tmp / f"{secrets.token_hex(4)}-{Path(name).name}"
            p.write_bytes(data)
            out["file"] = str(p)
        else:
            out["url"] = url
        return out

    async def group_upload(
        self,
        group_id: int,
        user_id: int,
        name: str,
        data: bytes,
        *,
        via: str = "notice",
        size: int | None = None,
        card: str = "",
    ) -> str:
        """Upload to the group's files; `via` is "notice", "segment" or "both" (a newer client sends both)."""
        fid = self._add(name, data)
        declared = len(data) if size is None else size
        if via in ("notice", "both"):
            await self.client.notice(
                notice_type="group_upload",
                group_id=int(group_id),
                user_id=int(user_id),
                file={"id": fid, "name": name, "size": declared, "busid": 102},
            )
        if via in ("segment", "both"):
            seg = {"type": "file", "data": {"file": name, "file_id": fid, "file_size": str(declared), "url": ""}}
            await self.client.group_message(group_id, user_id, [seg], card=card)
        return fid

    async def private_file(self, user_id: int, name: str, data: bytes, *, size: int | None = None) -> str:
        """Send a file in a private chat (a message with a `file` segment)."""
        fid = self._add(name, data)
        declared = len(data) if size is None else size
        seg = {"type": "file", "data": {"file": name, "file_id": fid, "file_size": str(declared)}}
        await self.client.private_message(user_id, [seg])
        return fid

    def offline_upload(
        self, group_id: int, user_id: int, name: str, data: bytes, *, when: float, card: str = ""
    ) -> tuple[str, int]:
        """An upload to the group's files while the bot is away: no notice reaches it, but the message with a
        `file` segment a newer client posts is in the group's history. Returns (file id, message id)."""
        fid = self._add(name, data)
        seg = {"type": "file", "data": {"file": name, "file_id": fid, "file_size": str(len(data)), "url": ""}}
        mid = self.client.offline_group_message(group_id, user_id, [seg], when=when, card=card)  # type: ignore[arg-type]
        return fid, mid
