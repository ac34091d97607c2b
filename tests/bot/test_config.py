"""Settings: defaults, .env, environment overrides, and bad values named by key."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import ROOT


def test_defaults_are_those_of_the_spec(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "missing.env", environ={})
    assert s.alliance_admins == []
    assert s.alliance_groups == []
    assert s.alliance_data_dir == "data"
    assert s.db_path == Path("data") / "alliance.db"
    assert s.alliance_tz == "Asia/Shanghai"
    assert s.quiet == (time(22, 0), time(7, 30))
    assert s.remind_offsets == [timedelta(days=3), timedelta(days=1), timedelta(hours=2)]
    assert s.alliance_reminder_tick == 30
    assert s.broadcast_deadline == timedelta(hours=24)
    assert s.alliance_send_interval == 1.5
    assert s.alliance_at_batch == 20
    assert s.alliance_private_reminders is False
    assert s.alliance_stale_days == 14
    assert s.alliance_stale_warn_days == 10
    assert s.dashboard_token == ""


def test_env_file_is_read_and_the_environment_overrides_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        'ALLIANCE_ADMINS=["10001","10002"]\n'
        "ALLIANCE_GROUPS=[123456]\n"
        "ALLIANCE_SEND_INTERVAL=2\n"
        "ALLIANCE_TZ=Asia/Urumqi\n"
        'ALLIANCE_QUIET_HOURS=""\n'
        "ALLIANCE_PRIVATE_REMINDERS=true\n"
        'SUPERUSERS=["30003"]\n',
        encoding="utf-8",
    )
    s = load_settings(env_file, environ={})
    assert s.alliance_admins == ["10001", "10002"]
    assert s.admins == frozenset({"10001", "10002", "30003"})
    assert s.groups == frozenset({"123456"})
    assert s.alliance_send_interval == 2
    assert s.alliance_tz == "Asia/Urumqi"
    assert s.quiet is None
    assert s.alliance_private_reminders is True

    s = load_settings(env_file, environ={"ALLIANCE_SEND_INTERVAL": "0", "ALLIANCE_ADMINS": '["42"]', "PATH": "/bin"})
    assert s.alliance_send_interval == 0
    assert s.alliance_admins == ["42"]
    assert s.alliance_tz == "Asia/Urumqi"  # not overridden: from .env


def test_environment_overrides_a_bad_env_file_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ALLIANCE_TZ=Mars/Base\n", encoding="utf-8")
    assert load_settings(env_file, environ={"ALLIANCE_TZ": "Asia/Shanghai"}).alliance_tz == "Asia/Shanghai"
    with pytest.raises(ConfigError, match="ALLIANCE_TZ"):
        load_settings(env_file, environ={})


def test_id_lists_accept_commas_and_numbers() -> None:
    s = load_settings(None, environ={"ALLIANCE_GROUPS": "123, 456", "ALLIANCE_ADMINS": '["1", 2]'})
    assert s.alliance_groups == ["123", "456"]
    assert s.alliance_admins == ["1", "2"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ALLIANCE_QUIET_HOURS", "25:00-07:00"),
        ("ALLIANCE_QUIET_HOURS", "晚上十点"),
        ("ALLIANCE_ADMINS", "notjson["),
        ("ALLIANCE_ADMINS", "[notjson"),
        ("ALLIANCE_ADMINS", '["10001", "张三"]'),
        ("ALLIANCE_GROUPS", "[1, 2"),
        ("ALLIANCE_SEND_INTERVAL", "-1"),
        ("ALLIANCE_SEND_INTERVAL", "abc"),
        ("ALLIANCE_SEND_INTERVAL", "nan"),
        ("ALLIANCE_SEND_INTERVAL", "inf"),
        ("ALLIANCE_REMINDER_TICK", "0"),
        ("ALLIANCE_TZ", "Mars/Base"),
        ("ALLIANCE_REMIND_OFFSETS", '["3d", "tomorrow"]'),
        ("ALLIANCE_REMIND_OFFSETS", "3x"),
        ("ALLIANCE_BROADCAST_DEADLINE", "tomorrow"),
        ("ALLIANCE_AT_BATCH", "0"),
        ("ALLIANCE_PRIVATE_REMINDERS", "maybe"),
        ("ALLIANCE_STALE_DAYS", "-5"),
        ("ALLIANCE_STALE_WARN_DAYS", "20"),  # past the 僵尸号 line (14)
        ("ALLIANCE_PICTURE_LINES", "-1"),
        ("ALLIANCE_PICTURES", "maybe"),
        ("ALLIANCE_MONTHLY_LIST_DAY", "31"),
        ("ALLIANCE_MONTHLY_LIST_DAY", "monday"),
        ("ALLIANCE_MONTHLY_LIST_TIME", "25:00"),
        ("ALLIANCE_MONTHLY_LIST_TIME", ""),
        ("ALLIANCE_FETCH_TIMEOUT", "0"),
        ("ALLIANCE_FETCH_PRIVATE", "sometimes"),
        ("ALLIANCE_ACCOUNTS", '["bot"]'),
        ("ALLIANCE_GROUP_ACCOUNTS", '{"123": "x"}'),
        ("ALLIANCE_GROUP_ACCOUNTS", "[1]"),
        ("ALLIANCE_CONFIRM_EMOJIS", '["thumbs"]'),
        ("ALLIANCE_ACK_EMOJI", "OK"),
        ("ALLIANCE_REACTION_INTERVAL", "-0.1"),
        ("ALLIANCE_ACK_WINDOW", "nan"),
    ],
)
def test_bad_value_raises_config_error_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={key: value})
    assert key in str(info.value)


def test_bad_value_in_env_file_names_the_key(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ALLIANCE_AT_BATCH=twenty\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ALLIANCE_AT_BATCH"):
        load_settings(env_file, environ={})


def _run_bot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DASHBOARD_"))}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_bot_with_a_bad_setting_exits_naming_the_key(tmp_path: Path) -> None:
    result = _run_bot(tmp_path, {"ALLIANCE_QUIET_HOURS": "25:00-07:00"})
    assert result.returncode != 0
    assert "ALLIANCE_QUIET_HOURS" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_python_m_bot_with_a_bad_env_file_exits_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ALLIANCE_SEND_INTERVAL=-1\n", encoding="utf-8")
    result = _run_bot(tmp_path, {})
    assert result.returncode != 0
    assert "ALLIANCE_SEND_INTERVAL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ALLIANCE_REMIND_OFFSETS", '["99999999999d"]'),
        ("ALLIANCE_REMIND_OFFSETS", '["0h"]'),
        ("ALLIANCE_BROADCAST_DEADLINE", "0h"),
        ("ALLIANCE_BROADCAST_DEADLINE", "99999999999999999999d"),
        ("ALLIANCE_STALE_DAYS", "99999999999"),
        ("ALLIANCE_AT_BATCH", "100000"),
        ("ALLIANCE_GROUP_LIST_LIMIT", "0"),
        ("ALLIANCE_REMINDER_TICK", "1e12"),
        ("ALLIANCE_SEND_INTERVAL", "inf"),
        ("ALLIANCE_SEND_TIMEOUT", "99999999"),
    ],
)
def test_an_absurd_value_stops_the_bot_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(None, environ={key: value})


def test_the_bot_names_a_bad_nonebot_key_without_a_traceback(tmp_path: Path) -> None:
    for key, value in (("ALLIANCE_REMIND_OFFSETS", '["99999999999d"]'), ("PORT", "eighty")):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "ONEBOT_", "DASHBOARD_"))}
        env.update({"PYTHONPATH": str(ROOT), key: value, "ALLIANCE_DATA_DIR": str(tmp_path / "data")})
        done = subprocess.run(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2 and key in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_quiet_group_settings_are_read_with_their_defaults() -> None:
    s = load_settings(None, environ={})
    assert s.alliance_accounts == [] and s.alliance_group_accounts == {}
    assert s.alliance_confirm_emojis == ["76", "124", "201", "128077", "128076"] and s.alliance_ack_emoji == "124"
    assert (s.alliance_reaction_interval, s.alliance_ack_window, s.alliance_ack_max_age) == (0.2, 8, 300)
    s = load_settings(
        None,
        environ={
            "ALLIANCE_ACCOUNTS": "2000000001, 2000000002",
            "ALLIANCE_GROUP_ACCOUNTS": '{"123456789": 2000000002}',
            "ALLIANCE_CONFIRM_EMOJIS": "76,128077",
        },
    )
    assert s.alliance_accounts == ["2000000001", "2000000002"]
    assert s.alliance_group_accounts == {"123456789": "2000000002"}
    assert s.alliance_confirm_emojis == ["76", "128077"]
