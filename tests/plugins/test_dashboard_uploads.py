"""Uploads to the dashboard read by python-multipart (issue 23): escaped names, and every limit a clear 4xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.app import App
from tests.plugins.test_dashboard import audit_rows, client, csrf_of, dash, login

__all__ = ["dash"]

BOUNDARY = "----house-lib-boundary"
ROW = "名称,类别\n新单位,高中\n".encode()


def multipart(*parts: tuple[str, bytes]) -> bytes:
    """A hand-made multipart body: each part is (its Content-Disposition parameters, its bytes)."""
    out = b""
    for disposition, data in parts:
        out += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_a_quoted_file_name_with_escaped_quotes_is_unescaped(dash: App) -> None:
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        body = multipart(('name="csrf"', csrf.encode()), ('name="file"; filename="名单\\"2026\\".csv"', ROW))
        r = await c.post("/dashboard/import", content=body, headers=HEADERS)
    assert r.status_code == 200 and "已导入 名单&quot;2026&quot;.csv" in r.text
    assert await dash.units.find("新单位") is not None
    assert any('名单"2026".csv' in a["detail"] for a in await audit_rows(dash) if a["action"] == "导入名册")


async def test_a_quoted_field_name_with_an_escape_is_its_own_field(dash: App) -> None:
    """`name="cs\\"rf"` is the field cs"rf, not csrf: the upload is refused as without a CSRF value."""
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        body = multipart(('name="cs\\"rf"', csrf.encode()), ('name="file"; filename="r.csv"', ROW))
        r = await c.post("/dashboard/import", content=body, headers=HEADERS)
    assert r.status_code == 403 and "页面已过期" in r.text
    assert await dash.units.find("新单位") is None


async def test_two_files_are_refused_in_chinese(dash: App) -> None:
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post(
            "/dashboard/import", data={"csrf": csrf}, files=[("file", ("a.csv", ROW)), ("file", ("b.csv", ROW))]
        )
    assert r.status_code == 400 and "一次只能上传 1 个文件" in r.text and "msg err" in r.text
    assert await dash.units.find("新单位") is None


async def test_too_many_fields_are_refused_in_chinese(dash: App) -> None:
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        fields = {"csrf": csrf} | {f"f{i}": "1" for i in range(60)}
        r = await c.post("/dashboard/import", data=fields, files={"file": ("r.csv", ROW)})
    assert r.status_code == 400 and "表单内容太多" in r.text
    assert await dash.units.find("新单位") is None


async def test_a_field_too_long_is_refused_in_chinese(dash: App) -> None:
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post("/dashboard/import", data={"csrf": csrf, "note": "x" * 20_000}, files={"file": ("r.csv", ROW)})
    assert r.status_code == 400 and "表单里的文字太长（超过 16 KB）" in r.text
    assert await dash.units.find("新单位") is None


async def test_a_body_over_5_mb_is_a_413_whether_its_length_is_declared_or_not(dash: App) -> None:
    big = ROW + b"x" * (5 * 1024 * 1024)
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": ("r.csv", big)})
        assert r.status_code == 413 and "文件太大（超过 5 MB）" in r.text

        body = multipart(('name="csrf"', csrf.encode()), ('name="file"; filename="r.csv"', big))

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for i in range(0, len(body), 64 * 1024):
                yield body[i : i + 64 * 1024]

        r = await c.post("/dashboard/import", content=chunked(), headers=HEADERS)
        assert r.status_code == 413 and "文件太大（超过 5 MB）" in r.text
    assert await dash.units.find("新单位") is None


async def test_a_body_without_a_boundary_is_a_400_that_says_to_choose_a_file(dash: App) -> None:
    async with client() as c:
        await login(c)
        r = await c.post("/dashboard/import", content=b"garbage", headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 400 and "没有收到文件" in r.text
