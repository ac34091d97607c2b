"""Reading what the dashboard is sent: bodies with a size limit, urlencoded forms, multipart uploads (python-multipart through Starlette), numbers in a query."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request
from starlette.formparsers import MultiPartException
from starlette.types import Message

MAX_FORM = 16 * 1024


MAX_UPLOAD = 5 * 1024 * 1024

# an upload form holds one file and a few fields (the CSRF value); 50 fields as for urlencoded forms
MAX_FILES = 1
MAX_FIELDS = 50


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


class BadUpload(ValueError):
    """An upload refused before it is read: `status` is the HTTP answer, the message is for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class _TooBig(Exception):
    """Raised from inside the body stream once it passes the limit."""


# python-multipart's messages (through Starlette) and what the user is told instead
_REFUSALS = (
    ("Too many files", f"一次只能上传 {MAX_FILES} 个文件，请只选择一个文件后重新上传。"),
    ("Too many fields", "表单内容太多，请刷新页面后重新上传。"),
    ("exceeded maximum size", f"表单里的文字太长（超过 {MAX_FORM // 1024} KB），请刷新页面后重新上传。"),
)


async def read_upload(request: Request, limit: int) -> dict[str, tuple[str | None, bytes]]:
    """A `multipart/form-data` upload read by python-multipart (through Starlette's `request.form`), streamed
    and never over `limit` bytes in all: name → (filename or None for a plain field, bytes).

    At most MAX_FILES files and MAX_FIELDS plain fields of MAX_FORM bytes each. Raises BadUpload (413 when the
    body is too big, else 400) with a Chinese sentence saying what to do."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadUpload(f"文件太大（超过 {limit // 1024 // 1024} MB），请压缩或拆分后再上传。", 413)
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _TooBig
        return message

    # without "app" in the scope Starlette hands its MultiPartException back instead of answering in English
    scope = {k: v for k, v in request.scope.items() if k != "app"}
    capped = Request(scope, receive)
    try:
        form = await capped.form(max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=MAX_FORM)
    except _TooBig:
        raise BadUpload(f"文件太大（超过 {limit // 1024 // 1024} MB），请压缩或拆分后再上传。", 413) from None
    except MultiPartException as err:
        why = next((say for key, say in _REFUSALS if key in err.message), "没有收到文件，请重新选择文件后上传。")
        raise BadUpload(why) from None
    out: dict[str, tuple[str | None, bytes]] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, str):
                out[name] = (None, value.encode("utf-8"))
            else:
                out[name] = (value.filename, await value.read())
    finally:
        await form.close()
    return out


def form_int(value: str | None, default: int = 1) -> int:
    """A query or form value as a whole number: `default` when it is missing, not a number or past 2**53."""
    try:
        n = int(value or default)
    except ValueError:
        return default
    return n if abs(n) < 2**53 else default
