"""The outbox: persisted, ordered, rate-limited, delivered on reconnect, never blindly re-sent."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from itertools import pairwise
from pathlib import Path

import pytest

from bot.db import Database
from bot.outbox.records import NotSent, SendFailed, SendUnknown
from bot.outbox.service import Outbox
from bot.render import Msg, Segment

GROUP = "100200300"


class FakeClient:
    """Records what the outbox hands to it; `script[text]` is a list of outcomes for that text's attempts."""

    def __init__(self, log: list[tuple[str, object]] | None = None) -> None:
        self.calls: list[tuple[str, str, str, float]] = []
        self.script: dict[str, list[BaseException | None]] = {}
        self.log = log if log is not None else []
        self.before: Callable[[str], None] | None = None
        self._ids = iter(range(-2_147_483_700, -3_000_000_000, -1))

    async def __call__(self, target_type: str, target_id: str, segments: list[Segment]) -> str | None:
        text = "".join(s["data"].get("text", "") for s in segments if s["type"] == "text")
        self.calls.append((target_type, target_id, text, time.monotonic()))
        self.log.append(("send", text))
        if self.before is not None:
            self.before(text)
        outcomes = self.script.get(text)
        if outcomes:
            outcome = outcomes.pop(0)
            if outcome is not None:
                raise outcome
        return str(next(self._ids))

    @property
    def texts(self) -> list[str]:
        return [c[2] for c in self.calls]


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@asynccontextmanager
async def started(box: Outbox) -> AsyncIterator[Outbox]:
    """The outbox's worker running, and stopped at the end whatever happens."""
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


async def states(db: Database) -> dict[str, str]:
    async with db.read() as tx:
        rows = await tx.all("SELECT message, state FROM outbox ORDER BY id")
    return {"".join(s["data"]["text"] for s in json.loads(r["message"])): r["state"] for r in rows}


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def queue(box: Outbox, *texts: str, target: tuple[str, str] = ("group", GROUP)) -> None:
    for t in texts:
        await box.send(target[0], target[1], Msg(t))


async def test_messages_go_out_in_order_and_are_marked_sent(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    await queue(box, "一", "二", "三")
    await box.send("private", "20001", Msg("四"))
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 4)
        await box.wait_idle(5)
    assert client.texts == ["一", "二", "三", "四"]
    assert [c[:2] for c in client.calls] == [("group", GROUP)] * 3 + [("private", "20001")]
    assert set((await states(db)).values()) == {"sent"}
    async with db.read() as tx:
        ids = [r[0] for r in await tx.all("SELECT message_id FROM outbox ORDER BY id")]
    assert all(i and int(i) < -(2**31) for i in ids)


async def test_nothing_is_sent_while_detached_then_all_in_order_after_attach(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    async with started(box):
        await queue(box, "甲", "乙", "丙")
        await asyncio.sleep(0.2)
        assert client.calls == []
        assert set((await states(db)).values()) == {"pending"}
        box.attach(client)
        await until(lambda: len(client.calls) == 3)
        await queue(box, "丁")
        await until(lambda: len(client.calls) == 4)
    assert client.texts == ["甲", "乙", "丙", "丁"]


async def test_a_lost_connection_keeps_the_rest_pending_until_reconnect(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()

    def drop_at_second(text: str) -> None:
        if text == "2" and len(client.calls) == 2:
            box.detach()  # the client went away: the adapter answers "API not available"
            raise NotSent()

    client.before = drop_at_second
    box.attach(client)
    async with started(box):
        await queue(box, "1", "2", "3")
        await until(lambda: len(client.calls) == 2)
        await asyncio.sleep(0.1)
        assert client.texts == ["1", "2"]
        assert await states(db) == {"1": "sent", "2": "pending", "3": "pending"}
        box.attach(client)
        await until(lambda: len(client.calls) == 4)
        await box.wait_idle(5)
    assert client.texts == ["1", "2", "2", "3"]
    assert set((await states(db)).values()) == {"sent"}


async def test_the_interval_is_kept_between_messages(db: Database) -> None:
    box = Outbox(db, interval=0.05, jitter=0)
    client = FakeClient()
    await queue(box, "a", "b", "c", "d")
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 4)
    times = [c[3] for c in client.calls]
    gaps = [b - a for a, b in pairwise(times)]
    assert all(g >= 0.045 for g in gaps), gaps


async def test_the_interval_with_jitter_is_slept_before_each_next_message(db: Database) -> None:
    log: list[tuple[str, object]] = []

    async def fake_sleep(seconds: float) -> None:
        log.append(("sleep", seconds))
        await asyncio.sleep(0)

    box = Outbox(db, interval=1.5, jitter=0.3, sleep=fake_sleep)
    client = FakeClient(log)
    await queue(box, "a", "b", "c")
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 3)
    sends = [i for i, e in enumerate(log) if e[0] == "send"]
    assert len(sends) == 3
    for before, after in pairwise(sends):
        waited = sum(float(e[1]) for e in log[before:after] if e[0] == "sleep")  # type: ignore[arg-type]
        assert 1.45 <= waited <= 1.81, log


async def test_a_refused_send_is_failed_and_never_retried(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    client.script["坏"] = [SendFailed("retcode 100")]
    await queue(box, "好1", "坏", "好2")
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 3)
        await box.wait_idle(5)
        await asyncio.sleep(0.1)
    # a restart does not retry it either
    box2 = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    box2.attach(client)
    async with started(box2):
        await asyncio.sleep(0.2)
    assert client.texts == ["好1", "坏", "好2"]
    assert await states(db) == {"好1": "sent", "坏": "failed", "好2": "sent"}
    [problem] = await box.reading.problems()
    assert problem["state"] == "failed" and "retcode 100" in problem["error"]


async def test_a_timed_out_send_is_unknown_and_never_retried(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    client.script["超时"] = [SendUnknown("WebSocket call api timeout")]
    client.script["崩了"] = [RuntimeError("client bug")]
    await queue(box, "超时", "崩了", "之后")
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 3)
        await box.wait_idle(5)
        await asyncio.sleep(0.1)
    assert client.texts == ["超时", "崩了", "之后"]
    assert await states(db) == {"超时": "unknown", "崩了": "unknown", "之后": "sent"}
    assert {p["state"] for p in await box.reading.problems()} == {"unknown"}


async def test_a_row_left_sending_by_a_crash_becomes_unknown_at_start(db: Database) -> None:
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO outbox (target_type, target_id, message, state, created_at) "
            'VALUES (\'group\', ?, \'[{"type": "text", "data": {"text": "发送途中"}}]\', \'sending\', '
            "'2026-11-18T02:00:00')",
            (GROUP,),
        )
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    await queue(box, "待发")
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 1)
        await box.wait_idle(5)
        await asyncio.sleep(0.1)
    assert client.texts == ["待发"]
    assert await states(db) == {"发送途中": "unknown", "待发": "sent"}


async def test_not_sent_stays_pending_and_goes_out_later_in_order(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    client.script["先"] = [NotSent(), NotSent()]
    await queue(box, "先", "后")
    box.attach(client)
    async with started(box):
        await until(lambda: "后" in client.texts)
        await box.wait_idle(5)
    assert client.texts == ["先", "先", "先", "后"]
    assert await states(db) == {"先": "sent", "后": "sent"}


async def test_a_message_queued_in_a_rolled_back_transaction_is_never_sent(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    with pytest.raises(RuntimeError):
        async with db.tx() as tx:
            await box.put(tx, "group", GROUP, Msg("不该发"))
            raise RuntimeError("the change failed")
    client = FakeClient()
    box.attach(client)
    async with started(box):
        await queue(box, "该发")
        await until(lambda: len(client.calls) == 1)
        await asyncio.sleep(0.05)
    assert client.texts == ["该发"]


async def test_sent_hooks_and_message_ids_by_ref(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    hooked: list[tuple[int, str | None, str | None]] = []

    async def hook(row_id: int, ref: str | None, message_id: str | None) -> None:
        hooked.append((row_id, ref, message_id))

    box.on_sent.append(hook)
    await box.send("group", GROUP, Msg("公告"), ref="broadcast:1")
    await box.send("group", GROUP, Msg("其他"))
    box.attach(client)
    async with started(box):
        await until(lambda: len(hooked) == 2)
    ids = await box.reading.message_ids("broadcast:1")
    # the answer someone waits for goes before the announcement queued just before it
    assert len(ids) == 1 and hooked[1] == (1, "broadcast:1", ids[0]) and hooked[0][:2] == (2, None)


async def test_empty_message_or_bad_target_is_refused(db: Database) -> None:
    box = Outbox(db)
    with pytest.raises(ValueError):
        await box.send("group", GROUP, Msg())
    with pytest.raises(ValueError):
        await box.send("channel", GROUP, Msg("x"))
    assert await states(db) == {}


async def test_reminders_held_back_in_quiet_hours_go_out_after_the_window(db: Database) -> None:
    """A reminder queued just before the client went away must not go out at 23:00 when it comes back."""
    from datetime import datetime
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from bot import clock
    from bot.reminders import REF_PREFIX, Reminders

    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    Reminders(db, box, offsets=[], quiet=(dtime(22, 0), dtime(7, 30)))  # wires the outbox's hold
    clock.freeze(datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    try:
        await box.send("group", GROUP, Msg("提醒"), ref=f"{REF_PREFIX}return:1")
        await box.send("group", GROUP, Msg("回复"))
        client = FakeClient()
        box.attach(client)
        async with started(box):
            await until(lambda: "回复" in client.texts)
            await asyncio.sleep(0.2)
            assert client.texts == ["回复"]  # an answer to someone goes; the automatic reminder waits
            clock.freeze(datetime(2026, 11, 24, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
            box.wake()
            await until(lambda: "提醒" in client.texts)
    finally:
        clock.reset()
    assert client.texts == ["回复", "提醒"]


async def test_a_refused_picture_is_replaced_by_its_text_but_a_timeout_is_not(db: Database, tmp_path: Path) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    refused = Msg("图A").add(Msg.picture(png, Msg("x")).segments[0])
    refused.fallback = Msg("图A的文字")
    lost = Msg("图B").add(Msg.picture(png, Msg("x")).segments[0])
    lost.fallback = Msg("图B的文字")
    client.script["图A"] = [SendFailed("retcode 1200 图片发送失败")]
    client.script["图B"] = [SendUnknown("timeout")]
    await box.send("group", GROUP, refused)
    await box.send("group", GROUP, lost)
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 3)
        await box.wait_idle(5)
        await asyncio.sleep(0.1)
    assert client.texts == ["图A", "图A的文字", "图B"]  # a timeout may have been delivered: nothing more is sent
    async with db.read() as tx:
        rows = await tx.all("SELECT state, fallback FROM outbox ORDER BY id")
    assert [r["state"] for r in rows] == ["sent", "unknown"]
    assert json.loads(rows[0]["fallback"]) == [{"type": "text", "data": {"text": "图A的文字"}}]


async def test_a_full_disk_keeps_the_worker_running_tells_and_loses_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up right after 一 went out: its outcome cannot be written, 二 cannot be claimed. The worker
    keeps running, says so, and once there is space 一 is recorded as sent (never left `sending`, never sent
    again) and 二 goes out, once."""
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    told: list[str] = []

    async def tell(what: str) -> None:
        told.append(what)

    box.on_disk_full = tell
    real_tx = db.tx

    @asynccontextmanager
    async def full_at_commit() -> AsyncIterator[object]:  # the statements run, the commit finds no space
        async with real_tx() as tx:
            yield tx
            raise sqlite3.OperationalError("database or disk is full")

    client.before = lambda text: monkeypatch.setattr(db, "tx", full_at_commit) if text == "一" else None
    await queue(box, "一", "二")
    await box.start()
    box.attach(client)
    try:
        await until(lambda: len(told) >= 2)
        assert "待发的消息暂时发不出" in told[0] and "一条不丢" in told[0]
        assert box._task is not None and not box._task.done()
        assert client.texts == ["一"]
        monkeypatch.setattr(db, "tx", real_tx)  # space returns
        await until(lambda: len(client.calls) == 2)
        await box.wait_idle(5)
    finally:
        await box.stop()
    assert client.texts == ["一", "二"]
    assert await states(db) == {"一": "sent", "二": "sent"}


async def test_send_direct_goes_out_now_through_the_chats_account_and_is_not_stored(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    with pytest.raises(NotSent):
        await box.send_direct("private", "900001", Msg("磁盘已满"))
    client = FakeClient()
    box.attach(client, account="10000")
    await box.send_direct("private", "900001", Msg("磁盘已满"))
    assert [c[:3] for c in client.calls] == [("private", "900001", "磁盘已满")]
    assert await states(db) == {}


async def test_a_send_in_flight_when_its_client_goes_away_ends_at_once_as_unknown(db: Database) -> None:
    """The QQ client restarts while a message is on its way: its answer will never come. The send ends as unknown
    (it may have been delivered: never sent again) as soon as the connection is gone, and what is owed goes out
    through the new connection at once, not after ALLIANCE_SEND_TIMEOUT (30 s) of waiting for that answer."""
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    old, new = object(), object()
    reached = asyncio.Event()

    async def never_answers(target_type: str, target_id: str, segments: list[Segment]) -> str | None:
        reached.set()
        await asyncio.sleep(3600)  # the client went away holding the call
        return None

    client = FakeClient()
    await queue(box, "途中", "之后")
    box.attach(never_answers, old)
    async with started(box):
        async with asyncio.timeout(5):
            await reached.wait()
        box.detach(old)
        box.attach(client, new)
        async with asyncio.timeout(5):  # not the 3,600 s the old call would wait
            await until(lambda: client.texts == ["之后"])
            await box.wait_idle(5)
    assert await states(db) == {"途中": "unknown", "之后": "sent"}
    (problem,) = await box.reading.problems()
    assert "断开" in problem["error"]
