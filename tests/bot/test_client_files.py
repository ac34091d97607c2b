"""Paths and URLs the QQ client gives for a handed-in file are never trusted (issue 20 item 7): a local path is
read only inside ALLIANCE_CLIENT_FILE_DIRS, only a regular file, never the bot's data folder or its .env, off the
event loop; a URL goes through the address guard of 统发 links, hop by hop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.netguard import Guard, parse_hosts
from bot.returns.files.fetch import (
    NO_DIRS,
    NOT_REGULAR,
    OUTSIDE,
    PRIVATE_URL,
    PROJECT,
    ClientFiles,
    FetchFailed,
    Source,
    TooBig,
    fetch,
)
from sim.qqsim_files import FileServer
from tests.conftest import make_settings

CAP = 1_000_000


def rules_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dirs: list[str]) -> ClientFiles:
    """The rules of a bot running in tmp_path (its .env and data folder there), reading the given folders."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DASHBOARD_TOKEN=secret-token-0123456789\n", encoding="utf-8")
    settings = make_settings(tmp_path).model_copy(update={"alliance_client_file_dirs": dirs})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "alliance.db").write_bytes(b"SQLite format 3\x00")
    return ClientFiles.of(settings)


async def refused(path: str, rules: ClientFiles) -> str:
    with pytest.raises(FetchFailed) as info:
        await fetch(Source(path=path), CAP, 5, rules=rules)
    return str(info.value)


async def test_by_default_no_local_path_is_read_not_even_the_bots_env(tmp_path: Path, monkeypatch) -> None:
    """The report: get_file answered {"file": "<bot dir>/.env"} and the bot stored its tokens as 郑州大学's return."""
    rules = rules_for(tmp_path, monkeypatch, [])
    assert await refused(str(tmp_path / ".env"), rules) == NO_DIRS
    assert await refused(str(PROJECT / "pyproject.toml"), rules) == NO_DIRS
    assert await refused("/proc/kmsg", rules) == NO_DIRS
    assert "联系管理员" in NO_DIRS and "重新上传" in NO_DIRS


async def test_inside_the_allowed_folder_only_plain_files_that_stay_there(tmp_path: Path, monkeypatch) -> None:
    """Even with the bot's own folder allowed: never its .env, never its data folder; no FIFO, no device, no
    symlink out, no /proc; a plain file (by path or file:// URI) is read."""
    rules = rules_for(tmp_path, monkeypatch, [str(tmp_path)])
    qq = tmp_path / "qq"
    qq.mkdir()
    good = qq / "郑州大学 统计表.csv"
    good.write_bytes("单位,账号\n郑州大学,1\n".encode())
    assert await fetch(Source(path=str(good)), CAP, 5, rules=rules) == good.read_bytes()
    assert await fetch(Source(path=good.as_uri()), CAP, 5, rules=rules) == good.read_bytes()

    assert await refused(str(tmp_path / ".env"), rules) == OUTSIDE
    assert await refused(str(qq / ".." / ".env"), rules) == OUTSIDE
    assert await refused(str(tmp_path / "data" / "alliance.db"), rules) == OUTSIDE
    (qq / "env.csv").symlink_to(tmp_path / ".env")
    assert await refused(str(qq / "env.csv"), rules) == OUTSIDE
    (qq / "passwd.csv").symlink_to("/etc/passwd")
    assert await refused(str(qq / "passwd.csv"), rules) == OUTSIDE
    (qq / "kmsg.csv").symlink_to("/proc/kmsg")
    assert await refused(str(qq / "kmsg.csv"), rules) == OUTSIDE
    os.link(tmp_path / ".env", qq / "hardlinked.csv")
    assert await refused(str(qq / "hardlinked.csv"), rules) == OUTSIDE
    assert await refused("/proc/kmsg", rules) == OUTSIDE
    assert await refused("/etc/passwd", rules) == OUTSIDE
    assert await refused("relative/郑州大学统计表.csv", rules) == OUTSIDE
    assert await refused("file://evil.example/etc/passwd", rules) == OUTSIDE

    fifo = qq / "郑州大学统计表.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert await refused(str(fifo), rules) == NOT_REGULAR  # a FIFO nobody writes to: refused, not waited on
    assert time.monotonic() - started < 2
    assert await refused(str(qq), rules) == NOT_REGULAR  # a folder
    big = qq / "big.csv"
    big.write_bytes(b"x" * (CAP + 1))
    with pytest.raises(TooBig):
        await fetch(Source(path=str(big)), CAP, 5, rules=rules)


async def test_system_folders_are_never_read_even_when_listed(tmp_path: Path, monkeypatch) -> None:
    rules = rules_for(tmp_path, monkeypatch, ["/proc", "/dev", "/sys"])
    for path in ("/proc/kmsg", "/proc/self/environ", "/dev/zero", "/dev/stdin", "/sys/kernel/notes"):
        assert await refused(path, rules) == OUTSIDE, path


async def test_a_path_that_hangs_does_not_stop_the_loop(tmp_path: Path, monkeypatch) -> None:
    """/proc/kmsg froze the bot (read on the event loop, SIGINT ignored). Whatever a read does (here: a file
    system that stalls for 1 s), it runs in a worker thread under the file timeout while the loop goes on."""
    import bot.returns.files.fetch as fetch_module

    rules = rules_for(tmp_path, monkeypatch, [str(tmp_path)])
    f = tmp_path / "郑州大学统计表.csv"
    f.write_bytes(b"a,b\n")
    real_opened = fetch_module._opened_path

    def stalling(fd: int) -> Path | None:
        time.sleep(1)
        return real_opened(fd)

    monkeypatch.setattr(fetch_module, "_opened_path", stalling)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        assert await fetch(Source(path=str(f)), CAP, 5, rules=rules) == b"a,b\n"
        assert ticks > 30, f"the loop ticked only {ticks} times in a 1 s read"
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="超时"):
            await fetch(Source(path=str(f)), CAP, 0.2, rules=rules)
        assert time.monotonic() - started < 0.8
    finally:
        ticker.cancel()


async def test_client_urls_go_through_the_address_guard_hop_by_hop() -> None:
    """{"url": "http://127.0.0.1:<port>/internal-only"} was fetched with redirects followed and no address check."""
    async with FileServer() as internal, FileServer() as client_files:
        secret = internal.add(b"internal only")
        good = client_files.add(b"form")
        listed = ClientFiles(guard=Guard(allowed=parse_hosts([f"127.0.0.1:{client_files.port}"])))

        for rules in (ClientFiles(), listed):
            with pytest.raises(FetchFailed) as info:
                await fetch(Source(url=secret), CAP, 5, rules=rules)
            assert str(info.value) == PRIVATE_URL
        # the listed host may be read; its redirect to another address on this machine is checked and refused
        assert await fetch(Source(url=good), CAP, 5, rules=listed) == b"form"
        with pytest.raises(FetchFailed) as info:
            await fetch(Source(url=client_files.redirect(secret)), CAP, 5, rules=listed)
        assert str(info.value) == PRIVATE_URL
        assert await fetch(Source(url=client_files.redirect(good)), CAP, 5, rules=listed) == b"form"
        for url in ("http://[::1]:1/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x"):
            with pytest.raises(FetchFailed):
                await fetch(Source(url=url), CAP, 5, rules=listed)
        assert internal.requests == [], "nothing was asked of the internal server"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ALLIANCE_CLIENT_FILE_DIRS", '["relative/dir"]'),
        ("ALLIANCE_CLIENT_FILE_DIRS", '["/"]'),
        ("ALLIANCE_CLIENT_FILE_DIRS", "[not json"),
        ("ALLIANCE_CLIENT_FILE_HOSTS", '["qq.example.com"]'),
        ("ALLIANCE_CLIENT_FILE_HOSTS", '["127.0.0.1:http"]'),
        ("ALLIANCE_CLIENT_FILE_HOSTS", '["127.0.0.1:70000"]'),
    ],
)
def test_bad_client_file_settings_stop_the_bot_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(None, environ={key: value})


def test_client_file_settings_read() -> None:
    s = load_settings(
        None,
        environ={
            "ALLIANCE_CLIENT_FILE_DIRS": '["/home/qq/.config/QQ", "~/qqfiles"]',
            "ALLIANCE_CLIENT_FILE_HOSTS": '["127.0.0.1:3000", "[::1]:3000", "172.17.0.0/16"]',
        },
    )
    assert s.alliance_client_file_dirs[0] == "/home/qq/.config/QQ"
    assert Path(s.alliance_client_file_dirs[1]).is_absolute()
    assert len(parse_hosts(s.alliance_client_file_hosts)) == 3
    assert load_settings(None, environ={}).alliance_client_file_dirs == []
