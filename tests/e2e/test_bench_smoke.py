"""`python -m bench --quick` runs end to end: both bots start, the table is printed, the JSON is written.

No timing is asserted: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import NEEDS_FONT

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_prints_table_and_writes_json(tmp_path: Path) -> None:
    out_dir = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results-dir", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    lines = proc.stdout.splitlines()
    header = next((line for line in lines if line.startswith("scenario ")), None)
    assert header is not None, proc.stdout
    for column in (
        "bot ev/s",
        "echo ev/s",
        "ratio",
        "bot p50/p99 ms",
        "echo p50/p99 ms",
        "p99 ratio",
        "bot RSS MB",
        "CPU ms/req bot/echo",
    ):
        assert column in header
    rows = {line.split("|")[0].strip(): line for line in lines[lines.index(header) + 2 :] if "|" in line}
    assert set(rows) == {"startup", "mixed", "burst", "progress", "rollup", "query", "followers"}, proc.stdout
    # the scenarios every version of the bot can run have figures; the others figures or "skipped: …"
    assert "ready" in rows["startup"] and "skipped" not in rows["mixed"], proc.stdout
    for name in ("burst", "progress", "rollup", "query", "followers"):
        cells = [c.strip() for c in rows[name].split("|")]
        assert cells[1].startswith("skipped: command not available") or len(cells) == 9, rows[name]
    assert "targets:" in proc.stdout

    files = list(out_dir.glob("*.json"))
    assert len(files) == 1, files
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert set(data["scenarios"]) == {"startup", "mixed", "burst", "progress", "rollup", "query", "followers"}
    mixed = data["scenarios"]["mixed"]
    assert mixed["status"] == "ok"
    for side in ("bot", "echo"):
        assert mixed[side]["answered"] == mixed[side]["sent"] == mixed["requests"], mixed[side]
        assert mixed[side]["events_per_s"] > 0 and mixed[side]["p99_ms"] is not None
    assert data["scenarios"]["mixed"]["bot"]["peak_rss_mb"] > 0
    assert len(data["targets"]) == 6  # burst, query, progress, rollup, followers, RSS
    handed = data["files"]  # issue 16: units upload a filled 统计表, then /报送 汇总
    assert handed["answered"] == handed["units"] == 20 and handed["wrong_or_missing"] == [], handed
    assert handed["answer_p99_ms"] is not None and handed["merge_s"] > 0 and handed["peak_rss_mb"] > 0
    assert "files: 20/20 uploads of 5 rows answered" in proc.stdout
    # the quiet group at the production gap, with and without reactions (figures only, no timing asserted)
    quiet = data["quiet"]
    assert quiet["status"] == "ok", quiet
    for run in ("with_reactions", "without_reactions"):
        r = quiet[run]
        assert r["confirmations"] == r["typed"] + r["by_reaction"] and r["query_n"] > 0, r
        assert r["recorded"].startswith("已完成"), r
    assert "quiet group at the production gap" in proc.stdout
    # the catch-up at reconnect (issue 22): every confirmation made while the bot was down is recorded
    back = data["reconnect"]
    assert back["status"] == "ok" and back["recorded"] == "150/150" and back["first_live_ms"] is not None, back
    assert "reconnect: 200 history messages (50 /已转发) and 100 reactions caught up" in proc.stdout


@NEEDS_FONT
def test_picture_bench_quick_prints_times_and_rss(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.pictures", "--quick", "--results-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    rows = [line for line in proc.stdout.splitlines() if line.count("|") == 6 and line[:1].isalpha()][1:]
    assert {r.split("|")[0].strip() for r in rows} == {"ranking", "asker", "targets", "progress", "rates", "stale"}
    assert "RSS after rendering:" in proc.stdout
    (path,) = tmp_path.glob("pictures-*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data["results"]["200"]) == {"ranking", "asker", "targets", "progress", "rates", "stale"}
    assert all(r["p99_ms"] > 0 and r["png_kb"] > 0 for r in data["results"]["200"].values())
