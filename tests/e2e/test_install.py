"""Installing the project (what `make run` and `make test` do) is quiet and leaves the clone clean (issue 13 item 25)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_an_editable_install_prints_no_build_backend_warning(tmp_path: Path) -> None:
    src = tmp_path / "clone"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for pkg in ("alliance", "bot", "plugins", "sim"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--prefix", str(tmp_path / "prefix"), "-e", str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout + run.stderr
    if run.returncode != 0 and "setuptools" in out and ("No matching distribution" in out or "Could not find" in out):
        pytest.skip("the package index is out of reach: setuptools for the isolated build cannot be fetched")
    assert run.returncode == 0, out
    assert "BuildBackendWarning" not in out and "Editable installation" not in out, out


def test_build_metadata_is_not_tracked_and_is_ignored() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [p for p in tracked.splitlines() if ".egg-info" in p]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "alliance_bot.egg-info/PKG-INFO"], cwd=ROOT, capture_output=True
    )
    assert ignored.returncode == 0
