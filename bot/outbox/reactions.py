"""Reactions (a part of Outbox): acknowledgements given as an emoji on the person's message where the client can, claimed in batches."""

from __future__ import annotations

import asyncio
import time

from bot import metrics
from bot.outbox.records import (
    REACT_BATCH,
    REPEAT,
    NotSent,
    ReactionUnsupported,
    SendFailed,
    SendUnknown,
    _Conn,
    log,
)


class OutboxReactions:
    """Reactions (a part of Outbox): acknowledgements given as an emoji on the person's message where the client can, claimed in batches."""

    async def _react_next(self, conn: _Conn) -> bool:
        """Put the oldest owed reaction(s) of this account; on a client without reactions, they become messages.

        With no reaction gap (`react_interval` 0) up to `REACT_BATCH` are claimed in one transaction and put
        concurrently: a reaction lost to a crash is only an acknowledgement, never a message posted twice.
        """
        assert conn.react is not None
        where, params = self._account_clause(conn)
        limit = REACT_BATCH if self.react_interval <= 0 else 1
        async with self.db.tx() as tx:
            await self._record(tx)
            rows = await tx.all(
                "UPDATE outbox SET state='sending' WHERE id IN (SELECT id FROM outbox WHERE state='pending' "
                f"AND react_to IS NOT NULL AND {where} ORDER BY id LIMIT ?) "
                "RETURNING id, target_type, target_id, react_to, ref",
                (*params, limit),
            )
        if not rows:
            return False
        conn.next_react = time.monotonic() + self.react_interval
        outcomes = await asyncio.gather(
            *(self._react_one(conn, r["target_id"], r["react_to"]) for r in rows), return_exceptions=True
        )
        back: list[int] = []  # the reaction did not land: the acknowledgement goes as a (merged) message instead
        repeats: list[int] = []
        for r, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, tuple):
                metrics.MESSAGES_OUT.labels("reaction", outcome[0]).inc()
            if isinstance(outcome, asyncio.CancelledError):
                self._outcomes.append((r["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发"))
            elif isinstance(outcome, BaseException):
                log.error("reaction raised: %r", outcome)
                self._outcomes.append((r["id"], "unknown", None, f"{type(outcome).__name__}: {outcome}"[:500]))
            elif outcome == "fallback" and r["ref"] == REPEAT:
                repeats.append(r["id"])  # a reaction on a repeated command, or nothing: never a message
            elif outcome == "fallback":
                back.append(r["id"])
            else:
                state, error = outcome
                self._outcomes.append((r["id"], state, None, error))
        if back or repeats:
            async with self.db.tx() as tx:
                await self._record(tx)
                await tx.many("UPDATE outbox SET state='pending', react_to=NULL WHERE id=?", [(i,) for i in back])
                await tx.many("DELETE FROM outbox WHERE id=?", [(i,) for i in repeats])
                if self.reactions.get(conn.account) is False:
                    await tx.run(
                        f"DELETE FROM outbox WHERE state='pending' AND react_to IS NOT NULL AND ref=? AND {where}",
                        (REPEAT, *params),
                    )
                    await tx.run(
                        f"UPDATE outbox SET react_to=NULL WHERE state='pending' AND react_to IS NOT NULL AND {where}",
                        params,
                    )
            self._msg_owed = self._acks_waiting = True
        if any(o == ("pending", None) for o in outcomes):  # the client went away
            await self._flush()
            await self._sleep(0.5)
        return True

    async def _react_one(self, conn: _Conn, group_id: str, message_id: str) -> tuple[str, str | None] | str:
        """One reaction: (state, error) to record, or "fallback" when it must go as a message instead."""
        assert conn.react is not None
        try:
            await conn.react(group_id, message_id)
        except NotSent:
            return ("pending", None)
        except (ReactionUnsupported, SendFailed) as e:
            if isinstance(e, ReactionUnsupported) or not self.reactions.get(conn.account):
                self.learned_reactions(conn.account, False)
            return "fallback"
        except SendUnknown as e:
            return ("unknown", str(e)[:500] or "表情回应超时，可能已生效，未重发")
        self.learned_reactions(conn.account, True)
        return ("sent", None)
