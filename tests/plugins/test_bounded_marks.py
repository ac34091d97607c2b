"""The people told how to register are remembered in a bounded set (issue 23): a long-running bot forgets the
oldest, at worst telling someone twice, instead of keeping every (person, task) since start."""

from __future__ import annotations

import pytest
from nonebug import App as NBApp

from bot.app import App
from bot.recent import RecentSet
from tests.conftest import say
from tests.plugins.test_broadcast_cmds import STRANGER, announce, seed
from tests.plugins.test_quiet_group import napcat_like


async def test_the_people_told_to_register_stay_bounded(app: NBApp, core: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.broadcast import confirm

    assert confirm._told.limit <= 10_000
    monkeypatch.setattr(confirm, "_told", RecentSet(2))  # the same kind of set, small enough to overflow here
    await seed(core)
    (mid,) = await announce(app, core)
    strangers = [STRANGER, STRANGER + 1, STRANGER + 2]
    for qq in strangers:
        out = await say(app, core, napcat_like(qq, mid))
        assert [o["target"] for o in out] == [("private", str(qq))] and "/注册" in out[0]["text"]
    assert len(confirm._told) == 2
    assert await say(app, core, napcat_like(STRANGER + 2, mid, "124")) == []  # still remembered: told once
    out = await say(app, core, napcat_like(STRANGER, mid, "124"))  # forgotten, the oldest: told again
    assert [o["target"] for o in out] == [("private", str(STRANGER))]
    assert len(confirm._told) == 2
