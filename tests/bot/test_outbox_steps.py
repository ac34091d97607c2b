"""The outbox's steps under load: one write transaction per message (the outcome of the last send written with the
claim of the next), and a crash between any two steps never leaves two rows `sending` nor sends anything twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import pytest

from bot.db import Database
from bot.outbox.service import Outbox
from bot.render import Msg
from tests.bot.test_outbox import GROUP, FakeClient, no_sleep, queue, started, states


class Reactions:
    """A client's reactions: records (group, message id) of each."""

    def __init__(self) -> None:
        self.put: list[tuple[str, str]] = []

    async def __call__(self, group_id: str, message_id: str) -> None:
        self.put.append((group_id, message_id))


def counting_tx(db: Database, monkeypatch: pytest.MonkeyPatch, after_commit: object = None) -> list[int]:
    """Count the database's write transactions (one item per commit); `after_commit()` runs after each."""
    real_tx, commits = db.tx, []

    @asynccontextmanager
    async def tx() -> AsyncIterator[object]:
        async with real_tx() as t:
            yield t
        commits.append(1)
        if callable(after_commit):
            after_commit()

    monkeypatch.setattr(db, "tx", tx)
    return commits


async def test_each_message_costs_one_transaction_while_a_client_that_can_react_has_none_owed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"回答{i}" for i in range(30)]
    await queue(box := Outbox(db, interval=0, jitter=0, sleep=no_sleep), *texts)
    client, reactions = FakeClient(), Reactions()
    commits = counting_tx(db, monkeypatch)
    box.attach(client, react=reactions)
    async with started(box):
        await box.wait_idle(10)
    assert client.texts == texts
    assert set((await states(db)).values()) == {"sent"}
    # start, compaction, one lane of reactions found empty, a claim per message, the last outcome: not two per message
    assert len(commits) <= len(texts) + 5, len(commits)


async def test_a_reaction_queued_while_answers_go_out_is_put(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client, reactions = FakeClient(), Reactions()
    queued: list[asyncio.Task[int]] = []

    async def ack() -> int:
        async with db.tx() as tx:
            return await box.ack(tx, "group", GROUP, Msg("收到"), react_to="4242")

    client.before = lambda text: queued.append(asyncio.create_task(ack())) if text == "回答5" else None
    await queue(box, *[f"回答{i}" for i in range(10)])
    box.attach(client, react=reactions)
    async with started(box):
        await box.wait_idle(10)
        await asyncio.gather(*queued)
        await box.wait_idle(10)
    assert reactions.put == [(GROUP, "4242")]
    assert "收到" not in client.texts


def _copy(src: Path, dest: Path) -> Path:
    """What a process dying now leaves on disk: the committed state (read from another connection)."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dest)) as b:
        a.backup(b)
    return dest


async def test_a_crash_between_any_two_steps_leaves_at_most_one_row_sending_and_sends_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox sends six messages; the disk is copied after every commit and right after every message reached
    the client (before its outcome is written): each copy is a crash at that point. Each copy holds at most one
    row `sending`; started again on it, the outbox marks that row `unknown` (never sent again) and sends the rest:
    with what went out before the crash, each message reached the client once, or is the one `unknown`."""
    path = tmp_path / "alliance.db"
    db = Database(path)
    await db.open()
    texts = [f"消息{i}" for i in range(6)]
    delivered: list[str] = []
    crashes: list[tuple[list[str], Path]] = []

    def crash_here() -> None:
        crashes.append((list(delivered), _copy(path, tmp_path / f"crash{len(crashes)}.db")))

    def reached(text: str) -> None:
        delivered.append(text)
        crash_here()

    try:
        box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
        await queue(box, *texts)
        counting_tx(db, monkeypatch, after_commit=crash_here)
        client = FakeClient()
        client.before = reached
        box.attach(client, react=Reactions())
        async with started(box):
            await box.wait_idle(10)
        assert client.texts == texts
    finally:
        await db.close()
    assert len(crashes) >= 2 * len(texts)

    for before, copy in crashes:
        with closing(sqlite3.connect(copy)) as raw:
            (sending,) = raw.execute("SELECT COUNT(*) FROM outbox WHERE state='sending'").fetchone()
        assert sending <= 1, (before, sending)
        again = Database(copy)
        await again.open()
        try:
            box = Outbox(again, interval=0, jitter=0, sleep=no_sleep)
            client = FakeClient()
            box.attach(client, react=Reactions())
            async with started(box):
                await box.wait_idle(10)
            after = await states(again)
        finally:
            await again.close()
        reached_client = Counter(before + client.texts)
        assert max(reached_client.values()) == 1, (before, client.texts)
        unknown = {t for t, state in after.items() if state == "unknown"}
        assert len(unknown) == sending and set(reached_client) | unknown == set(texts), (before, after)
        assert all(state in ("sent", "unknown") for state in after.values()), after
