"""One member cannot hold up everyone (issue 20 item 8), end to end through the real bot and a simulated client.

A stranger sending `/帮助` 40 times got 41 group messages and made an admin's `/查询` wait a minute. Now what a
person repeats within a short time is answered once (the repeats get a reaction where the client has them),
each person has a budget of commands per minute (admins have none), and the outbox serves waiting askers in
turn, so nobody's flood delays other people's answers. The order is measured, not the time: the admin's answer
is among the first messages the bot sends to the group after the admin asked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.qqsim import BotProcess, QQClient, Sent
from tests.e2e.bots import ADMIN, connected, import_units, settings, started

pytestmark = pytest.mark.asyncio

G1 = 100200300
A, B = 20001, 20003  # operators of 郑州大学, 河南大学
STRANGER, OTHER = 29999, 29998
TOKEN = "e2e-flood-token"
ROSTER = "名称,类别,地市,别名\n郑州大学,本科高校,郑州,郑大\n河南大学,本科高校,开封,\n"
STRANGER_HELP = "联盟助手 — 你是群成员"  # how /帮助 answers someone bound to no unit (without an @)
BUDGET = 10  # the default ALLIANCE_FLOOD_BUDGET: commands a person may give per ALLIANCE_FLOOD_WINDOW (60 s)


def env(tmp_path: Path) -> dict[str, str]:
    return settings(
        tmp_path,
        groups=(G1,),
        # a real gap between messages, so that a queue builds up as it does in a group (1.5 s by default)
        ALLIANCE_SEND_INTERVAL="0.3",
        ALLIANCE_SEND_JITTER="0",
        ALLIANCE_REACTION_INTERVAL="0",
        ONEBOT_ACCESS_TOKEN=TOKEN,
        LOG_LEVEL="INFO",
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[BotProcess, QQClient]]:
    proc = BotProcess(tmp_path, env(tmp_path))
    await import_units(proc, ROSTER)
    async with started(proc), connected(proc, token=TOKEN, group_members={G1: []}) as client:
        yield proc, client


def to_group(client: QQClient, since: int) -> list[Sent]:
    return [s for s in client.sent[since:] if s.group_id == G1]


async def admin_asks_and_is_answered_next(client: QQClient, within: int = 2) -> Sent:
    """The admin's `/查询 郑州大学`, sent right after a flood, is among the first `within` messages the bot sends
    (to any chat: the QQ account's gap is one for all of them) after it."""
    client.mark()
    before = len(client.sent)
    await client.group_message(G1, ADMIN, "/查询 郑州大学")
    answer = (
        await client.wait_sent(lambda s: s.group_id == G1 and str(ADMIN) in s.ats and "郑州大学" in s.text, timeout=90)
    )[0]
    order = client.sent[before:]
    assert answer in order[:within], [s.text[:30] for s in order[: order.index(answer) + 1]]
    return answer


async def settled(client: QQClient, tmp_path: Path) -> None:
    """Every message the bot owes is out: a last command is answered and the outbox holds no message waiting."""
    await client.ask(G1, ADMIN, "/帮助 查询", timeout=60)
    with sqlite3.connect(tmp_path / "data" / "alliance.db") as db:
        pending = db.execute("SELECT COUNT(*) FROM outbox WHERE state='pending' AND react_to IS NULL").fetchone()[0]
    assert pending == 0


async def test_forty_help_from_a_stranger_are_answered_once_and_the_admin_is_answered_next(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    _, client = bot
    start = len(client.sent)
    # the same command however it is typed: full-width slash, trailing blanks, @ the bot first
    forms = [("/帮助", False), ("／帮助", False), ("/帮助  ", False), ("/帮助", True)]
    ids = [await client.group_message(G1, STRANGER, forms[i % 4][0], at_bot=forms[i % 4][1]) for i in range(40)]
    await admin_asks_and_is_answered_next(client)
    await settled(client, tmp_path)

    helps = [s for s in to_group(client, start) if s.text.startswith(STRANGER_HELP)]
    assert len(helps) == 1  # one answer for forty asks
    assert [s for s in to_group(client, start) if str(STRANGER) in s.ats] == []  # and no note: they only repeated
    # the repeats the budget let through were seen: a reaction on them, no message
    reacted = [mid for mid, _, _ in client.bot_reactions]
    assert 1 <= len(reacted) <= BUDGET - 1 and set(reacted) <= set(ids[1:])


async def test_forty_different_commands_from_one_person_cost_one_budget_and_hold_nobody_up(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    _, client = bot
    start = len(client.sent)
    for i in range(40):
        await client.group_message(G1, STRANGER, f"/查询 第{i}号单位")
    await admin_asks_and_is_answered_next(client)
    client._mark = start
    await client.wait_sent(lambda s: str(STRANGER) in s.ats, count=BUDGET + 1, timeout=90)
    await settled(client, tmp_path)

    to_stranger = [s for s in to_group(client, start) if str(STRANGER) in s.ats]
    notes = [s for s in to_stranger if "太多命令" in s.text]
    assert len(notes) == 1 and "1 分钟" in notes[0].text  # said once, with what to do
    assert len(to_stranger) == BUDGET + 1  # the budget's answers, and the one note


async def test_two_flooders_at_once_hold_up_neither_the_admin_nor_each_other(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    _, client = bot
    client.reactions_supported = False  # and a client without reactions: a repeat then gets nothing at all
    start = len(client.sent)
    for i in range(40):
        await client.group_message(G1, STRANGER, f"/查询 第{i}号单位")
        await client.group_message(G1, OTHER, "/帮助")
    # the admin waits at most for one answer to each of the two others (one of them maybe already on its way)
    await admin_asks_and_is_answered_next(client, within=3)
    client._mark = start
    await client.wait_sent(lambda s: str(STRANGER) in s.ats, count=BUDGET + 1, timeout=90)
    await settled(client, tmp_path)

    group = to_group(client, start)
    assert len([s for s in group if s.text.startswith(STRANGER_HELP)]) == 1
    assert len([s for s in group if str(STRANGER) in s.ats]) == BUDGET + 1
    # in turn: the one who asked once is not kept behind the other's ten answers
    first_other = next(i for i, s in enumerate(group) if s.text.startswith(STRANGER_HELP))
    assert first_other <= 2, [s.text[:20] for s in group[: first_other + 1]]
    assert client.bot_reactions == [] and len(group) == 1 + BUDGET + 1 + 2  # + the admin's two answers


async def test_repeats_in_private_are_answered_once_and_an_admin_flood_delays_no_one(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    _, client = bot
    for qq, unit in ((A, "郑大"), (B, "河南大学")):
        client.mark()
        await client.group_message(G1, qq, f"/注册 {unit}")
        await client.wait_sent(lambda s: "已记录" in s.text, timeout=30)
    client.mark()
    await client.group_message(G1, ADMIN, "/审核 通过 1 2")
    await client.wait_sent(lambda s: "已通过" in s.text, timeout=30)

    # an operator repeats /帮助 privately: one answer
    start = len(client.sent)
    for _ in range(40):
        await client.private_message(A, "/帮助")
    await admin_asks_and_is_answered_next(client)

    # an admin gives 40 different commands: all are done (no budget), and an operator's question is not held up
    for i in range(40):
        await client.group_message(G1, ADMIN, f"/查询 第{i}号单位")
    client.mark()
    before = len(client.sent)
    await client.group_message(G1, B, "/查询 河南大学")
    answer = (await client.wait_sent(lambda s: str(B) in s.ats and "河南大学" in s.text, timeout=90))[0]
    assert answer in client.sent[before:][:2]
    client._mark = start
    await client.wait_sent(lambda s: str(ADMIN) in s.ats and "号单位" in s.text, count=40, timeout=120)
    await settled(client, tmp_path)

    assert len([s for s in client.sent[start:] if s.user_id == A]) == 1
    to_admin = [s for s in to_group(client, start) if str(ADMIN) in s.ats and "第" in s.text and "号单位" in s.text]
    assert len(to_admin) == 40
