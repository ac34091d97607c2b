"""/统发 统计: a unit that did nothing is never among the best; a task before its deadline counts against nobody."""

from __future__ import annotations

from datetime import timedelta

from nonebug import App as NBApp

from bot import clock
from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, group_msg
from tests.plugins.test_nudge_texts import HENU, NOW, ZZU, world


async def test_statistics_best_never_lists_zero_and_open_tasks_do_not_count_against_units(
    app: NBApp, core: App
) -> None:
    await world(core)
    await say(app, core, group_msg("/统发 旧任务 https://a.cn/1 截止 明天18点", ADMIN))
    await say(app, core, group_msg("/已转发 1", ZZU))
    clock.freeze(NOW + timedelta(days=2))  # task 1 is past its deadline (still open); task 2 runs until later
    await say(app, core, group_msg("/统发 新任务 https://a.cn/2 截止 3天后", ADMIN))
    await say(app, core, group_msg("/已转发 2", HENU))

    (out,) = await say(app, core, group_msg("/统发 统计", ZZU))
    text = out["text"]
    best = text.split("完成最好：")[1].split("完成最差：")[0]
    assert "（0.0%" not in best
    assert "郑州大学 1/1（100.0%）" in best  # task 2 has not reached its deadline: it does not count against 郑大
    assert "河南大学 1/2（50.0%）" in best
    assert "其中 1 个还没到截止时间" in text
    worst = text.split("完成最差：")[1]
    assert "0/1（0.0%）" in worst and "0/2" not in worst
