"""Test set-up: NoneBot via nonebug (no lifespan), and a fresh core App on a temp database per test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nonebot
import pytest
from nonebot.adapters.onebot.v11 import Adapter as OneBotV11Adapter
from nonebot.adapters.onebot.v11 import Bot
from nonebug import NONEBOT_INIT_KWARGS, NONEBOT_START_LIFESPAN
from nonebug import App as NBApp

from bot import clock
from bot.app import App, set_app
from bot.config import Settings
from bot.pictures.fonts import find_font
from bot.roster import sample_roster
from tests.fake import ADMIN, GROUP

ROOT = Path(__file__).resolve().parent.parent
# pictures need a CJK font; `make test` installs fonts-noto-cjk where it can (like Chromium for the browser test)
NEEDS_FONT = pytest.mark.skipif(find_font() is None, reason="no CJK font: install fonts-noto-cjk")
ROSTER = sample_roster()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NONEBOT_INIT_KWARGS] = {
        "command_start": {"/", "／"},
        "command_sep": {"."},
        "apscheduler_autostart": False,
        "log_level": "WARNING",
    }
    config.stash[NONEBOT_START_LIFESPAN] = True


@pytest.fixture(scope="session", autouse=True)
async def after_nonebot_init(after_nonebot_init: None) -> None:
    from alliance.main import load_plugins

    nonebot.get_driver().register_adapter(OneBotV11Adapter)
    nonebot.load_plugin("nonebot_plugin_apscheduler")
    load_plugins()
    # nonebug's fake bots are not QQ clients, yet it runs the driver's connect/disconnect hooks for them,
    # late, in the driver's task group: `plugins/system` would attach a fake bot's sender to the outbox
    # (or detach the one a test attached) in the middle of a later test. The hooks are exercised directly
    # (tests/plugins/test_system_hooks.py) and by the end-to-end tests over a real WebSocket.
    driver = nonebot.get_driver()
    for hooks in (driver._bot_connection_hook, driver._bot_disconnection_hook):
        for dependent in list(hooks):
            if getattr(dependent.call, "__module__", "").startswith("plugins."):
                hooks.discard(dependent)


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Every test starts on the real clock and leaves it there, whatever it froze or moved.

    Tests that stop the clock at a fixed day (2026-11-20 09:00 …) used to leave it stopped for the next one:
    a later test reading `clock.now()` then worked on a day weeks before today, and failed only in the orders
    where it ran after them (CI: 僵尸号 "71 天" for units registered 60 days earlier).
    """
    clock.reset()
    yield
    clock.reset()


def stopped_clock(at: datetime) -> Any:
    """An autouse fixture for a test file: each of its tests starts with the clock stopped at `at`, shown in `at`'s
    time zone (`real_clock` puts it back afterwards). Use as `frozen = stopped_clock(NOW)`."""

    @pytest.fixture(autouse=True)
    def frozen() -> None:
        assert isinstance(at.tzinfo, ZoneInfo)
        clock.set_tz(at.tzinfo)
        clock.freeze(at)

    return frozen


def make_settings(tmp_path: Path, **over: object) -> Settings:
    base: dict[str, object] = {
        "alliance_admins": [str(ADMIN)],
        "alliance_groups": [str(GROUP)],
        "alliance_data_dir": str(tmp_path / "data"),
        "alliance_send_interval": 0,
        # pictures and fetching linked pages are tested where they are asked for (tests/*/test_pictures*.py,
        # test_titles*.py); elsewhere answers stay text and no test reaches the network
        "alliance_pictures": False,
        "alliance_fetch_titles": False,
    }
    base.update(over)
    return Settings.model_validate(base)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[App]:
    """A core App on a fresh database; its outbox is not started, so queued messages stay readable."""
    app = App(make_settings(tmp_path))
    await app.open()
    set_app(app)
    try:
        yield app
    finally:
        set_app(None)
        await app.db.close()
        clock.reset()


async def sent(app: App) -> list[dict]:
    """Messages queued in the outbox since the last call, as {target, text, ats}, oldest first."""
    async with app.db.read() as tx:
        rows = await tx.all("SELECT id, target_type, target_id, message, fallback FROM outbox ORDER BY id")
    seen = getattr(app, "_test_seen", 0)
    out = []
    for r in rows:
        if r["id"] <= seen:
            continue
        segs = json.loads(r["message"])
        fallback = json.loads(r["fallback"]) if r["fallback"] else []
        out.append(
            {
                "target": (r["target_type"], r["target_id"]),
                "text": "".join(s["data"]["text"] for s in segs if s["type"] == "text"),
                "ats": [s["data"]["qq"] for s in segs if s["type"] == "at"],
                "segments": segs,
                # a picture's or a folded list's text alternative, and the text of a folded list's nodes
                "fallback": "".join(s["data"]["text"] for s in fallback if s["type"] == "text"),
                "nodes": [
                    "".join(x["data"]["text"] for x in s["data"]["content"] if x["type"] == "text")
                    for s in segs
                    if s["type"] == "node"
                ],
            }
        )
        app._test_seen = r["id"]  # type: ignore[attr-defined]
    return out


async def say(nb: NBApp, app: App, event: object) -> list[dict]:
    """Run one event through NoneBot and return what the bot queued in answer."""
    async with nb.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        await bot.handle_event(event)  # type: ignore[arg-type]
    return await sent(app)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Print the random order's seed first, even under -q and even if the run never ends: a failure seen once
    (in CI too) can be run again in the same order."""
    seed = getattr(session.config.option, "randomly_seed", None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if seed is not None and reporter is not None and not hasattr(session.config, "workerinput"):
        reporter.write_line(f"random order seed: {seed} (the same order again: pytest --randomly-seed={seed})")
