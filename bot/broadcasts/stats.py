"""Statistics of 统发 (a part of Broadcasts): each unit's completion over a month, over the last days, and the open tasks a unit owes."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import clock
from bot.broadcasts.parse import parse_month
from bot.broadcasts.records import (
    OPEN,
    WITHDRAWN,
    Completion,
    Stats,
    UnitRate,
    UnitTask,
    task_row,
)
from bot.db import Database


class BroadcastStats:
    """Statistics of 统发 (a part of Broadcasts): each unit's completion over a month, over the last days, and the open tasks a unit owes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def statistics(self, month: str = "") -> Stats:
        """Each unit's completion over the tasks announced in a month (withdrawn ones left out), best first.

        A task still open before its deadline counts for a unit that confirmed it, never against one that has not yet.
        """
        start, end, label = parse_month(month, clock.now().date())
        tz = clock.tz()
        lo = clock.to_db(datetime.combine(start, datetime.min.time(), tzinfo=tz))
        hi = clock.to_db(datetime.combine(end, datetime.min.time(), tzinfo=tz))
        async with self.db.read() as tx:
            tasks = await tx.value(
                "SELECT COUNT(*) FROM broadcasts WHERE state<>? AND created_at>=? AND created_at<?", (WITHDRAWN, lo, hi)
            )
            now = clock.now_db()
            running = await tx.value(
                "SELECT COUNT(*) FROM broadcasts WHERE state=? AND deadline>? AND created_at>=? AND created_at<?",
                (OPEN, now, lo, hi),
            )
            rows = await tx.all(
                "SELECT u.id, u.name, u.category, COUNT(*) AS owed, COUNT(c.id) AS done, "
                "COALESCE(SUM(c.late), 0) AS late "
                "FROM broadcasts b JOIN broadcast_units bu ON bu.task_id=b.id JOIN units u ON u.id=bu.unit_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE b.state<>? AND b.created_at>=? AND b.created_at<? AND u.deleted_at IS NULL "
                "AND (c.id IS NOT NULL OR b.state<>? OR b.deadline<=?) "
                "GROUP BY u.id",
                (WITHDRAWN, lo, hi, OPEN, now),
            )
        rates = [UnitRate(r["id"], r["name"], r["category"], r["done"], r["owed"], r["late"]) for r in rows]
        rates.sort(key=lambda r: (-r.rate, -r.done, r.late, r.name))
        return Stats(label, int(tasks or 0), rates, int(running or 0))

    async def unit_completion(self, unit_id: int, days: int = 30) -> Completion:
        """The unit's tasks announced in the last `days` days (withdrawn ones left out): those it did, of those over
        or done; a task still open before its deadline counts only once the unit did it (as in `statistics`)."""
        since = clock.to_db(clock.now() - timedelta(days=days))
        async with self.db.read() as tx:
            row = await tx.one(
                "SELECT COALESCE(SUM(c.id IS NOT NULL OR b.state<>? OR b.deadline<=?), 0) AS owed, "
                "COUNT(c.id) AS done, COUNT(*) AS total FROM broadcast_units bu "
                "JOIN broadcasts b ON b.id=bu.task_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE bu.unit_id=? AND b.state<>? AND b.created_at>=?",
                (OPEN, clock.now_db(), unit_id, WITHDRAWN, since),
            )
        assert row is not None
        owed = int(row["owed"])
        return Completion(int(row["done"]), owed, int(row["total"]) - owed)

    async def open_for_unit(self, unit_id: int) -> list[UnitTask]:
        """The open tasks a unit owes, oldest first, each with whether the unit has confirmed it."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT b.*, c.id AS cid, c.late AS clate FROM broadcast_units bu "
                "JOIN broadcasts b ON b.id=bu.task_id "
                "LEFT JOIN broadcast_confirmations c ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
                "WHERE bu.unit_id=? AND b.state=? ORDER BY b.id",
                (unit_id, OPEN),
            )
        return [UnitTask(task_row(r), r["cid"] is not None, bool(r["clate"])) for r in rows]
