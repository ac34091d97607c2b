"""One member cannot hold up everyone (issue 20): a budget of commands per person, and a repeat answered once.

How the promise holds ("nobody's flood delays other people's answers", docs/PROMISES.md):

- a budget: a person who is not an admin may give `budget` commands in any `window` seconds (every command
  they send counts, the refused ones too: a flood ends when the person pauses for a whole window). Past it a
  command is not run; the first one past it gets one short note (`Admit.NOTE`) per window, the others nothing
  (`Admit.QUIET`), and a repeat of a command they gave in the window never gets the note;
- a repeat: the same command from the same person in the same chat that gets the same answer within `window`
  seconds of the answer given is answered once (`answered` says so; the handler puts a reaction on the repeat
  where the client has them, else nothing). A repeat whose answer changed (a progress report after someone
  confirmed) is answered again. Admins are not budgeted, but their repeats are answered once too;
- the outbox serves waiting askers in turn (`bot/outbox/service.py`): what is queued for one person never keeps
  another's answer waiting behind it, whoever floods, admins included.

Kept in memory (a restart gives everyone a fresh budget), bounded by the people active in the last window.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from enum import Enum


class Admit(Enum):
    """What to do with a command: run it, refuse it with the one note, or refuse it quietly."""

    RUN = "run"
    NOTE = "note"
    QUIET = "quiet"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class FloodGuard:
    """Per-person budgets of commands and the answers given lately, over a sliding window of seconds."""

    def __init__(self, window: float = 60, budget: int = 10, now: Callable[[], float] = time.monotonic) -> None:
        """`budget` 0 means no budget (repeats are still answered once); `window` 0 turns the guard off."""
        self.window = window
        self.budget = budget
        self._now = now
        self._times: dict[str, deque[float]] = {}  # person → when their last `budget` commands came
        self._seen: dict[tuple[str, str, bytes], float] = {}  # (person, chat, command) → when it last came
        self._answers: dict[tuple[str, str, bytes], tuple[bytes, float]] = {}  # → (the answer, when it was given)
        self._noted: dict[str, float] = {}  # person → when they were told they are over the budget
        self._calls = 0

    def admit(self, person: str, chat: str, command: str, *, exempt: bool = False) -> Admit:
        """Count a command `person` gave in `chat` (`command`: its text as typed) and say whether to run it.

        Args:
            exempt: an admin: never over the budget.
        """
        if self.window <= 0:
            return Admit.RUN
        now = self._now()
        self._tidy(now)
        key = (person, chat, _digest(command))
        seen = self._seen.get(key)
        repeat = seen is not None and now - seen < self.window
        self._seen[key] = now
        if exempt or self.budget <= 0:
            return Admit.RUN
        times = self._times.setdefault(person, deque(maxlen=self.budget))
        over = len(times) == self.budget and now - times[0] < self.window
        times.append(now)
        if not over:
            return Admit.RUN
        noted = self._noted.get(person)
        if repeat or (noted is not None and now - noted < self.window):
            return Admit.QUIET
        self._noted[person] = now
        return Admit.NOTE

    def answered(self, person: str, chat: str, command: str, answer: str) -> bool:
        """True when the same answer to the same command was given to `person` in `chat` within the window (do not
        give it again); else remember this answer as given now and return False."""
        if self.window <= 0:
            return False
        now = self._now()
        key = (person, chat, _digest(command))
        given = _digest(answer)
        last = self._answers.get(key)
        if last is not None and last[0] == given and now - last[1] < self.window:
            return True
        self._answers[key] = (given, now)
        return False

    def _tidy(self, now: float) -> None:
        """Forget what is older than the window, now and then (memory stays bounded by recent activity)."""
        self._calls += 1
        if self._calls % 512:
            return
        old = now - self.window
        self._seen = {k: t for k, t in self._seen.items() if t > old}
        self._answers = {k: v for k, v in self._answers.items() if v[1] > old}
        self._noted = {p: t for p, t in self._noted.items() if t > old}
        self._times = {p: d for p, d in self._times.items() if d and d[-1] > old}


def over_budget_note(window: float, budget: int) -> str:
    """What a person is told (once per window) when they gave more commands than the budget allows."""
    span = f"{window / 60:g} 分钟" if window >= 60 and window % 60 == 0 else f"{window:g} 秒"
    return (
        f"你在 {span}内发了太多命令（每人最多 {budget} 条），接下来的命令先不处理，重复发也不会更快。"
        f"请过 {span}再发；急事请联系管理员。"
    )
