"""Marks kept in memory stay bounded (issue 23): the latest few thousand, never every one since start."""

from __future__ import annotations

from bot.app import App
from bot.recent import RecentSet
from bot.returns.files.records import Upload
from tests.fake import GROUP


def test_a_recent_set_forgets_the_oldest_past_its_limit() -> None:
    seen = RecentSet(3)
    for item in "abcd":
        seen.add(item)
    assert len(seen) == 3 and "a" not in seen and all(x in seen for x in "bcd")
    seen.add("b")  # touched again: now the newest
    seen.add("e")
    assert "c" not in seen and "b" in seen and len(seen) == 3
    seen.discard("b")
    seen.discard("zz")
    assert len(seen) == 2 and "b" not in seen


async def test_the_file_ids_a_bot_has_seen_stay_bounded_over_many_uploads(core: App) -> None:
    """No return asks for files: each upload is marked and ignored; 6,000 of them keep at most the limit."""
    svc = core.return_files
    limit = svc._seen.limit
    assert limit <= 10_000

    async def fetch(_: object) -> bytes:
        raise AssertionError("nothing is downloaded when no return asks for files")

    for i in range(limit + 2000):
        up = Upload("20001", "张老师", str(GROUP), f"表{i}.xlsx", 100, f"fid-{i}")
        assert await svc.receive(up, fetch, is_admin=False) is None
    assert len(svc._seen) == limit
    assert f"fid-{limit + 1999}" in svc._seen and "fid-0" not in svc._seen
