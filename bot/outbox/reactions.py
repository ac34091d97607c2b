"""Reactions (a part of Outbox): acknowledgements given as an emoji on the person's message where the client can, claimed in batches."""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

from bot import metrics
from bot.db import Database
from bot.outbox.accounts import QQAccounts
from bot.outbox.outcomes import SendOutcomes
from bot.outbox.records import (
    REACT_BATCH,
    REPEAT,
    Connection,
    NotSent,
    ReactionUnsupported,
    SendFailed,
    SendUnknown,
    log,
    unless_gone,
)


class Reacted(NamedTuple):
    """What putting a batch of reactions came to: some must go as messages instead; the client went away."""

    fell_back: bool
    client_gone: bool


class OutboxReactions:
    """Reactions (a part of Outbox): acknowledgements given as an emoji on the person's message where the client can, claimed in batches."""

    def __init__(self, db: Database, accounts: QQAccounts, outcomes: SendOutcomes, interval: float = 0.3) -> None:
        self.db = db
        self.accounts = accounts
        self.outcomes = outcomes
        self.interval = interval  # seconds between two reactions of one account

    async def react_next(self, conn: Connection) -> Reacted | None:
        """Put the oldest owed reaction(s) of this account; on a client without reactions, they become messages.

        With no reaction gap (`react_interval` 0) up to `REACT_BATCH` are claimed in one transaction and put
        concurrently: a reaction lost to a crash is only an acknowledgement, never a message posted twice.
        """
        assert conn.react is not None
        where, params = self.accounts.clause(conn)
        limit = REACT_BATCH if self.interval <= 0 else 1
        async with self.db.tx() as tx:
            await self.outcomes.record(tx)
            # INDEXED BY (here and in every query of pending rows): the few pending rows by their index, whatever the
            # statistics say; after an ANALYZE made while every row was sent, SQLite read the whole table at each
            # claim (bench/README.md, "Timings behind the code")
            rows = await tx.all(
                "UPDATE outbox SET state='sending' WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_pending "
                f"WHERE state='pending' AND react_to IS NOT NULL AND {where} ORDER BY id LIMIT ?) "
                "RETURNING id, target_type, target_id, react_to, ref",
                (*params, limit),
            )
        if not rows:
            return None
        conn.next_react = time.monotonic() + self.interval
        outcomes = await asyncio.gather(
            *(self.react_one(conn, r["target_id"], r["react_to"]) for r in rows), return_exceptions=True
        )
        back: list[int] = []  # the reaction did not land: the acknowledgement goes as a (merged) message instead
        repeats: list[int] = []
        for r, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, tuple):
                metrics.MESSAGES_OUT.labels("reaction", outcome[0]).inc()
            if isinstance(outcome, asyncio.CancelledError):
                self.outcomes.add(r["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发")
            elif isinstance(outcome, BaseException):
                log.error("reaction raised: %r", outcome)
                self.outcomes.add(r["id"], "unknown", None, f"{type(outcome).__name__}: {outcome}"[:500])
            elif outcome == "fallback" and r["ref"] == REPEAT:
                repeats.append(r["id"])  # a reaction on a repeated command, or nothing: never a message
            elif outcome == "fallback":
                back.append(r["id"])
            else:
                state, error = outcome
                self.outcomes.add(r["id"], state, None, error)
        if back or repeats:
            async with self.db.tx() as tx:
                await self.outcomes.record(tx)
                await tx.many("UPDATE outbox SET state='pending', react_to=NULL WHERE id=?", [(i,) for i in back])
                await tx.many("DELETE FROM outbox WHERE id=?", [(i,) for i in repeats])
                if self.accounts.reactions.get(conn.account) is False:
                    await tx.run(
                        "DELETE FROM outbox INDEXED BY outbox_pending "
                        f"WHERE state='pending' AND react_to IS NOT NULL AND ref=? AND {where}",
                        (REPEAT, *params),
                    )
                    await tx.run(
                        "UPDATE outbox INDEXED BY outbox_pending SET react_to=NULL "
                        f"WHERE state='pending' AND react_to IS NOT NULL AND {where}",
                        params,
                    )
        gone = any(o == ("pending", None) for o in outcomes)  # the client went away
        return Reacted(bool(back or repeats), gone)

    async def react_one(self, conn: Connection, group_id: str, message_id: str) -> tuple[str, str | None] | str:
        """One reaction: (state, error) to record, or "fallback" when it must go as a message instead."""
        assert conn.react is not None
        try:
            await unless_gone(conn, conn.react(group_id, message_id))
        except NotSent:
            return ("pending", None)
        except (ReactionUnsupported, SendFailed) as e:
            if isinstance(e, ReactionUnsupported) or not self.accounts.reactions.get(conn.account):
                self.accounts.learned_reactions(conn.account, False)
            return "fallback"
        except SendUnknown as e:
            return ("unknown", str(e)[:500] or "表情回应超时，可能已生效，未重发")
        self.accounts.learned_reactions(conn.account, True)
        return ("sent", None)
