"""Progress of 统发 (a part of Broadcasts): the counted confirmations and the units still owing, read again only
in part when asked often (a large alliance asks /统发 进度 while confirmations come in)."""

from __future__ import annotations

from dataclasses import dataclass

from bot import clock
from bot.broadcasts.records import DONE_SQL, Done, Task
from bot.db import Tx
from bot.tasks import Progress
from bot.units.records import Unit
from bot.units.service import Units

Entry = tuple[tuple[str, int], Done]  # ((when stored, confirmation id): the order they came, the confirmation)


@dataclass(frozen=True)
class KnownProgress:
    """What progress last read of a task. Counted confirmations are only ever added and a task's units are fixed,
    so the same number counted means the same confirmations and the same units owing; a new count needs only the
    confirmations after `last_id`. A write by another connection (`version`) or a roster change forgets it all."""

    version: int  # PRAGMA data_version when read
    last_id: int  # the newest confirmation read
    done: tuple[Entry, ...]  # in the order they came
    owing: tuple[int, ...]  # ids of the units not done


class BroadcastProgress:
    """Progress of 统发 (a part of Broadcasts): what was last read of each task, read again only in part."""

    def __init__(self, units: Units) -> None:
        self.units = units
        self._known: dict[int, KnownProgress] = {}  # task id → what progress last read of it
        # task id → (what it was made from: the read, the roster, the staffed units, the task; the progress made)
        self._made: dict[int, tuple[tuple[object, ...], Progress[Task, Done]]] = {}
        units.on_change.append(self._known.clear)  # a unit renamed or deleted: names and who owes are read again
        # confirmations written by this process, and (task id → (data_version, that number)) when the count of a task
        # was last found equal to what was read: asked again with nothing written since, the count is not read
        self._writes = 0
        self._counted_at: dict[int, tuple[int, int]] = {}

    async def known(self, tx: Tx, task_id: int) -> KnownProgress:
        """The counted confirmations and the units owing of a task, inside the caller's read transaction (only what
        is new since the last read, when nothing else changed)."""
        version = tx.tiny_value("PRAGMA data_version")
        known = self._known.get(task_id)
        if known is not None and known.version != version:
            known = None
        if known is not None and self._counted_at.get(task_id) == (version, self._writes):
            return known  # nothing written since it was counted, here or by another connection
        writes = self._writes
        count = await tx.value("SELECT COUNT(*) FROM broadcast_confirmations WHERE task_id=? AND counted=1", (task_id,))
        if known is None or len(known.done) != count:
            known = await self._read_progress(tx, task_id, known, count, version)
            self._known[task_id] = known
        self._counted_at[task_id] = (version, writes)
        return known

    def confirmations_written(self) -> None:
        """Called by every write of a confirmation, inside its transaction: the next `known` counts again."""
        self._writes += 1

    async def report(self, task: Task, known: KnownProgress) -> Progress[Task, Done]:
        """The progress of a task from what was read: the counted confirmations and the units not done (names from
        the Units index, so only their ids crossed from the database). Made once while the read, the roster, the
        units with an operator and the task are the same, and then shared by every asker: nobody changes it."""
        roster, staffed = await self.units.generation(), await self.units.registrations.staffed_all()

        def kept() -> Progress[Task, Done] | None:  # the same again (many asking while nothing changed): shared
            made = self._made.get(task.id)
            if made is not None and made[0][0] is known and made[0][1] is roster and made[0][2] is staffed:
                if made[0][3] == task:
                    return made[1]
            return None

        if (found := kept()) is not None:
            return found
        pending = await self.units.by_ids(known.owing)
        if (found := kept()) is not None:  # another asker made it meanwhile
            return found
        unstaffed = frozenset(u.id for u in pending if u.id not in staffed)
        p = Progress(task, [d for _, d in known.done], pending, unstaffed)
        if len(self._made) > 64:  # a few tasks are asked often; memory stays bounded
            self._made.clear()
        self._made[task.id] = ((known, roster, staffed, task), p)
        return p

    async def _read_progress(
        self, tx: Tx, task_id: int, known: KnownProgress | None, count: int, version: int
    ) -> KnownProgress:
        """The confirmations counted since `known` was read (all of them without it), and the units owing now."""
        before, after = (known.done, known.last_id) if known is not None else ((), 0)
        done = [*before, *await self.done(tx, task_id, after=after)]
        if before and len(done) > len(before) and done[len(before)][0] < before[-1][0]:
            done.sort(key=lambda e: e[0])  # one came stamped earlier than the last read (a clock moved back)
        if len(done) != count:  # not what the count says: read them all again
            done = await self.done(tx, task_id)
        # one string instead of a row per unit: a large alliance's list crosses from SQLite faster
        text = await tx.value(
            "SELECT group_concat(unit_id) FROM (SELECT bu.unit_id FROM broadcast_units bu "
            f"WHERE bu.task_id=? AND NOT {DONE_SQL} ORDER BY bu.unit_id)",
            (task_id,),
        )
        owing = tuple(int(i) for i in text.split(",")) if text else ()
        return KnownProgress(version, max((e[0][1] for e in done), default=after), tuple(done), owing)

    async def done(self, tx: Tx, task_id: int, *, after: int = 0) -> list[Entry]:
        """The counted confirmations of a task (those after confirmation `after`), in the order they came."""
        rows = await tx.all(
            "SELECT c.*, u.name, u.category, u.city FROM broadcast_confirmations c JOIN units u ON u.id=c.unit_id "
            "WHERE c.task_id=? AND c.counted=1 AND c.id>? ORDER BY c.at, c.id",
            (task_id, after),
        )
        return [
            (
                (r["at"], r["id"]),
                Done(
                    Unit(r["unit_id"], r["name"], r["category"], r["city"]),
                    r["user_id"],
                    r["user_name"],
                    clock.from_db(r["at"]),
                    bool(r["late"]),
                    r["via"],
                    r["proof_url"],
                    r["proof_image"],
                ),
            )
            for r in rows
        ]
