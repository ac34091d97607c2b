"""Reading what the dashboard is sent: bodies with a size limit, urlencoded forms and multipart uploads (no extra dependency), numbers in a query."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from fastapi import Request

MAX_FORM = 16 * 1024


MAX_UPLOAD = 5 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit`."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BadForm(ValueError):
    """A form that is not a small urlencoded form (too many fields, not text)."""


def parse_form(body: bytes) -> dict[str, str]:
    """A urlencoded form, first value of each field. Raises BadForm when it has more than 50 fields."""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    except ValueError as e:
        raise BadForm(str(e)) from None
    return {k: v[0] for k, v in fields.items()}


_DISPOSITION = re.compile(r'(\w+\*?)="((?:[^"\\]|\\.)*)"|(\w+\*?)=([^;\s]+)')


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """`multipart/form-data` fields: name → (filename or None, bytes). Raises ValueError when malformed."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m or not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("not multipart/form-data")
    delimiter = b"--" + m.group(1).encode("latin-1")
    out: dict[str, tuple[str | None, bytes]] = {}
    parts = body.split(delimiter)
    if len(parts) < 3:
        raise ValueError("no parts")
    for part in parts[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without headers")
        data = data.removesuffix(b"\r\n")
        params: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for pm in _DISPOSITION.finditer(value):
                    k = (pm.group(1) or pm.group(3)).lower()
                    params[k] = pm.group(2) if pm.group(1) else pm.group(4)
        name = params.get("name")
        if name is None:
            continue
        filename = params.get("filename")
        if "filename*" in params and params["filename*"].lower().startswith("utf-8''"):
            from urllib.parse import unquote

            filename = unquote(params["filename*"][7:])
        out[name] = (filename, data)
    return out


def _int(value: str | None, default: int = 1) -> int:
    try:
        n = int(value or default)
    except ValueError:
        return default
    return n if abs(n) < 2**53 else default
