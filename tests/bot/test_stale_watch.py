"""僵尸号 by the policy's clock: 14 days without a post is 僵尸号, 10 days a warning; one private warning per stretch."""

from __future__ import annotations

from datetime import timedelta

from bot import clock
from bot.followers.records import STALE_KIND
from tests.bot.test_followers import HENU, MONDAY, ZZJY, ZZU, World, at, world  # noqa: F401
from tests.conftest import sent


async def _no_send(target_type: str, target_id: str, segments: list) -> str:
    return "1"


async def test_defaults_are_ten_and_fourteen_days(world: World) -> None:  # noqa: F811
    await world.svc.watch.mark_post(HENU, ["抖音"], "")
    clock.advance(timedelta(days=10))
    s = await world.svc.watch.stale()
    assert (s.days, s.warn) == (14, 10)
    assert {u.name for u, _ in s.warning} == {"河南大学", "郑州大学", "郑州市教育局"}
    assert s.no_post == []
    clock.advance(timedelta(days=4))
    s = await world.svc.watch.stale()
    assert {u.name for u, _ in s.no_post} == {"河南大学", "郑州大学", "郑州市教育局"} and s.warning == []
    henu = next(items for u, items in s.no_post if u.name == "河南大学")[0]
    assert (henu.since, henu.idle) == (MONDAY.date(), 14)


async def test_operators_are_warned_once_per_stretch(world: World) -> None:  # noqa: F811
    app = world.app
    await world.svc.watch.start()
    app.outbox.attach(_no_send)
    await world.svc.watch.mark_post(ZZU, ["微博"], "")
    await world.svc.watch.mark_post(ZZU, ["郑大青年"], "")
    await world.svc.watch.mark_post(ZZU, ["微信公众号", "郑州大学"], "")
    await world.svc.watch.mark_post(HENU, ["抖音"], "")
    await world.svc.watch.mark_post(ZZJY, ["郑州教育"], "")
    await sent(app)
    day = MONDAY.date()
    for n in range(1, 10):  # nine days: nobody past the line
        clock.freeze(at(day + timedelta(days=n), 9))
        await app.reminders.tick()
    assert await sent(app) == []

    await world.svc.watch.mark_post(ZZU, ["微博"], "")  # 郑州大学 posts again on day 9 (its 微博 starts a new stretch)
    clock.freeze(at(day + timedelta(days=10), 9))
    await app.reminders.tick()
    out = await sent(app)
    assert sorted(m["target"] for m in out) == [("private", ZZU), ("private", HENU), ("private", ZZJY)]
    zzu = next(m["text"] for m in out if m["target"] == ("private", ZZU))
    assert "郑大青年" in zzu and "已 10 天没有报告更新" in zzu and "微博" not in zzu and "国办秘函〔2019〕19号" in zzu

    for n in range(11, 16):  # the same stretch: not repeated, also past 14 days
        clock.freeze(at(day + timedelta(days=n), 9))
        await app.reminders.tick()
    assert await sent(app) == []

    clock.freeze(at(day + timedelta(days=19), 9))  # 微博's own stretch (from day 9) passes the line on day 19
    await app.reminders.tick()
    out = await sent(app)
    assert [m["target"] for m in out] == [("private", ZZU)] and "微博" in out[0]["text"]

    async with app.db.read() as tx:
        states = await tx.all("SELECT state FROM reminders WHERE kind=? ORDER BY task_id", (STALE_KIND,))
    assert states[-1]["state"] == "pending" and all(r["state"] != "pending" for r in states[:-1])
