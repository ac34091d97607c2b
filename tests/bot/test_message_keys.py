"""Stable keys of the bot's messages (bot/outbox/keys.py, issue 22 item 2): the client's short ids do not last.

NapNeko/NapCatQQ `packages/napcat-common/src/message-unique.ts` keeps only the latest 5,000 short ids in memory;
`packages/napcat-onebot/action/msg/GetMsg.ts` answers `消息不存在` for a forgotten one and gives the message's
sequence as `real_seq`. The bot stores (group, sequence) when it sends, and finds its message by it later.
"""

from __future__ import annotations

import asyncio

import bot.outbox.keys as keys
from bot.db import Database
from bot.outbox.service import Outbox
from bot.refs import Ref
from bot.render import Msg
from tests.bot.test_outbox import GROUP, FakeClient, no_sleep, until


class Client:
    """The client's side of it: what each short id names, (group, sequence), forgotten on demand."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}
        self.asked: list[str] = []

    async def resolve(self, message_id: str) -> tuple[str, str] | None:
        self.asked.append(message_id)
        return self.keys.get(message_id)


async def sent_announcement(db: Database, client: Client) -> tuple[Outbox, str]:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    fake = FakeClient()
    box.keys.resolver = client.resolve

    async def send(target_type: str, target_id: str, segments: list) -> str | None:
        mid = await fake(target_type, target_id, segments)
        client.keys[str(mid)] = (GROUP, "4711")  # the client knows it while it is fresh
        return mid

    box.attach(send)
    await box.start()
    await box.send("group", GROUP, Msg("【一键统发 #1】"), Ref("broadcast", 1, "announce"))
    await until(lambda: len(fake.calls) == 1)
    await box.wait_idle(5)
    await until(lambda: len(client.asked) == 1)
    await box.stop()
    first = (await box.reading.message_ids(Ref("broadcast", 1, "announce")))[0]
    return box, first


async def test_a_new_id_for_an_old_message_of_the_bot_is_found_by_group_and_sequence(db: Database) -> None:
    client = Client()
    box, first = await sent_announcement(db, client)
    async with db.read() as tx:
        assert await tx.value("SELECT message_seq FROM outbox WHERE message_id=?", (first,)) == "4711"

    # the client forgot the first id and calls the message by a new one
    del client.keys[first]
    client.keys["-777"] = (GROUP, "4711")
    assert await box.keys.original_id("-777") == first
    assert [str(r) for r in await box.reading.refs_of_message("-777")] == [str(Ref("broadcast", 1, "announce"))]


async def test_ids_of_other_messages_are_asked_about_once(db: Database) -> None:
    client = Client()
    box, _ = await sent_announcement(db, client)
    client.keys["-888"] = ("999", "4711")  # same sequence, another group: not the bot's message
    client.keys["-889"] = (GROUP, "5000")  # a member's message in the group
    for _ in range(3):
        assert await box.keys.original_id("-888") is None
        assert await box.keys.original_id("-889") is None
        assert await box.reading.refs_of_message("-889") == []
    assert client.asked.count("-888") == 1 and client.asked.count("-889") == 1
    assert await box.keys.original_id("not a number") is None


async def test_without_a_client_or_with_a_slow_one_nothing_is_remembered(db: Database) -> None:
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    assert await box.keys.original_id("-777") is None  # no client connected: unknown, not remembered as not ours

    async def hangs(message_id: str) -> tuple[str, str] | None:
        await asyncio.sleep(3600)
        return None

    box.keys.resolver = hangs
    keys_timeout, keys.ASK_TIMEOUT = keys.ASK_TIMEOUT, 0.05
    try:
        assert await box.keys.original_id("-777") is None
        client = Client()
        client.keys["-777"] = (GROUP, "1")
        box.keys.resolver = client.resolve
        assert await box.keys.original_id("-777") is None
        assert client.asked == ["-777"]  # the unanswered question was asked again
    finally:
        keys.ASK_TIMEOUT = keys_timeout


async def test_posts_sent_without_a_key_are_asked_about_once_at_a_connect(db: Database) -> None:
    client = Client()
    box, first = await sent_announcement(db, client)
    async with db.tx() as tx:  # as if sent before keys were kept
        await tx.run("UPDATE outbox SET message_seq=NULL")
    await box.send("group", GROUP, Msg("提醒"), Ref("broadcast", 1, "nudge"))
    async with db.tx() as tx:  # one more, sent long ago: the client forgot it (and no client sent it here)
        await tx.run("UPDATE outbox SET state='sent', message_id='-5' WHERE message_id IS NULL")
    asked = len(client.asked)
    assert await box.keys.learn_missing_keys() == 1
    async with db.read() as tx:
        seqs = {r[0]: r[1] for r in await tx.all("SELECT message_id, message_seq FROM outbox")}
    assert seqs == {first: "4711", "-5": ""}
    assert await box.keys.learn_missing_keys() == 0
    assert len(client.asked) == asked + 2  # each asked once, never again
