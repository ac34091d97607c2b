"""僵尸号 up the tree (issue 24.3): the operator is warned at 10 days, the unit's city admin at 12, once per account
and stretch, on working days."""

from __future__ import annotations

from datetime import timedelta

from nonebug import App as NBApp

from bot import clock
from bot.rollup import count_by_area
from bot.workdays import is_working_day
from tests.bot.test_followers import MONDAY, ZZJY, ZZU, World, at, world  # noqa: F401
from tests.conftest import say, sent
from tests.fake import ADMIN, private_msg

CITY = "30001"


async def _no_send(target_type: str, target_id: str, segments: list) -> str:
    return "1"


async def test_the_city_admin_is_told_at_twelve_days_once(world: World) -> None:  # noqa: F811
    app = world.app
    await app.roles.appoint(str(ADMIN), CITY, "郑州市教育局")
    await world.svc.watch.start()
    await app.stale_up.start()
    app.outbox.attach(_no_send)
    await world.svc.watch.mark_post(ZZU, ["微博"], "")
    await sent(app)
    day = MONDAY.date()
    told: dict[int, list[str]] = {}
    operators: dict[int, list[str]] = {}
    for n in range(1, 26):
        clock.freeze(at(day + timedelta(days=n), 9))
        await app.reminders.tick()
        for m in await sent(app):
            if m["target"] == ("private", CITY):
                told.setdefault(n, []).append(m["text"])
            elif m["target"] == ("private", ZZJY):
                operators.setdefault(n, []).append(m["text"])
    assert list(operators) == [10]  # the operator of 郑州市教育局, at 10 days (exists)
    first = min(n for n in range(12, 26) if is_working_day(day + timedelta(days=n)))  # 12 days, on a working day
    assert list(told) == [first] and len(told[first]) == 1, told  # once for the stretch, whatever comes after
    text = told[first][0]
    assert text.startswith("【僵尸号预警】你管理的单位有 1 个账号已 12 天以上没有报告更新")
    assert f"郑州市教育局·微信公众号“郑州教育”：{first} 天" in text
    assert "郑州大学" not in text and "河南大学" not in text  # not in 郑州市教育局's subtree


async def test_no_city_admin_no_warning_and_none_claimed(world: World) -> None:  # noqa: F811
    app = world.app
    await app.stale_up.start()
    app.outbox.attach(_no_send)
    await sent(app)
    clock.freeze(at(MONDAY.date() + timedelta(days=15), 9))  # a Tuesday
    await app.reminders.tick()
    assert not [m for m in await sent(app) if "僵尸号预警" in m["text"]]
    await app.roles.appoint(str(ADMIN), CITY, "郑州市教育局")  # appointed later: told of the stretch
    clock.freeze(at(MONDAY.date() + timedelta(days=16), 9))
    await app.reminders.tick()
    assert [m["target"] for m in await sent(app) if "僵尸号预警" in m["text"]] == [("private", CITY)]


async def test_the_province_sees_a_count_per_city(app: NBApp, world: World) -> None:  # noqa: F811
    clock.freeze(MONDAY + timedelta(days=15))
    s = await world.svc.watch.stale()
    assert await count_by_area(world.app.units, s.no_post) == "按城市：郑州市 1 个；省直属：本科高校 4 个"
    (out,) = await say(app, world.app, private_msg("/僵尸号", ADMIN))
    assert "僵尸号账号分布：按城市：郑州市 1 个；省直属：本科高校 4 个" in out["text"]
    report = await world.app.monthly.build(world.app.monthly.period_of("2026-03"))  # as the month ended
    assert "僵尸号账号分布：按城市：郑州市 1 个；省直属：本科高校 4 个" in report.summary.plain()
