"""The two bots under test as subprocesses (both through `sim.qqsim.BotProcess`), and their memory use."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sim.qqsim import BotProcess

ECHO_SHIM = "from bench.echo_bot import main\n\nmain()\n"


def bot_env(data_dir: Path, group_id: int, admins: tuple[int, ...], log_level: str) -> dict[str, str]:
    """The real bot's settings for the bench.

    The production send rate limit (ALLIANCE_SEND_INTERVAL, 1.5 s plus jitter) is deliberately off: with it on,
    every scenario would measure the limit, not the bot. Reminders are off too (no offsets), so no nudge is mixed
    into the replies being timed. The flood guard is off as well (ALLIANCE_FLOOD_WINDOW=0): the scenarios replay the
    same commands from the same people many times a minute, each to be answered and timed.
    """
    return {
        "ALLIANCE_ADMINS": json.dumps([str(a) for a in admins]),
        "ALLIANCE_GROUPS": json.dumps([str(group_id)]),
        "ALLIANCE_DATA_DIR": str(data_dir),
        "ALLIANCE_SEND_INTERVAL": "0",
        "ALLIANCE_SEND_JITTER": "0",
        "ALLIANCE_REACTION_INTERVAL": "0",  # reactions (acknowledgements) likewise
        "ALLIANCE_REMIND_OFFSETS": "[]",
        "ALLIANCE_REMINDER_TICK": "3600",
        "ALLIANCE_QUIET_HOURS": "",
        "ALLIANCE_FETCH_TITLES": "false",  # the scenarios' links are made up
        "ALLIANCE_CLIENT_FILE_HOSTS": '["127.0.0.1"]',  # the files scenario's client serves files on this machine
        "ALLIANCE_MONTHLY_LIST": "false",
        "ALLIANCE_FLOOD_WINDOW": "0",
        "LOG_LEVEL": log_level,
    }


def bot_process(workdir: Path, env: dict[str, str]) -> BotProcess:
    """`python -m bot` in `workdir`."""
    return BotProcess(workdir, env)


def echo_process(workdir: Path, log_level: str) -> BotProcess:
    """The bare echo bot, started by the very same BotProcess as the real bot: its work dir holds a two-line
    `bot/__main__.py` that runs `bench/echo_bot.py` (a work dir comes first on the module path of `python -m`)."""
    shim = workdir / "bot"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "__init__.py").write_text("", encoding="utf-8")
    (shim / "__main__.py").write_text(ECHO_SHIM, encoding="utf-8")
    return BotProcess(workdir, {"LOG_LEVEL": log_level})


def memory_mb(pid: int | None) -> dict[str, float | None]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process in MB, from /proc; None where unreadable."""
    out: dict[str, float | None] = {"rss_mb": None, "peak_rss_mb": None}
    if pid is None:
        return out
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            kb = float(value.split()[0])
            out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(kb / 1024, 1)
    return out


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system, every thread) a process has used so far, from /proc; None where unreadable."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15 of stat


def pid_of(proc: BotProcess) -> int | None:
    return proc.proc.pid if proc.proc is not None and proc.running else None
