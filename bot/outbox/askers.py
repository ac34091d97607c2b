"""Turns (a part of Outbox): answers waiting for different people go out in turn (issue 20: one member cannot hold
up everyone)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from bot.db import Tx
from bot.outbox.records import ANSWER, FAIR_WINDOW

PRUNE_AT = 1000  # askers remembered before those not served lately are forgotten
MIN_SLOT = 0.05  # s: with no gap between messages (tests, the bench), an answer sent still puts the next one back


class AnswerTurns:
    """Turns (a part of Outbox): answers waiting for different people go out in turn."""

    def __init__(self, slot: float = MIN_SLOT) -> None:
        # who asked for each answer queued in this run and when, and when each asker was last sent something (rows
        # from before a restart have no asker and are served as one asker, from when they were first seen)
        self._askers: dict[int, tuple[str | None, float]] = {}
        self._served: dict[str | None, deque[float]] = {}
        self._prune_at = PRUNE_AT
        self.slot = max(slot, MIN_SLOT)  # how far back each answer sent lately puts the asker's next one
        self.now = time.monotonic

    def note(self, row_id: int, asker: str | None) -> None:
        """An answer was queued for `asker`."""
        self._askers[row_id] = (asker, self.now())

    def forget(self, row_id: int) -> None:
        """Another kind of row was queued (an id freed by a rolled-back answer may come back as one)."""
        self._askers.pop(row_id, None)

    async def claim_answer(self, tx: Tx, where: str, params: tuple[Any, ...], held: str | None) -> Any:
        """Claim the answer to send next, askers in turn: each asker's oldest waiting answer, counted as asked one
        `slot` later for every message sent to that asker in the last FAIR_WINDOW seconds; the earliest goes (ties:
        the oldest row). None when no answer waits.

        So a person who asked forty things is sent one answer, then the admin who asked once, then the next of
        the forty: nobody's flood delays another person's answer, and each person's answers stay in order. Someone
        just answered who asks again waits behind those who asked at the same time, but not behind everyone who
        asks after them: under a steady stream of new askers their answer still comes (it used to wait until no
        one new was waiting).
        """
        waiting = await tx.all(
            "SELECT o.id FROM outbox o INDEXED BY outbox_pending "
            "WHERE o.state='pending' AND o.priority=? AND o.react_to IS NULL AND "
            f"{where.replace('account', 'o.account')} AND (? IS NULL OR o.ref IS NULL OR o.ref NOT LIKE ?) "
            "ORDER BY o.id LIMIT 1000",
            (ANSWER, *params, held, held),
        )
        if not waiting:
            return None
        now = self.now()
        if len(self._served) > self._prune_at:  # forget askers not served lately (memory stays bounded)
            self._served = {a: t for a, t in self._served.items() if t and now - t[-1] <= FAIR_WINDOW}
            # more than that many askers served lately: not again at each claim, only when as many more came
            self._prune_at = max(PRUNE_AT, 2 * len(self._served))
        heads: dict[str | None, tuple[float, int]] = {}
        for r in waiting:
            asker, queued = self._askers.setdefault(r["id"], (None, now))
            heads.setdefault(asker, (queued, r["id"]))
        asker, (_, row_id) = min(
            heads.items(), key=lambda h: (h[1][0] + self.slot * self._served_lately(h[0], now), h[1][1])
        )
        self._askers.pop(row_id, None)
        self._served.setdefault(asker, deque()).append(now)
        return await tx.one(
            "UPDATE outbox SET state='sending' WHERE id=? AND state='pending' "
            "RETURNING id, target_type, target_id, message, ref, priority, fallback",
            (row_id,),
        )

    def _served_lately(self, asker: str | None, now: float) -> int:
        """How many answers went to `asker` in the last FAIR_WINDOW seconds (older ones forgotten)."""
        times = self._served.get(asker)
        if times is None:
            return 0
        while times and now - times[0] > FAIR_WINDOW:
            times.popleft()
        if not times:
            del self._served[asker]
            return 0
        return len(times)
