"""Every ALLIANCE_* setting in one pydantic model, read from .env and the environment."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from bot.followers.targets import parse_cities, parse_reminder_time, parse_targets
from bot.setting_values import LIMITS, parse_duration, parse_month_day, parse_positive_duration, parse_quiet_hours
from bot.workdays import parse_days

DASHBOARD_TOKEN_MIN = 16
# ALLIANCE_FILE_SEND: auto (the path; base64 once the client says it cannot see it), path, base64
FILE_SEND_MODES = ("auto", "path", "base64")
# the largest file sent as base64:// (MB): the whole file travels inside one WebSocket message
FILE_BASE64_MAX_MB = 30


class ConfigError(Exception):
    """A setting has a bad value; the message names the key."""


class Settings(BaseModel):
    """The bot's settings; field names are the lower-case keys of .env (each documented in .env.example)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    alliance_admins: list[str] = []
    superusers: list[str] = []
    alliance_groups: list[str] = []
    alliance_data_dir: str = "data"
    alliance_tz: str = "Asia/Shanghai"
    alliance_quiet_hours: str = "22:00-07:30"
    alliance_remind_offsets: list[str] = ["3d", "1d", "2h"]
    alliance_reminder_tick: float = 30
    alliance_broadcast_deadline: str = "24h"
    alliance_send_interval: float = 1.5
    alliance_send_jitter: float = 0.3
    alliance_send_timeout: float = 30
    alliance_at_batch: int = 20
    alliance_private_reminders: bool = False
    alliance_stale_days: int = 14
    alliance_stale_warn_days: int = 10
    alliance_group_list_limit: int = 30
    alliance_follower_targets: dict[str, Any] = {}
    alliance_populous_cities: list[str] = ["郑州", "南阳", "周口", "商丘"]
    alliance_follower_reminder: str = "09:00"
    alliance_pictures: bool = True
    alliance_picture_lines: int = 12
    alliance_picture_rows: int = 30
    alliance_font: str = ""
    alliance_monthly_list: bool = True
    alliance_monthly_list_day: str = "first_working_day"
    alliance_monthly_list_time: str = "10:00"
    # days the office adds to the holiday calendar (bot/workdays.py): the next year's schedule before the library
    # knows it, or a local day off; dates `2027-02-06` or ranges `2027-02-06~2027-02-12`
    alliance_extra_holidays: list[str] = []
    alliance_extra_workdays: list[str] = []
    alliance_fetch_titles: bool = True
    alliance_fetch_timeout: float = 5
    alliance_fetch_max_bytes: int = 1_000_000
    alliance_fetch_private: bool = False
    alliance_file_max_mb: float = 10
    alliance_file_timeout: float = 30
    # issue 20: where a local path the QQ client gives may be read from; which private addresses its URLs may use
    alliance_client_file_dirs: list[str] = []
    alliance_client_file_hosts: list[str] = []
    dashboard_token: str = ""
    dashboard_trusted_proxies: list[str] = []
    # issue 15: acknowledgements, reactions, several QQ accounts
    alliance_accounts: list[str] = []
    alliance_group_accounts: dict[str, str] = {}
    alliance_reaction_interval: float = 0.2
    alliance_ack_window: float = 8
    alliance_ack_max_age: float = 300
    alliance_confirm_emojis: list[str] = ["76", "124", "201", "128077", "128076"]
    alliance_ack_emoji: str = "124"
    # issue 22.3: how a file reaches the QQ client (auto: its path, then base64 once the client cannot see it)
    alliance_file_send: str = "auto"
    # issue 20: one member cannot hold up everyone (bot/flood.py)
    alliance_flood_window: float = 60
    alliance_flood_budget: int = 10
    # issue 25.5: the log file beside the console ("" = <data dir>/logs/bot.log, "off" = none), rotated, N kept
    alliance_log_file: str = ""
    alliance_log_rotation: str = "00:00"
    alliance_log_keep: int = 14

    @field_validator("alliance_log_rotation")
    @classmethod
    def _log_rotation(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d|\d+(\.\d+)? ?(KB|MB|GB)", v, re.IGNORECASE):
            raise ValueError("应为每天轮换的时刻（如 00:00）或文件大小（如 50 MB）")
        return v

    @property
    def log_path(self) -> Path | None:
        if self.alliance_log_file.strip().lower() == "off":
            return None
        return (
            Path(self.alliance_log_file.strip())
            if self.alliance_log_file.strip()
            else self.data_dir / "logs" / "bot.log"
        )

    # issue 25.1/25.4: the daily backup (then pruning) at this time; how long things are kept (0: for ever)
    alliance_backup: bool = True
    alliance_backup_time: str = "03:30"
    alliance_backup_keep: int = 14
    alliance_backup_dir: str = ""
    alliance_keep_return_files_days: int = 730
    alliance_keep_audit_days: int = 1825
    alliance_pictures_max_mb: float = 200

    @field_validator("alliance_backup_time")
    @classmethod
    def _backup_time(cls, v: str) -> str:
        try:
            if parse_reminder_time(v) is not None:
                return v.strip()
        except ValueError:
            pass
        raise ValueError("应写成 HH:MM，如 03:30（关闭自动备份请设 ALLIANCE_BACKUP=false）")

    @field_validator("alliance_backup_keep", "alliance_keep_return_files_days", "alliance_keep_audit_days")
    @classmethod
    def _kept(cls, v: int, info: ValidationInfo) -> int:
        least = 1 if info.field_name == "alliance_backup_keep" else 0
        if not least <= v <= 36500:
            raise ValueError(f"应为 {least} 到 36500 之间的整数" + ("（0 表示永久保留）" if not least else ""))
        return v

    @field_validator("alliance_pictures_max_mb")
    @classmethod
    def _pictures_cap(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0:
            raise ValueError("应为不小于 0 的兆字节数（0 表示不限）")
        return v

    @field_validator("alliance_admins", "superusers", "alliance_groups", "alliance_accounts", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> list[str]:
        if isinstance(v, (int, str)) and not isinstance(v, bool):
            v = [v] if str(v).strip() else []
        if not isinstance(v, (list, tuple, set)):
            raise ValueError('应为 QQ 号列表，如 ["10001","10002"]')
        out = []
        for x in v:
            s = str(x).strip()
            if not (s.isascii() and s.isdigit()):
                raise ValueError(f'应为 QQ 号列表，如 ["10001","10002"]；{s!r} 不是 QQ 号')
            out.append(s)
        return out

    @field_validator("alliance_tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"未知时区 {v!r}，如 Asia/Shanghai") from e
        return v

    @field_validator("alliance_quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("alliance_remind_offsets", mode="before")
    @classmethod
    def _offsets(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v] if v.strip() else []
        if not isinstance(v, (list, tuple)):
            raise ValueError('应为列表，如 ["3d","1d","2h"]')
        for x in v:
            parse_positive_duration(str(x))
        return [str(x).strip() for x in v]

    @field_validator("alliance_file_send")
    @classmethod
    def _file_send(cls, v: str) -> str:
        if str(v).strip().lower() not in FILE_SEND_MODES:
            raise ValueError(f"应为 {'、'.join(FILE_SEND_MODES)} 之一，而不是 {v!r}")
        return str(v).strip().lower()

    @field_validator("alliance_broadcast_deadline")
    @classmethod
    def _deadline(cls, v: str) -> str:
        parse_positive_duration(v)
        return v

    @field_validator(
        "alliance_reminder_tick",
        "alliance_send_timeout",
        "alliance_fetch_timeout",
        "alliance_file_max_mb",
        "alliance_file_timeout",
    )
    @classmethod
    def _positive(cls, v: float, info: ValidationInfo) -> float:
        most = LIMITS[info.field_name or ""]
        if not math.isfinite(v) or v <= 0 or v > most:
            raise ValueError(f"应为大于 0、不超过 {most:g} 的秒数")
        return v

    @field_validator("alliance_group_accounts", mode="before")
    @classmethod
    def _group_accounts(cls, v: Any) -> dict[str, str]:
        if isinstance(v, str):
            try:
                v = json.loads(v) if v.strip() else {}
            except json.JSONDecodeError as e:
                raise ValueError('应为 JSON 对象，如 {"123456789":"10000"}（群号: 机器人 QQ 号）') from e
        if not isinstance(v, dict):
            raise ValueError('应为 JSON 对象，如 {"123456789":"10000"}（群号: 机器人 QQ 号）')
        out = {}
        for g, a in v.items():
            g, a = str(g).strip(), str(a).strip()
            if not (g.isascii() and g.isdigit() and a.isascii() and a.isdigit()):
                raise ValueError(f'群号和 QQ 号都应是数字，如 {{"123456789":"10000"}}；{g!r}: {a!r} 不对')
            out[g] = a
        return out

    @field_validator("alliance_confirm_emojis", mode="before")
    @classmethod
    def _emojis(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [x for x in re.split(r"[,\s]+", v) if x]
        if not isinstance(v, (list, tuple)) or not all(str(x).strip().isdigit() for x in v):
            raise ValueError('应为表情编号列表，如 ["76","124","128077"]（QQ 表情编号或 unicode 码点）')
        return [str(x).strip() for x in v]

    @field_validator("alliance_ack_emoji")
    @classmethod
    def _emoji(cls, v: str) -> str:
        if not str(v).strip().isdigit():
            raise ValueError("应为一个表情编号，如 124（QQ 表情“OK”）或 128077（👍）")
        return str(v).strip()

    @field_validator("alliance_reaction_interval", "alliance_ack_window", "alliance_ack_max_age")
    @classmethod
    def _seconds(cls, v: float) -> float:
        if not math.isfinite(v) or v < 0:
            raise ValueError("应为不小于 0 的秒数")
        return v

    @field_validator("alliance_send_interval", "alliance_send_jitter")
    @classmethod
    def _non_negative(cls, v: float, info: ValidationInfo) -> float:
        most = LIMITS[info.field_name or ""]
        if not math.isfinite(v) or v < 0 or v > most:
            raise ValueError(f"应为 0 到 {most:g} 之间的秒数")
        return v

    @field_validator(
        "alliance_at_batch",
        "alliance_stale_days",
        "alliance_stale_warn_days",
        "alliance_group_list_limit",
        "alliance_picture_rows",
        "alliance_fetch_max_bytes",
        "alliance_log_keep",
    )
    @classmethod
    def _positive_int(cls, v: int, info: ValidationInfo) -> int:
        most = LIMITS[info.field_name or ""]
        if v < 1 or v > most:
            raise ValueError(f"应为 1 到 {most:g} 之间的整数")
        return v

    @field_validator("alliance_flood_window", "alliance_flood_budget")
    @classmethod
    def _flood(cls, v: float, info: ValidationInfo) -> float:
        most = LIMITS[info.field_name or ""]
        if not math.isfinite(v) or v < 0 or v > most:
            raise ValueError(f"应为 0 到 {most:g} 之间的数（0 表示不限）")
        return v

    @field_validator("alliance_follower_targets", mode="before")
    @classmethod
    def _follower_targets(cls, v: Any) -> dict[str, Any]:
        parse_targets(v)
        return json.loads(v) if isinstance(v, str) and v.strip() else (v or {})

    @field_validator("alliance_populous_cities", mode="before")
    @classmethod
    def _populous_cities(cls, v: Any) -> list[str]:
        return parse_cities(v)

    @field_validator("alliance_follower_reminder")
    @classmethod
    def _follower_reminder(cls, v: str) -> str:
        parse_reminder_time(v)
        return v.strip()

    @field_validator("dashboard_token")
    @classmethod
    def _dashboard_token(cls, v: str) -> str:
        if v and (len(v.strip()) < DASHBOARD_TOKEN_MIN or v != v.strip()):
            raise ValueError(
                f"登录令牌至少 {DASHBOARD_TOKEN_MIN} 个字符、首尾不带空格，"
                '如 python -c "import secrets; print(secrets.token_hex(16))" 的输出；留空则关闭后台'
            )
        return v

    @field_validator("dashboard_trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        if not isinstance(v, (list, tuple)):
            raise ValueError('应为反向代理的 IP 列表，如 ["127.0.0.1"]')
        out = []
        for x in v:
            try:
                out.append(str(ipaddress.ip_address(str(x).strip())))
            except ValueError:
                raise ValueError(f'应为反向代理的 IP 列表，如 ["127.0.0.1"]；{x!r} 不是 IP 地址') from None
        return out

    @field_validator("alliance_client_file_dirs", mode="before")
    @classmethod
    def _client_dirs(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v] if v.strip() else []
        if not isinstance(v, (list, tuple)):
            raise ValueError('应为文件夹列表，如 ["/home/qq/.config/QQ"]；留空表示不读 QQ 客户端给出的本机路径')
        out = []
        for x in v:
            p = Path(str(x).strip()).expanduser()
            if not p.is_absolute():
                raise ValueError(f"{x!r} 应写成完整路径（以 / 开头），如 /home/qq/.config/QQ")
            if p == Path(p.anchor):
                raise ValueError(f"{x!r} 是整个磁盘，太宽了：请写 QQ 客户端存放收到的文件的文件夹")
            out.append(str(p))
        return out

    @field_validator("alliance_client_file_hosts", mode="before")
    @classmethod
    def _client_hosts(cls, v: Any) -> list[str]:
        from bot.netguard import parse_hosts

        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        if not isinstance(v, (list, tuple)):
            raise ValueError('应为地址列表，如 ["127.0.0.1:3000"]；留空表示只从公网地址下载')
        parse_hosts(str(x) for x in v)
        return [str(x).strip() for x in v]

    @field_validator("alliance_picture_lines")
    @classmethod
    def _non_negative_int(cls, v: int) -> int:
        if v < 0:
            raise ValueError("应为不小于 0 的整数（0 表示总是发文字）")
        return v

    @field_validator("alliance_monthly_list_day")
    @classmethod
    def _monthly_day(cls, v: str) -> str:
        parse_month_day(v)
        return v.strip()

    @field_validator("alliance_extra_holidays", "alliance_extra_workdays", mode="before")
    @classmethod
    def _extra_days(cls, v: Any) -> list[str]:
        return [d.isoformat() for d in parse_days(v)]

    @field_validator("alliance_monthly_list_time")
    @classmethod
    def _monthly_time(cls, v: str) -> str:
        from bot.followers.targets import parse_reminder_time

        if parse_reminder_time(v) is None:
            raise ValueError("应写成 HH:MM，如 10:00（关闭月度榜单请设 ALLIANCE_MONTHLY_LIST=false）")
        return v.strip()

    @field_validator("alliance_stale_warn_days")
    @classmethod
    def _warn_before_stale(cls, v: int, info: Any) -> int:
        stale = info.data.get("alliance_stale_days")
        if stale is not None and v > stale:
            raise ValueError(f"预警天数应不大于僵尸号天数 ALLIANCE_STALE_DAYS（{stale}）")
        return v

    # derived values
    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.alliance_tz)

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(self.alliance_admins) | frozenset(self.superusers)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self.alliance_groups)

    @property
    def data_dir(self) -> Path:
        return Path(self.alliance_data_dir)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "alliance.db"

    @property
    def backup_dir(self) -> Path:
        return Path(self.alliance_backup_dir) if self.alliance_backup_dir.strip() else self.data_dir / "backups"

    @property
    def quiet(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.alliance_quiet_hours)

    @property
    def remind_offsets(self) -> list[timedelta]:
        return [parse_duration(x) for x in self.alliance_remind_offsets]

    @property
    def extra_holidays(self) -> list[date]:
        return [date.fromisoformat(d) for d in self.alliance_extra_holidays]

    @property
    def extra_workdays(self) -> list[date]:
        return [date.fromisoformat(d) for d in self.alliance_extra_workdays]

    @property
    def broadcast_deadline(self) -> timedelta:
        return parse_duration(self.alliance_broadcast_deadline)


_JSON_FIELDS = {
    "alliance_admins",
    "superusers",
    "alliance_groups",
    "alliance_remind_offsets",
    "dashboard_trusted_proxies",
    "alliance_accounts",
    "alliance_client_file_dirs",
    "alliance_client_file_hosts",
}


def setup_warnings(settings: Settings) -> list[str]:
    """What is missing for the bot to answer anyone, said plainly with how to set it (empty when nothing is)."""
    out = []
    if not settings.groups:
        out.append(
            '没有配置联盟群：机器人不会回应任何群消息。请在 .env 里写上群号，如 ALLIANCE_GROUPS=["123456789"]，然后重启。'
        )
    if not settings.admins:
        out.append(
            "没有配置管理员：没有人能审核注册、发布统发和报送，私聊也没人能用。"
            '请在 .env 里写上新闻办的 QQ 号，如 ALLIANCE_ADMINS=["10001","10002"]，然后重启。'
        )
    return out


def dashboard_url(host: str, port: int | str) -> str:
    """The dashboard's address as a browser on this machine opens it (0.0.0.0 listens everywhere, 127.0.0.1 answers)."""
    shown = "127.0.0.1" if str(host) in ("0.0.0.0", "::", "") else str(host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/dashboard"


def load_settings(env_file: str | Path | None = ".env", environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the .env file, overridden by environment variables of the same name.

    Raises:
        ConfigError: a value is malformed; the message names the key and says what is expected.
    """
    raw: dict[str, Any] = {}
    if env_file and Path(env_file).is_file():
        raw.update({k.lower(): v for k, v in dotenv_values(env_file).items() if v is not None})
    env = os.environ if environ is None else environ
    names = set(Settings.model_fields)
    raw.update({k.lower(): v for k, v in env.items() if k.lower() in names})
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            continue
        if key in _JSON_FIELDS and isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as e:
                    raise ConfigError(f"配置项 {key.upper()} 不是合法的 JSON 列表: {value!r}（{e.msg}）") from e
            elif key in ("alliance_admins", "superusers", "alliance_groups", "alliance_accounts") and "," in text:
                value = [x for x in (p.strip() for p in text.split(",")) if x]
        data[key] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"配置项 {key} 的值有误: {msg}（当前值: {data.get(key.lower())!r}）") from e
