"""Returns as files, the records: an upload (who sent what, from where) and the verdict on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_LISTED = 5


Fetch = Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True)
class Upload:
    """A file someone handed to the bot, as the QQ client announced it."""

    user_id: str
    user_name: str
    group_id: str | None
    name: str
    size: int | None
    file_id: str

    @property
    def chat(self) -> str:
        return f"group:{self.group_id}" if self.group_id else "private"


@dataclass
class Verdict:
    """What checking a form found: its rows, the problems (already described), what the rows are."""

    rows: list[tuple[int, list[str]]]
    problems: list[list]
    described: list[str]
    what: str
    form: str = ""
    """The return's form the file was read as ("" when it fits none of several)."""
