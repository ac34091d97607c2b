"""The first run with the default .env (no admins, no groups) says plainly what is missing (issue 13 item 26)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import Settings, setup_warnings
from sim.qqsim import BotProcess


def test_setup_warnings_name_what_is_missing_and_how_to_set_it() -> None:
    both = setup_warnings(Settings())
    assert len(both) == 2
    assert "ALLIANCE_GROUPS=[" in both[0] and "不会回应" in both[0] and "重启" in both[0]
    assert "ALLIANCE_ADMINS=[" in both[1] and "重启" in both[1]
    assert setup_warnings(Settings(alliance_admins=["1"], alliance_groups=["2"])) == []
    assert len(setup_warnings(Settings(superusers=["1"], alliance_groups=["2"]))) == 0


async def test_the_bot_started_with_the_default_settings_warns_at_start(tmp_path: Path) -> None:
    env = {"ALLIANCE_ADMINS": "[]", "ALLIANCE_GROUPS": "[]", "ALLIANCE_DATA_DIR": str(tmp_path / "data")}
    proc = BotProcess(tmp_path, env)  # for its environment; the warnings come before the server starts
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=str(tmp_path),
        env=proc.build_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            assert bot.stdout is not None
            while not any("没有配置管理员" in line for line in seen):
                line = (await bot.stdout.readline()).decode("utf-8", "replace")
                assert line, "".join(seen)
                seen.append(line)
    finally:
        bot.kill()
        await asyncio.wait_for(bot.communicate(), 30)  # reads what is left, so the wait cannot stall on a full pipe
    log = "".join(seen)
    assert "WARNING" in log and "没有配置联盟群" in log and "没有配置管理员" in log
    assert 'ALLIANCE_GROUPS=["123456789"]' in log
