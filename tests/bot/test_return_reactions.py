"""Confirming a 报送 by a reaction (issue 15 item 1, where it makes sense): a return that asks for no files is
confirmed like /已报送 (once per unit, late marked 逾期, nobody unbound counted, caught up after being away); a
return that asks for files is not, and the person is told once, privately, to upload the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import clock
from bot.app import App, set_app
from bot.returns.records import BY_REACTION, BY_SELF, NewReturn
from tests.conftest import make_settings, sent
from tests.fake import ADMIN, GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
DEADLINE = datetime(2026, 11, 25, 18, 0, tzinfo=TZ)
ZZU, ZZU2, HENU, LY, STRANGER = 20001, 20011, 20002, 20003, 29999


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[App]:
    clock.set_tz(TZ)
    clock.freeze(NOW)
    app = App(make_settings(tmp_path, alliance_remind_offsets=["1d"], alliance_quiet_hours=""))
    await app.open()
    set_app(app)
    try:
        for name, cat in (("郑州大学", "本科高校"), ("河南大学", "本科高校"), ("洛阳市教育局", "市教育局")):
            await app.units.add(name, cat, "郑州", actor="t")
        for qq, unit in ((ZZU, "郑州大学"), (ZZU2, "郑州大学"), (HENU, "河南大学"), (LY, "洛阳市教育局")):
            a, _ = await app.units.registrations.apply(qq, f"联络员{qq}", GROUP, unit)
            await app.units.registrations.approve([a.id], actor="t")
        await sent(app)
        yield app
    finally:
        set_app(None)
        await app.db.close()


_next = iter(range(-2_147_483_649, -3_000_000_000, -7919))


async def deliver(app: App) -> list[str]:
    """Send what is queued to a fake client that gives each message its own id; the ids, in order."""
    ids: list[str] = []

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        ids.append(str(next(_next)))
        return ids[-1]

    app.outbox.attach(sender)
    await app.outbox.start()
    await app.outbox.wait_idle(10)
    await app.outbox.stop()
    await sent(app)
    return ids


async def make(app: App, form: str = "", scan: bool = False) -> tuple[int, str]:
    """A return announced in the group: its number and the announcement's message id."""
    made = await app.returns.create(NewReturn("秋季自查", DEADLINE, "", "", form, scan), actor=str(ADMIN))
    (announced,) = await deliver(app)
    return made.ret.id, announced


async def done(app: App, rid: int) -> list[tuple[str, str, bool]]:
    p = await app.returns.progress(rid)
    return [(s.unit.name, s.note, s.late) for s in p.done]


async def test_a_reaction_on_a_return_without_files_confirms_like_the_command(core: App) -> None:
    rid, mid = await make(core)
    s = await core.returns.reactions.confirm_by_reaction(ZZU, mid)
    assert s is not None and s.new and (s.submission.via, s.submission.note) == (BY_SELF, BY_REACTION)
    again = await core.returns.reactions.confirm_by_reaction(ZZU2, mid)  # the same unit counts once
    assert again is not None and not again.new
    assert await sent(core) == []  # never a message, in the group or privately
    assert await done(core, rid) == [("郑州大学", BY_REACTION, False)]


async def test_a_reaction_after_the_deadline_is_kept_and_marked_late(core: App) -> None:
    rid, mid = await make(core)
    clock.freeze(DEADLINE + timedelta(hours=1))
    await core.returns.reactions.confirm_by_reaction(HENU, mid)
    assert await done(core, rid) == [("河南大学", BY_REACTION, True)]


async def test_a_reaction_on_a_nudge_confirms_and_one_on_another_message_does_nothing(core: App) -> None:
    rid, _ = await make(core)
    await core.returns.nudge(rid, actor=str(ADMIN))
    nudges = await deliver(core)
    assert await core.returns.reactions.confirm_by_reaction(LY, "12345") is None
    await core.returns.reactions.confirm_by_reaction(LY, nudges[0])
    assert await done(core, rid) == [("洛阳市教育局", BY_REACTION, False)]


async def test_an_unbound_person_is_told_privately_once_and_an_admin_not_at_all(core: App) -> None:
    rid, mid = await make(core)
    assert await core.returns.reactions.confirm_by_reaction(STRANGER, mid) is None
    (told,) = await sent(core)
    assert told["target"] == ("private", str(STRANGER)) and "/注册" in told["text"]
    assert await core.returns.reactions.confirm_by_reaction(STRANGER, mid) is None
    assert await core.returns.reactions.confirm_by_reaction(ADMIN, mid) is None
    assert await sent(core) == [] and await done(core, rid) == []


async def test_a_return_asking_for_files_is_not_confirmed_by_a_reaction_the_person_is_told_once(core: App) -> None:
    rid, mid = await make(core, form="统计表")
    assert await core.returns.reactions.confirm_by_reaction(ZZU, mid) is None
    (told,) = await sent(core)
    assert told["target"] == ("private", str(ZZU))
    assert "上传" in told["text"] and f"/报送 表格 {rid}" in told["text"] and "不算报送" in told["text"]
    assert await core.returns.reactions.confirm_by_reaction(ZZU, mid) is None  # at most once per person and return
    assert await sent(core) == []
    await core.returns.reactions.confirm_by_reaction(ZZU2, mid)  # another person of the unit gets their own line
    assert [o["target"] for o in await sent(core)] == [("private", str(ZZU2))]
    assert await done(core, rid) == []


async def test_a_reaction_on_a_closed_return_counts_nothing(core: App) -> None:
    rid, mid = await make(core)
    await core.returns.close(rid, actor=str(ADMIN))
    await sent(core)
    assert await core.returns.reactions.confirm_by_reaction(ZZU, mid) is None
    assert await sent(core) == [] and await done(core, rid) == []


async def test_reactions_given_while_away_are_caught_up_before_the_automatic_reminder(core: App) -> None:
    rid, mid = await make(core)
    files_rid, files_mid = await make(core, form="统计表")
    asked: list[tuple[str | None, str, str]] = []

    async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
        asked.append((group_id, message_id, emoji))
        # 河南大学's operator gave a thumbs-up while the bot was away; 29999 is bound to no unit
        return [str(HENU), str(STRANGER)] if emoji == "76" else []

    core.returns.reactions.away.lister = lister

    async def noop(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    core.outbox.attach(noop)
    clock.freeze(DEADLINE - timedelta(days=1) + timedelta(minutes=1))
    assert await core.reminders.tick() == 2
    reminded = {(o["text"][:14], qq) for o in await sent(core) for qq in o["ats"]}
    assert ("【报送提醒】#1《秋季自查》", str(HENU)) not in reminded  # counted before the reminder was built
    assert ("【报送提醒】#2《秋季自查》", str(HENU)) in reminded  # a return asking for files: not by a reaction
    assert await done(core, rid) == [("河南大学", BY_REACTION, False)]
    assert await done(core, files_rid) == []
    assert {m for _, m, _ in asked} == {mid} and (str(GROUP), mid, "76") in asked
    assert files_mid not in {m for _, m, _ in asked}
    core.returns.reactions.away.catch_up_due()
    assert await core.returns.reactions.away.catch_up(rid) == 0  # nobody counted twice


async def test_the_catch_up_asks_by_the_new_id_the_client_gave_a_notice_it_forgot(core: App, tmp_path: Path) -> None:
    # NapNeko/NapCatQQ packages/napcat-common/src/message-unique.ts: the latest 5,000 short ids, in memory only;
    # an older message comes back with a new one, and get_emoji_likes on the first answers 消息不存在.
    rid, mid = await make(core)
    keys = {mid: (str(GROUP), "4711")}

    async def resolve(message_id: str) -> tuple[str, str] | None:
        return keys.get(message_id)

    core.outbox.keys.resolver = resolve
    assert await core.outbox.keys.learn_missing_keys() == 1
    del keys[mid]  # the client forgot the notice's first id and calls it -777 now
    keys["-777"] = (str(GROUP), "4711")
    assert await core.returns.reactions.confirm_by_reaction(ZZU, "-777") is not None  # a live reaction names the new id

    likes = {"-777": [str(ZZU), str(HENU)]}  # 河南大学 reacted while the bot was away; the first id is unknown
    asked: list[str] = []

    async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
        asked.append(message_id)
        return likes.get(message_id, []) if emoji == "76" else []

    # after a restart of the bot (a second App on the same file): the new id was kept
    again = App(make_settings(tmp_path, alliance_remind_offsets=["1d"], alliance_quiet_hours=""))
    await again.open()
    try:
        again.returns.reactions.away.lister = lister
        assert await again.returns.reactions.away.catch_up(rid, force=True) == 1
        assert "-777" in asked and mid in asked
    finally:
        await again.db.close()
    assert await done(core, rid) == [("郑州大学", BY_REACTION, False), ("河南大学", BY_REACTION, False)]
