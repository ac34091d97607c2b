"""What an outbox row is about (`Ref`): the one place that knows how a ref is written in the `outbox.ref` column.

A service queues a message with `Ref(kind, id, purpose)` (`Ref("broadcast", 3)` the announcement of 统发 #3,
`Ref("broadcast", 3, NUDGE)` an admin's 催办, `Ref("return", 5, REMINDER)` an automatic reminder); whoever reads
refs back (the reply index of 统发, "which 报送 did this message announce", the outbox's quiet hours and
priorities) gets a `Ref` from `Ref.parse` and compares fields, never text.

Stored form (unchanged since the first release, so old rows still parse): `broadcast:3`, `broadcast:3:nudge`,
`return:5:催办`, `reminder:return:5`, `broadcast-withdrawn:3`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANNOUNCE = ""  # the announcement of a task
NUDGE = "nudge"  # an admin's 催办
RETURN_NUDGE = "催办"  # the same for 报送, as rows have always been written
REMINDER = "reminder"  # an automatic reminder from the ledger (bot/reminders.py)
WITHDRAWN = "withdrawn"  # the notice that a task was withdrawn
HINT = "hint"  # a private line to one person about a task (e.g. how to confirm it instead of a reaction)
REMINDER_PREFIX = "reminder:"  # how every stored ref of an automatic reminder starts

_REF = re.compile(r"^(?:(reminder):)?([a-z_]+)(-withdrawn)?:(\d+)(?::(.+))?$")


@dataclass(frozen=True)
class Ref:
    """A message about task `id` of `kind` (`broadcast`, `return`, `followers`, …), sent for `purpose`."""

    kind: str
    id: int
    purpose: str = ANNOUNCE

    def __str__(self) -> str:
        if self.purpose == REMINDER:
            return f"{REMINDER_PREFIX}{self.kind}:{self.id}"
        if self.purpose == WITHDRAWN:
            return f"{self.kind}-withdrawn:{self.id}"
        return f"{self.kind}:{self.id}" + (f":{self.purpose}" if self.purpose else "")

    @property
    def nudges(self) -> bool:
        """An admin's nudge or an automatic reminder (they go after notices and answers)."""
        return self.purpose in (NUDGE, RETURN_NUDGE, REMINDER)

    @classmethod
    def parse(cls, text: str | None) -> Ref | None:
        """The ref a stored `outbox.ref` says; None for none or a text that is no ref."""
        m = _REF.match(text or "")
        if m is None:
            return None
        reminder, kind, withdrawn, num, purpose = m.groups()
        if reminder:
            return None if withdrawn or purpose else cls(kind, int(num), REMINDER)
        if withdrawn:
            return None if purpose else cls(kind, int(num), WITHDRAWN)
        return cls(kind, int(num), purpose or ANNOUNCE)


def like(purpose: str) -> str:
    """A SQL LIKE pattern of the stored refs of one purpose (only REMINDER has a fixed prefix)."""
    if purpose != REMINDER:
        raise ValueError(f"no LIKE pattern for refs of purpose {purpose!r}")
    return f"{REMINDER_PREFIX}%"


def prefixes(kind: str) -> list[tuple[str, str]]:
    """Ranges `[lo, hi)` of stored refs about tasks of `kind` (announcements, nudges, reminders): index-friendly."""
    return [(f"{kind}:", f"{kind};"), (f"{REMINDER_PREFIX}{kind}:", f"{REMINDER_PREFIX}{kind};")]
