"""Issue 15 through NoneBot's handlers: acknowledgements queued as reactions, reactions that confirm (NapCat and
Lagrange notices as the clients send them), unbound people told privately, foreign QQ accounts ignored."""

from __future__ import annotations

import time

from nonebot.adapters.onebot.v11 import Adapter
from nonebug import App as NBApp

from bot.app import App
from bot.outbox.records import ACK, ANSWER
from tests.conftest import say, sent
from tests.fake import ADMIN, GROUP, group_msg
from tests.plugins.test_broadcast_cmds import OP1, OP3, OP4, STRANGER, announce, seed


def napcat_like(user: int, message_id: str, emoji: str = "76", *, is_add: bool | None = True, self_id: int = 10000):
    event = {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "notice",
        "notice_type": "group_msg_emoji_like",
        "group_id": GROUP,
        "user_id": user,
        "message_id": int(message_id),
        "likes": [{"emoji_id": emoji, "count": 1}],
    }
    if is_add is not None:
        event["is_add"] = is_add
    return Adapter.json_to_event(event)


def lagrange_reaction(user: int, message_id: str, code: str = "124", sub_type: str = "add"):
    return Adapter.json_to_event(
        {
            "time": int(time.time()),
            "self_id": 10000,
            "post_type": "notice",
            "notice_type": "reaction",
            "sub_type": sub_type,
            "group_id": GROUP,
            "message_id": int(message_id),
            "operator_id": user,
            "code": code,
            "count": 1,
        }
    )


async def outbox_rows(core: App) -> list[dict]:
    async with core.db.read() as tx:
        return [dict(r) for r in await tx.all("SELECT * FROM outbox ORDER BY id")]


async def counted(core: App) -> list[tuple[str, str]]:
    async with core.db.read() as tx:
        rows = await tx.all("SELECT user_id, via FROM broadcast_confirmations WHERE counted=1 ORDER BY id")
    return [(r[0], r[1]) for r in rows]


async def test_a_typed_confirmation_is_an_acknowledgement_on_the_persons_message(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    event = group_msg("/已转发", OP1)
    out = await say(app, core, event)
    assert len(out) == 1 and "已记录：郑州大学" in out[0]["text"]
    row = (await outbox_rows(core))[-1]
    assert (row["priority"], row["react_to"], row["account"]) == (ACK, str(event.message_id), "10000")
    # an error is an answer of its own, at once
    await say(app, core, group_msg("/已转发 99", OP3))
    row = (await outbox_rows(core))[-1]
    assert (row["priority"], row["react_to"]) == (ANSWER, None)


async def test_a_reaction_on_the_announcement_confirms_like_the_command(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    for event in (
        napcat_like(OP1, mid, "76"),  # 赞 (NapCat / LLOneBot)
        napcat_like(OP3, mid, "66"),  # a heart does not confirm
        napcat_like(OP3, mid, "128077", is_add=False),  # taking a reaction back does not
        lagrange_reaction(OP4, mid, "124"),  # OK (Lagrange)
        napcat_like(OP1, str(int(mid) - 1), "76"),  # a message that is no task's
    ):
        assert await say(app, core, event) == []  # never a message in the group
    assert await counted(core) == [(str(OP1), "reaction"), (str(OP4), "reaction")]
    # older NapCat sends no is_add: a reaction is an addition
    assert await say(app, core, napcat_like(OP3, mid, "128076", is_add=None)) == []
    assert (str(OP3), "reaction") in await counted(core)


async def test_an_unbound_person_reacting_is_told_privately_once(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    out = await say(app, core, napcat_like(STRANGER, mid))
    assert len(out) == 1 and out[0]["target"] == ("private", str(STRANGER)) and "/注册" in out[0]["text"]
    assert await say(app, core, napcat_like(STRANGER, mid, "124")) == []
    assert await counted(core) == []


async def test_events_from_an_account_that_may_not_serve_are_ignored(app: NBApp, core: App) -> None:
    await seed(core)

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    assert core.outbox.attach(sender, object(), account="10000")
    assert not core.outbox.attach(sender, object(), account="66666")
    await sent(core)
    foreign = group_msg("/统发 列表", ADMIN).model_copy(update={"self_id": 66666})
    assert await say(app, core, foreign) == []
    (mid,) = await announce(app, core)
    assert await say(app, core, napcat_like(OP1, mid, self_id=66666)) == []
    assert await counted(core) == []
    out = await say(app, core, group_msg("/统发 列表", ADMIN))
    assert out and "#1" in out[0]["text"]


async def test_a_group_with_two_of_the_bots_accounts_in_it_is_answered_once_by_its_own(app: NBApp, core: App) -> None:
    await seed(core)

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    core.outbox.accounts.configured = ["10000", "10001"]  # as ALLIANCE_ACCOUNTS would
    assert core.outbox.attach(sender, object(), account="10000")
    assert core.outbox.attach(sender, object(), account="10001")
    await core.outbox.accounts.learn_groups("10001", [str(GROUP)])
    await sent(core)
    assert await say(app, core, group_msg("/统发 列表", ADMIN)) == []  # the copy 10000 got
    out = await say(app, core, group_msg("/统发 列表", ADMIN).model_copy(update={"self_id": 10001}))
    assert len(out) == 1
    assert (await outbox_rows(core))[-1]["account"] == "10001"
