"""The fair outbox (issue 15): priorities, acknowledgements as reactions or merged, no flood after a stall,
several QQ accounts each with its own sender and budget, and no takeover by another account."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import clock
from bot.db import Database
from bot.outbox.records import ACK, NUDGE, ReactionUnsupported
from bot.outbox.service import Outbox
from bot.render import Msg
from tests.bot.test_outbox import FakeClient, no_sleep, started, until

G1, G2 = "100200300", "100200400"
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class FakeReactor:
    def __init__(self, supported: bool = True) -> None:
        self.supported = supported
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, group_id: str, message_id: str) -> None:
        self.calls.append((group_id, message_id))
        if not self.supported:
            raise ReactionUnsupported("不支持的Api")


async def rows(db: Database) -> list[dict]:
    async with db.read() as tx:
        out = await tx.all("SELECT id, message, state, merged_into, error, account FROM outbox ORDER BY id")
    return [
        {**dict(r), "text": "".join(s["data"].get("text", "") for s in json.loads(r["message"]) if s["type"] == "text")}
        for r in out
    ]


async def ack(box: Outbox, db: Database, user: str, text: str, message_id: str, group: str = G1) -> None:
    async with db.tx() as tx:
        await box.ack(tx, "group", group, Msg().at(user).text(" " + text), react_to=message_id)


async def test_answers_go_first_then_notices_then_acks_then_nudges_and_parts_stay_in_order(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    await box.send("group", G1, Msg("催办"), ref="broadcast:1:nudge")
    async with db.tx() as tx:
        await box.ack(tx, "group", G1, Msg("回执"))
    await box.send("group", G1, Msg("通知"), ref="broadcast:1")
    async with db.tx() as tx:  # a multi-part answer
        for part in ("答1", "答2", "答3"):
            await box.put(tx, "group", G1, Msg(part))
    client = FakeClient()
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 6)
    assert client.texts == ["答1", "答2", "答3", "通知", "回执", "催办"]


async def test_an_acknowledgement_is_a_reaction_where_the_client_supports_it(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0)
    client, reactor = FakeClient(), FakeReactor()
    for i in range(3):
        await ack(box, db, f"2000{i}", f"已记录 {i}", f"-{900 + i}")
    box.attach(client, account="10000", react=reactor)
    async with started(box):
        await until(lambda: len(reactor.calls) == 3)
        await box.wait_idle(5)
    assert client.calls == []  # not one message in the group
    assert reactor.calls == [(G1, "-900"), (G1, "-901"), (G1, "-902")]
    assert {r["state"] for r in await rows(db)} == {"sent"}
    assert box.accounts.reactions == {"10000": True}


async def test_without_reactions_acks_to_one_chat_are_merged_at_most_at_batch_per_message(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0, at_batch=3)
    client, reactor = FakeClient(), FakeReactor(supported=False)
    for i in range(5):
        await ack(box, db, f"2000{i}", f"郑州大学{i} 已记录", f"-{900 + i}")
    box.attach(client, account="10000", react=reactor)
    async with started(box):
        await until(lambda: len(client.calls) == 2)
        await box.wait_idle(5)
    assert len(reactor.calls) == 1  # learned once, remembered for the account
    assert box.accounts.reactions == {"10000": False}
    assert "收到 3 条确认" in client.texts[0] and "收到 2 条确认" in client.texts[1]
    assert all(f"郑州大学{i} 已记录" in "".join(client.texts) for i in range(5))
    states = [r["state"] for r in await rows(db)]
    assert states.count("sent") == 2 and states.count("merged") == 3
    assert await box.reading.problems() == []  # routine merging is no problem to show
    # once learned, a new acknowledgement is queued as a message right away
    async with db.tx() as tx:
        await box.ack(tx, "group", G1, Msg("再来一条"), react_to="-999")
        react_to = await tx.value("SELECT react_to FROM outbox ORDER BY id DESC LIMIT 1")
    assert react_to is None


async def test_acks_are_gathered_over_the_window(db: Database) -> None:
    clock.freeze(T0)
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=8, at_batch=20)
    client = FakeClient()
    box.attach(client)
    async with started(box):
        async with db.tx() as tx:
            await box.ack(tx, "group", G1, Msg("一"))
            await box.ack(tx, "group", G1, Msg("二"))
        await box.send("group", G1, Msg("问答"))  # an answer is not held by the window
        await until(lambda: client.texts == ["问答"])
        clock.freeze(T0 + timedelta(seconds=9))
        box.wake()
        await until(lambda: len(client.calls) == 2)
    assert "一" in client.texts[1] and "二" in client.texts[1]


async def test_after_a_stall_stale_acks_are_dropped_and_nudges_become_the_latest(db: Database) -> None:
    clock.freeze(T0)
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0, ack_max_age=300)
    async with db.tx() as tx:
        await box.ack(tx, "group", G1, Msg("旧回执"))
        await box.put(tx, "group", G1, Msg("自动提醒 3天"), ref="reminder:broadcast:1")
        await box.put(tx, "private", "20001", Msg("审核通过"))  # a decision: never dropped
    clock.freeze(T0 + timedelta(minutes=10))
    async with db.tx() as tx:
        await box.put(tx, "group", G1, Msg("催办 批1"), ref="broadcast:1:nudge")
        await box.put(tx, "group", G1, Msg("催办 批2"), ref="broadcast:1:nudge")
        await box.put(tx, "group", G1, Msg("报送提醒"), ref="reminder:return:2")
        await box.ack(tx, "group", G1, Msg("新回执"))
    client = FakeClient()
    box.attach(client)
    async with started(box):
        await until(lambda: len(client.calls) == 5)
        await box.wait_idle(5)
    assert client.texts == ["审核通过", "新回执", "催办 批1", "催办 批2", "报送提醒"]
    by_text = {r["text"]: r for r in await rows(db)}
    assert by_text["旧回执"]["state"] == "dropped"
    assert by_text["自动提醒 3天"]["state"] == "merged"
    assert by_text["自动提醒 3天"]["merged_into"] == by_text["催办 批1"]["id"]
    shown = {p["state"] for p in await box.reading.problems()}
    assert shown == {"dropped", "merged"}


async def test_each_account_sends_for_its_groups_and_a_group_whose_account_is_away_waits(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, accounts=["10000", "10001"], group_accounts={G2: "10001"})
    await box.accounts.learn_groups("10000", [G1, G2])  # G2 is configured for 10001: the setting wins
    assert box.accounts.group_account == {G1: "10000", G2: "10001"}
    await box.send("group", G1, Msg("给一群"))
    await box.send("group", G2, Msg("给二群"))
    box.accounts.note_private("20001", "10001")
    await box.send("private", "20001", Msg("私聊"))
    first, second = FakeClient(), FakeClient()
    assert box.attach(first, object(), account="10000")
    async with started(box):
        await until(lambda: len(first.calls) == 1)
        await box.wait_idle(5)
        assert first.texts == ["给一群"]  # 二群's account is away: its message waits for it
        assert box.attach(second, object(), account="10001")
        await until(lambda: len(second.calls) == 2)
    assert second.texts == ["给二群", "私聊"] and first.texts == ["给一群"]
    assert {r["account"] for r in await rows(db)} == {"10000", "10001"}


async def test_an_account_that_is_not_configured_cannot_take_over(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, accounts=["10000"])
    real, intruder = FakeClient(), FakeClient()
    assert not box.attach(intruder, object(), account="66666")
    assert box.attach(real, object(), account="10000")
    assert not box.attach(intruder, object(), account="66666")
    await box.send("group", G1, Msg("回复"))
    async with started(box):
        await until(lambda: len(real.calls) == 1)
    assert intruder.calls == []


async def test_with_no_account_configured_a_later_account_cannot_take_over(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    real, intruder = FakeClient(), FakeClient()
    conn = object()
    assert box.attach(real, conn, account="10000")
    box.detach(conn)  # the real client reconnects; meanwhile another account connects
    assert not box.attach(intruder, object(), account="66666")
    assert box.attach(real, object(), account="10000")
    await box.send("group", G1, Msg("回复"))
    async with started(box):
        await until(lambda: len(real.calls) == 1)
    assert intruder.calls == []


async def test_priorities_of_existing_rows_survive_the_upgrade(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open(upto=7)
    async with db.tx() as tx:
        for ref in (None, "broadcast:1", "reminder:return:1", "return:1:催办"):
            await tx.run(
                "INSERT INTO outbox (target_type, target_id, message, ref, created_at) VALUES ('group', ?, '[]', ?, ?)",
                (G1, ref, clock.now_db()),
            )
    await db.close()
    await db.open()
    async with db.read() as tx:
        prios = [r[0] for r in await tx.all("SELECT priority FROM outbox ORDER BY id")]
    await db.close()
    assert prios == [0, 1, NUDGE, NUDGE] and ACK == 2


async def test_answers_waiting_for_different_people_go_out_in_turn(db: Database) -> None:
    """Issue 20: forty answers owed to one person do not keep the admin's one answer waiting behind them."""
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    async with db.tx() as tx:
        for i in range(40):
            await box.put(tx, "group", G1, Msg(f"答陌生人{i}"), account="10000", asker="29999")
        await box.put(tx, "group", G1, Msg("答管理员"), account="10000", asker="900001")
        for part in ("联络员1", "联络员2"):  # one answer in two parts stays in order
            await box.put(tx, "group", G1, Msg(part), account="10000", asker="20001")
        await box.put(tx, "group", G1, Msg("通知"), ref="broadcast:1")  # notices still come after every answer
    client = FakeClient()
    box.attach(client, account="10000")
    async with started(box):
        await until(lambda: len(client.calls) == 44)
    assert client.texts[:5] == ["答陌生人0", "答管理员", "联络员1", "答陌生人1", "联络员2"]
    assert [t for t in client.texts if t.startswith("答陌生人")] == [f"答陌生人{i}" for i in range(40)]
    assert client.texts[-1] == "通知"


async def test_someone_just_answered_waits_behind_someone_not_answered_yet(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    client = FakeClient()
    box.attach(client)
    async with started(box):
        async with db.tx() as tx:
            await box.put(tx, "group", G1, Msg("刷屏1"), asker="29999")
        await until(lambda: client.texts == ["刷屏1"])
        box.detach()  # the client is away while the next ones are queued
        async with db.tx() as tx:
            await box.put(tx, "group", G1, Msg("刷屏2"), asker="29999")
            await box.put(tx, "group", G1, Msg("管理员"), asker="900001")
        box.attach(client)
        await until(lambda: len(client.calls) == 3)
    assert client.texts == ["刷屏1", "管理员", "刷屏2"]


async def test_someone_answered_who_asks_again_does_not_wait_behind_everyone_who_asks_later(db: Database) -> None:
    """The bench's followers scenario: a member asked, was answered, asked again; while the answer waited, others
    kept asking. It used to wait until nobody new was waiting (the slowest answers of the run); now it goes before
    those who asked more than a send slot after it."""
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    now = [1000.0]
    box.turns.now = lambda: now[0]
    client = FakeClient()
    box.attach(client)
    await box.start()
    try:
        async with db.tx() as tx:
            await box.put(tx, "group", G1, Msg("第一次"), asker="20001")
        await until(lambda: client.texts == ["第一次"])
        box.detach()  # answers queue up while the client is away
        now[0] += 1.0
        async with db.tx() as tx:
            await box.put(tx, "group", G1, Msg("第二次"), asker="20001")
        now[0] += 1.0
        async with db.tx() as tx:
            for i in range(5):
                await box.put(tx, "group", G1, Msg(f"后来的{i}"), asker=f"2100{i}")
        box.attach(client)
        await until(lambda: len(client.calls) == 7)
    finally:
        await box.stop()
    assert client.texts == ["第一次", "第二次", *(f"后来的{i}" for i in range(5))]


async def test_a_repeated_command_gets_a_reaction_or_nothing_never_a_message(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0)
    async with db.tx() as tx:
        assert await box.nod(tx, G1, "-901") is not None
    client, reactor = FakeClient(), FakeReactor()
    box.attach(client, account="10000", react=reactor)
    async with started(box):
        await until(lambda: reactor.calls == [(G1, "-901")])
        await box.wait_idle(5)
        # a client without reactions: the repeat gets nothing at all, and nothing shows as a problem
        reactor.supported = False
        async with db.tx() as tx:
            await box.nod(tx, G1, "-902")
            await box.nod(tx, G1, "-903")
            await box.ack(tx, "group", G1, Msg("已记录"), react_to="-904")  # a real acknowledgement still goes
        await until(lambda: client.texts == ["已记录"])
        await box.wait_idle(5)
        async with db.tx() as tx:  # once learned, a repeat is not even queued
            assert await box.nod(tx, G1, "-905") is None
    assert client.texts == ["已记录"]
    assert [r["state"] for r in await rows(db)] == ["sent", "sent"]
    assert await box.reading.problems() == []


async def test_pending_rows_are_found_by_their_index_even_with_statistics_from_when_all_was_sent(db: Database) -> None:
    # 2,000 sent messages, then ANALYZE (as `PRAGMA optimize` or the bench's seeding does): the statistics say every
    # row has the same state, so SQLite would read the whole table for the few pending ones at every claim
    async with db.tx() as tx:
        await tx.many(
            "INSERT INTO outbox (target_type, target_id, message, created_at, state) "
            "VALUES ('group', ?, '[]', ?, 'sent')",
            [(G1, clock.now_db()) for _ in range(2000)],
        )
    async with db.tx() as tx:
        await tx.run("ANALYZE")
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0)
    for i in range(3):
        await ack(box, db, f"2000{i}", f"已记录 {i}", f"-{900 + i}")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    client, reactor = FakeClient(), FakeReactor()
    box.attach(client, account="10000", react=reactor)
    await box.start()
    try:
        await until(lambda: len(reactor.calls) == 3)
        await box.wait_idle(5)
    finally:
        await box.stop()
        db.conn.set_trace_callback(None)
    assert reactor.calls == [(G1, "-900"), (G1, "-901"), (G1, "-902")]
    pending = [s for s in statements if "outbox" in s and "state='pending'" in s]
    assert pending
    async with db.read() as tx:
        for sql in pending:
            plan = " | ".join(r[3] for r in await tx.all("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN outbox" not in plan, (sql, plan)


async def test_a_reaction_in_flight_when_its_client_goes_away_ends_at_once_as_unknown(db: Database) -> None:
    """As a message (tests/bot/test_outbox.py): the answer of a client that went away never comes; the reaction ends
    as unknown at once and the next one goes through the new connection."""
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep, ack_window=0)
    async with db.tx() as tx:
        await box.nod(tx, G1, "-911")
        await box.nod(tx, G1, "-912")
    reached = asyncio.Event()

    async def never_answers(group_id: str, message_id: str) -> None:
        reached.set()
        await asyncio.sleep(3600)

    old, new = object(), object()
    box.attach(FakeClient(), old, account="10000", react=never_answers)
    reactor = FakeReactor()
    async with started(box):
        async with asyncio.timeout(5):
            await reached.wait()
        box.detach(old)
        box.attach(FakeClient(), new, account="10000", react=reactor)
        async with asyncio.timeout(5):
            await until(lambda: reactor.calls == [(G1, "-912")])
            await box.wait_idle(5)
    assert sorted(r["state"] for r in await rows(db)) == ["sent", "unknown"]
