"""When the monthly follower reminder is due: the first working day of a month (China's holidays and 调休, see
bot/workdays.py) at ALLIANCE_FOLLOWER_REMINDER."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from bot import clock
from bot.db import Database, Tx
from bot.due import month_due, next_due
from bot.followers.records import (
    KIND,
    LABEL,
    LIVE_STATES_SQL,
)
from bot.nudge import Outgoing, nudge_messages
from bot.reminders import Reminder, Reminders
from bot.units.service import Units

if TYPE_CHECKING:
    from bot.config import Settings


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


class MonthlyReminder:
    """The monthly reminder (a part of Followers): owed in the reminder ledger, re-dated when the setting changes, sent to the operators of units with live accounts and no report that month."""

    def __init__(
        self, db: Database, units: Units, reminders: Reminders, settings: Settings, remind_at: time | None
    ) -> None:
        self.db = db
        self.units = units
        self.reminders = reminders
        self.settings = settings
        self.remind_at = remind_at  # ALLIANCE_FOLLOWER_REMINDER; None: no monthly reminder
        reminders.register(KIND, self._remind, workdays_only=True)  # never on a day off

    async def start(self) -> None:
        """Owe the next monthly reminder (or cancel them when ALLIANCE_FOLLOWER_REMINDER is empty).

        Reminders already owed and past due stay (they go out now); future ones are re-dated to the setting.
        """
        now = clock.now()
        async with self.db.tx() as tx:
            if self.remind_at is None:
                await self.reminders.cancel_kind(tx, KIND, "已关闭月度提醒")
                return
            await self.reminders.drop_future(tx, KIND, now)
            month, due = next_due(now, self.remind_at)
            await self.reminders.schedule_at(tx, KIND, month, LABEL, due)

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The monthly reminder: operators of units with live accounts and no report this month."""
        if self.remind_at is None:
            return []
        now = clock.now()
        current = now.year * 100 + now.month
        if rem.task_id != current and await self.reminders.is_pending(tx, KIND, current):
            return []  # a month missed while away; this month's own reminder is still owed
        year, month = _next_month(now.year, now.month)
        await self.reminders.schedule_at(tx, KIND, year * 100 + month, LABEL, month_due(year, month, self.remind_at))
        start = now.date().replace(day=1).isoformat()
        unit_ids = await tx.all(
            f"""
            SELECT u.id FROM units u
            WHERE u.deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM accounts a WHERE a.unit_id=u.id AND a.state IN {LIVE_STATES_SQL})
              AND NOT EXISTS (SELECT 1 FROM accounts a JOIN follower_reports r ON r.account_id=a.id
                              WHERE a.unit_id=u.id AND r.day>=?)
            """,
            (start,),
        )
        ops = await self.units.registrations.operators_owing(tx, [r[0] for r in unit_ids])
        if not ops:
            return []
        units = len({op.unit_id for op in ops})
        header = f"【粉丝数月报】{now.month}月还有 {units} 个单位没有报送粉丝数，请联络员报送本单位各账号的最新粉丝数："
        footer = "发送 /粉丝 <平台或账号名称> <数量>，如：/粉丝 微信 12345、/粉丝 抖音 1.2万"
        private = f"联盟助手提醒：{now.month}月请报送本单位各新媒体账号的粉丝数，在群里发送 /粉丝 微信 12345 即可。"
        return nudge_messages(self.settings, header, ops, footer=footer, private_text=private)
