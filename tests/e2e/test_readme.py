"""The README's commands work in a user's clone: its paths exist there and its roster command runs (item 24)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_points_only_at_files_a_clone_has() -> None:
    assert "../shared" not in README and "SPEC.md" not in README
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target


def test_the_readme_roster_command_imports_the_sample_roster(tmp_path: Path) -> None:
    (line,) = [x for x in README.splitlines() if "python -m bot import-units" in x and x.startswith(".venv")]
    args = line.split()[1:]  # `.venv/bin/python` is this interpreter here
    assert args[-1] == "bot/data/roster-henan.csv" and (ROOT / args[-1]).exists()
    env = {**os.environ, "ALLIANCE_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "新增 163 个单位" in run.stdout
