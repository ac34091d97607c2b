"""僵尸号 up the tree (issue 24.3, SPEC §13): the operator is warned when an account passes the 10-day line
(bot/followers/posts.py); two days later (12 days by default, never past the 僵尸号 line itself) the unit's city
admin is told privately, once per account and stretch without posts.

How the promises hold:
- a daily check in the reminder ledger (kind STALE_UP, task id yyyymmdd, at the 僵尸号 watch's time), on working
  days only (`workdays_only`), never in quiet hours (the ledger's rule), caught up after a restart;
- once per account and stretch: each (account, start of the stretch) told is claimed in the ledger (kind
  STALE_UP_TOLD) in the transaction that queues the messages; a stretch with no city admin over the unit is not
  claimed, so an admin appointed later hears of it;
- the unit's city admin: everyone appointed over a unit whose subtree holds it (bot/roles.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import time
from typing import Any

from bot import clock
from bot.db import Tx
from bot.due import DAY, next_due
from bot.followers.periods import show_day
from bot.followers.records import LABEL, Stale, StaleAccount
from bot.nudge import Outgoing
from bot.reminders import Reminder, Reminders
from bot.render import Msg
from bot.roles import Roles
from bot.units.records import Unit
from bot.units.service import Units

STALE_UP = "stale_up"  # the daily check for city admins (task id: yyyymmdd)
STALE_UP_TOLD = "stale_up_told"  # an account's stretch told to its city admins (task id: account id; label: since)
AFTER_OPERATOR = 2  # days after the operator's warning line the city admin is told (10 + 2 = 12)


class StaleEscalation:
    """The city admins' 僵尸号 warning: `start` owes the first daily check; the ledger does the rest."""

    def __init__(
        self,
        stale: Callable[[], Coroutine[Any, Any, Stale]],
        units: Units,
        roles: Roles,
        reminders: Reminders,
        *,
        warn_days: int,
        stale_days: int,
        at: time,
    ) -> None:
        self.stale = stale
        self.units = units
        self.roles = roles
        self.reminders = reminders
        self.line = min(warn_days + AFTER_OPERATOR, stale_days)
        self.at = at
        reminders.register(STALE_UP, self._send, self._prepare, title="僵尸号预警（给市级管理员）", workdays_only=True)

    async def start(self) -> None:
        day, nxt = next_due(clock.now(), self.at, every=DAY)
        async with self.reminders.db.tx() as tx:
            await self.reminders.schedule_at(tx, STALE_UP, day, LABEL, nxt)

    async def _prepare(self, rem: Reminder) -> list[tuple[str, Unit, StaleAccount]]:
        """(city admin, unit, account) for every account past the line in an admin's area."""
        s = await self.stale()
        areas: dict[str, set[int]] = {}
        for a in await self.roles.listing():
            areas.setdefault(a.user_id, set()).update(await self.units.subtree(a.unit))
        out = []
        for unit, items in [*s.no_post, *s.warning]:
            for item in items:
                if item.idle < self.line:
                    continue
                out.extend((user_id, unit, item) for user_id, ids in sorted(areas.items()) if unit.id in ids)
        return out

    async def _send(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        day, nxt = next_due(max(clock.now(), rem.due_at), self.at, every=DAY)
        await self.reminders.schedule_at(tx, STALE_UP, day, LABEL, nxt)
        claimed: dict[tuple[int, str], bool] = {}
        due: dict[str, list[tuple[Unit, StaleAccount]]] = {}
        for user_id, unit, item in rem.prepared or []:
            key = (item.account.id, item.since.isoformat())
            if key not in claimed:
                claimed[key] = await self.reminders.claim(tx, STALE_UP_TOLD, key[0], key[1], unit.name)
            if claimed[key]:
                due.setdefault(user_id, []).append((unit, item))
        return [("private", user_id, self.message(items)) for user_id, items in due.items()]

    def message(self, items: list[tuple[Unit, StaleAccount]]) -> Msg:
        out = Msg(
            f"【僵尸号预警】你管理的单位有 {len(items)} 个账号已 {self.line} 天以上没有报告更新"
            "（已提醒过各单位联络员；按国办秘函〔2019〕19号，两周不更新即为僵尸号）："
        )
        for unit, item in sorted(items, key=lambda x: (-x[1].idle, x[0].name)):
            last = f"最后更新 {show_day(item.last_post)}" if item.last_post else "登记后还没有报告过更新"
            out.line(f"{unit.name}·{item.account.platform}“{item.account.name}”：{item.idle} 天（{last}）")
        out.line("请督促这些单位发布内容，并由联络员在群里发 /更新 <平台> 报告。")
        return out
