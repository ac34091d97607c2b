"""What the end-to-end tests set up alike: the real bot process, the simulated client connected to it, its roster.

Each test file still says what it runs with (its settings, its client profile, its roster, its people); these
helpers only start, connect and stop in one way, and type the first commands every scenario types.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest

from bench.load import BenchClient, Request
from bench.procs import bot_env
from bench.seed import Dataset, seed
from sim.qqsim import BotProcess, QQClient, Sent

GROUP = 100200300
ADMIN = 900001
FOUR_UNITS = "名称,类别,地市,别名\n郑州大学,本科高校,郑州,郑大\n河南大学,本科高校,开封,\n郑州市教育局,市教育局,郑州,\n开封市教育局,市教育局,开封,\n"
"""A small roster (CSV, as `import-units` reads it): two universities and two city bureaus."""


def settings(tmp_path: Path, *, groups: Iterable[int] = (GROUP,), **env: str | None) -> dict[str, str]:
    """The settings most scenarios start from (one admin, these groups, no pacing, no quiet hours), plus `env`;
    a setting given as None is left out (the bot's default)."""
    base: dict[str, str | None] = {
        "ALLIANCE_ADMINS": f'["{ADMIN}"]',
        "ALLIANCE_GROUPS": "[" + ", ".join(f'"{g}"' for g in groups) + "]",
        "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
        "ALLIANCE_SEND_INTERVAL": "0",
        "ALLIANCE_QUIET_HOURS": "",
    }
    return {k: v for k, v in {**base, **env}.items() if v is not None}


@asynccontextmanager
async def started(proc: BotProcess, *, timeout: float = 60, clean: bool = False) -> AsyncIterator[BotProcess]:
    """The bot process started, and stopped whatever happens; `clean`: then no command failed in its log."""
    await proc.start(timeout=timeout)
    try:
        yield proc
    finally:
        await proc.stop()
        if clean:
            assert "command failed" not in proc.log_text(), proc.log_tail(80)


def bot_for_the_file(name: str, env: dict[str, str]) -> Any:
    """A module-scoped `bot` fixture: one bot for the whole file, in a fresh folder called `name`, started with `env`;
    at the end, no command failed in its log."""

    @pytest.fixture(scope="module")
    async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotProcess]:
        async with started(BotProcess(tmp_path_factory.mktemp(name), env), timeout=30, clean=True) as proc:
            yield proc

    return bot


@asynccontextmanager
async def connected(
    proc: BotProcess, *, profile: str | None = None, reactions: bool = True, timeout: float = 30, **kw: object
) -> AsyncIterator[QQClient]:
    """A simulated QQ client (`profile` as sim/qqsim.py names it) connected to the bot, closed whatever happens.

    `reactions=False`: a client that cannot react, so acknowledgements come as messages."""
    client = QQClient(proc.url, **kw)  # type: ignore[arg-type]
    if profile is not None:
        client.use_profile(profile)
    if not reactions:
        client.reactions_supported = False
    try:
        await client.connect(timeout=timeout)
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def running(workdir: Path, env: dict[str, str], **client: object) -> AsyncIterator[tuple[BotProcess, QQClient]]:
    """The bot started in `workdir` and a client connected to it (`client`: as for `connected`)."""
    proc = BotProcess(workdir, env)
    async with started(proc), connected(proc, **client) as qq:  # type: ignore[arg-type]
        yield proc, qq


@asynccontextmanager
async def seeded(
    tmp_path: Path,
    units: int,
    admins: tuple[int, ...],
    *,
    history: int = 1,
    pending: int = 10,
    timeout: float = 60,
    **env: str,
) -> AsyncIterator[tuple[BotProcess, Dataset]]:
    """The real bot with bench.seed's settings on a database it seeded (`units` units, `history` sent messages a unit,
    `pending` open applications), started, not yet connected; stopped whatever happens."""
    data = tmp_path / "data"
    ds = await seed(data / "alliance.db", units, history=history, pending=pending)
    full_env = bot_env(data, ds.group_id, admins, "INFO")
    full_env.update(env)
    proc = BotProcess(tmp_path, full_env)
    try:
        await proc.start(timeout=timeout)
        yield proc, ds
    finally:
        await proc.stop()


async def restart(proc: BotProcess, client: QQClient, *, mark: bool = False) -> None:
    """Stop the client and the bot, start them again (`mark`: later waits see only what comes after)."""
    await client.close()
    await proc.stop()
    if mark:
        client.mark()
    await proc.start(timeout=60)
    await client.connect(timeout=30)


async def cli(proc: BotProcess, *args: str, timeout: float = 60) -> tuple[int, str]:
    """`python -m bot …` with the bot's own settings and working folder: its exit code and what it printed."""
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=str(proc.workdir),
        env=proc.build_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(run.communicate(), timeout)
    return run.returncode or 0, out.decode()


async def import_units(proc: BotProcess, roster: str) -> str:
    """`python -m bot import-units` of this CSV in the bot's folder, before it starts; what the command printed."""
    proc.workdir.mkdir(parents=True, exist_ok=True)
    (proc.workdir / "units.csv").write_text(roster, encoding="utf-8")
    code, output = await cli(proc, "import-units", "units.csv")
    assert code == 0, output
    return output


async def command(
    client: QQClient,
    user: int,
    text: str,
    expect: str,
    *,
    card: str = "",
    group: int = GROUP,
    anywhere: bool = False,
    timeout: float = 20,
) -> Sent:
    """Send a group command and wait for the bot's message that contains `expect`: in that group, or `anywhere`."""
    client.mark()
    await client.group_message(group, user, text, card=card)
    found = await client.wait_sent(lambda s: (anywhere or s.group_id == group) and expect in s.text, timeout=timeout)
    return found[0]


async def enrol(
    client: QQClient, units: Iterable[str], operators: Iterable[tuple[int, str, str]], *, anywhere: bool = False
) -> None:
    """As the admin add the units (“郑州大学 本科高校 郑州”), have each operator (QQ, unit, card) apply, approve all."""
    for unit in units:
        await command(client, ADMIN, f"/单位 添加 {unit}", "已", anywhere=anywhere)
    numbers = []
    for qq, unit, card in operators:
        await command(client, qq, f"/注册 {unit}", "已记录", card=card, anywhere=anywhere)
        numbers.append(str(len(numbers) + 1))
    await command(client, ADMIN, "/审核 通过 " + " ".join(numbers), "已通过", anywhere=anywhere)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows read straight from the bot's SQLite file (WAL: readable while the bot writes)."""
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


async def answer_to(client: QQClient, user: int, *, private: bool = False, group: int = GROUP) -> Sent:
    """The next message to (or @-mentioning) this user after the mark."""
    if private:
        found = await client.wait_sent(lambda s: s.user_id == user and s.group_id is None, timeout=20)
    else:
        found = await client.wait_sent(lambda s: s.group_id == group and str(user) in s.ats, timeout=20)
    return found[0]


async def until(check: Callable[[], bool], timeout: float = 20) -> None:
    """Wait for what the bot stores (a reaction confirmed says nothing in the group)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


def confirmations(db: Path) -> list[tuple[str, str]]:
    """(who, how) of every counted confirmation of 统发 #1, by QQ id."""
    return query(db, "SELECT user_id, via FROM broadcast_confirmations WHERE task_id=1 AND counted=1 ORDER BY user_id")


async def announce(client: BenchClient, group: int, admin: int, text: str, timeout: float) -> str:
    """An admin's /统发 (`text` is the whole command) in the group, answered: the new task's number."""
    _, reply = await client.request(Request("统发", admin, text, group), timeout)
    found = re.search(r"#(\d+)", reply.text)
    assert found, reply.text
    return found.group(1)


async def confirm_all(client: QQClient, group: int, operators: Iterable[int], task: str) -> None:
    """Each operator sends /已转发 for the task, one after another, not waiting for answers."""
    for op in operators:
        await client.group_message(group, op, f"/已转发 {task}")
