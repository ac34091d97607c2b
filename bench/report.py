"""The results: a table for the terminal, the targets of the issue, and a JSON file to compare runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

HEADER = (
    "scenario",
    "bot ev/s",
    "echo ev/s",
    "ratio",
    "bot p50/p99 ms",
    "echo p50/p99 ms",
    "p99 ratio",
    "bot RSS MB",
    "CPU ms/req bot/echo",
)
BURST_RATIO = 0.9  # confirmation burst: at least this share of the bare bot's throughput
QUERY_P99_RATIO = 2.0  # query commands: p99 at most this multiple of the bare bot's
RSS_LIMIT_MB = 200.0  # peak RSS with the full dataset


def _num(x: Any, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ratio(a: Any, b: Any) -> float | None:
    return None if a is None or b in (None, 0) else a / b


def add_ratios(results: dict[str, dict[str, Any]]) -> None:
    """Put `ratio` (throughput, bot / echo) and `p99_ratio` (bot / echo) into each finished scenario."""
    for name, r in results.items():
        bot, echo = r.get("bot"), r.get("echo")
        if not bot or not echo:
            continue
        if name == "startup":
            r["ready_ratio"] = _ratio(bot.get("ready_ms"), echo.get("ready_ms"))
            continue
        r["ratio"] = _ratio(bot.get("events_per_s"), echo.get("events_per_s"))
        r["p99_ratio"] = _ratio(bot.get("p99_ms"), echo.get("p99_ms"))


def _row(name: str, r: dict[str, Any]) -> tuple[str, ...]:
    bot, echo = r.get("bot") or {}, r.get("echo") or {}
    if name == "startup":
        return (
            name,
            "-",
            "-",
            "-",
            f"ready {_num(bot.get('ready_ms'), 0)}",
            f"ready {_num(echo.get('ready_ms'), 0)}",
            _num(r.get("ready_ratio"), 2),
            _num(bot.get("peak_rss_mb")),
            "-",
        )
    return (
        name,
        _num(bot.get("events_per_s")),
        _num(echo.get("events_per_s")),
        _num(r.get("ratio"), 2),
        f"{_num(bot.get('p50_ms'))} / {_num(bot.get('p99_ms'))}",
        f"{_num(echo.get('p50_ms'))} / {_num(echo.get('p99_ms'))}",
        _num(r.get("p99_ratio"), 2),
        _num(bot.get("peak_rss_mb")),
        f"{_num(bot.get('cpu_ms_per_request'), 2)} / {_num(echo.get('cpu_ms_per_request'), 2)}",
    )


def table(results: dict[str, dict[str, Any]]) -> str:
    """One line per scenario; a skipped or failed one shows its status instead of figures."""
    rows = {name: _row(name, r) for name, r in results.items() if r.get("status") == "ok"}
    widths = [max([len(h)] + [len(row[i]) for row in rows.values()]) for i, h in enumerate(HEADER)]
    widths[0] = max([widths[0]] + [len(n) for n in results])
    lines = [" | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    notes: list[str] = []
    for name, r in results.items():
        if name not in rows:
            lines.append(f"{name.ljust(widths[0])} | {r.get('status', '?')}")
            continue
        cells = zip(rows[name], widths, strict=True)
        lines.append(" | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))
        for side in ("bot", "echo"):
            d = r.get(side) or {}
            if d.get("timeouts"):
                notes.append(f"{name}: {side} left {d['timeouts']} of {d['sent']} requests unanswered")
            if d.get("errors"):
                notes.append(f"{name}: {side}: {d['errors'][0]}")
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)


def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met (None: not measured)."""
    out: list[dict[str, Any]] = []
    burst = results.get("burst", {})
    out.append(
        {
            "target": f"confirmation burst throughput >= {BURST_RATIO}x the bare bot",
            "value": burst.get("ratio"),
            "met": None if burst.get("ratio") is None else burst["ratio"] >= BURST_RATIO,
        }
    )
    for name in ("query", "progress", "rollup", "followers"):
        r = results.get(name, {})
        out.append(
            {
                "target": f"{name} p99 <= {QUERY_P99_RATIO}x the bare bot's",
                "value": r.get("p99_ratio"),
                "met": None if r.get("p99_ratio") is None else r["p99_ratio"] <= QUERY_P99_RATIO,
            }
        )
    peaks = [r["bot"]["peak_rss_mb"] for r in results.values() if (r.get("bot") or {}).get("peak_rss_mb") is not None]
    peak = max(peaks) if peaks else None
    out.append(
        {
            "target": f"bot peak RSS <= {RSS_LIMIT_MB:.0f} MB",
            "value": peak,
            "met": None if peak is None else peak <= RSS_LIMIT_MB,
        }
    )
    return out


def targets_text(items: list[dict[str, Any]]) -> str:
    lines = ["targets:"]
    for t in items:
        state = "not measured" if t["met"] is None else ("met" if t["met"] else "BELOW TARGET")
        value = "" if t["value"] is None else f" = {t['value']:.2f}"
        lines.append(f"  {t['target']}: {state}{value}")
    return "\n".join(lines)


def write_json(directory: Path, payload: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{stamp}-{n}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
