"""QQ accounts (a part of Outbox): which of the bot's QQ accounts sends to a chat, attaching and detaching their senders, the groups each is in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot import clock
from bot.db import Database
from bot.outbox.records import (
    DEFAULT_ACCOUNT,
    Connection,
    Reactor,
    Sender,
    log,
)


class QQAccounts:
    """The bot's QQ accounts (a part of Outbox): which sends to a chat, their connections, what each client can do."""

    def __init__(
        self,
        db: Database,
        accounts: Iterable[str] = (),
        group_accounts: dict[str, str] | None = None,
        *,
        on_attach: Callable[[], None] = lambda: None,
        on_groups: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.configured = [str(a) for a in accounts]  # configured accounts; empty: the first to connect
        self.primary: str | None = self.configured[0] if self.configured else None
        self.conns: dict[str, Connection] = {}
        self.links: dict[str, datetime] = {}  # account → when it last connected or went away (bot/health.py)
        self.configured_groups = {str(g): str(a) for g, a in (group_accounts or {}).items()}
        self.group_account: dict[str, str] = dict(self.configured_groups)
        self.user_account: dict[str, str] = {}
        self.reactions: dict[str, bool] = {}  # what was learned about each account's client
        self.on_attach = on_attach  # a client connected: the outbox looks at everything owed again
        self.on_groups = on_groups  # pending messages may now have an account to go through

    def route(self, target_type: str, target_id: str, account: str | None = None) -> str | None:
        """The account that sends to a chat: the one named, the group's, the one the person talks to, or None
        (the primary account)."""
        if account is not None:
            account = str(account)
            if target_type == "group" and target_id in self.configured_groups:
                return self.configured_groups[target_id]
            return account
        if target_type == "group":
            return self.group_account.get(target_id)
        return self.user_account.get(target_id)

    def may_attach(self, account: str) -> bool:
        """A configured account, or (none configured) the first one that connected, or any when none did yet."""
        if self.configured:
            return account in self.configured
        return self.primary is None or self.primary == account or account == DEFAULT_ACCOUNT

    def attach(
        self,
        sender: Sender,
        owner: object | None = None,
        *,
        account: str | int | None = None,
        react: Reactor | None = None,
    ) -> bool:
        """A QQ client connected: deliver what is owed through it. False (and nothing changes) for an account
        that may not serve (see `may_attach`).

        `owner` is the connection the sender belongs to (the adapter's bot object); only that connection's
        `detach` takes it away again, so a late disconnect of an old connection never cuts off a new one.
        """
        acc = DEFAULT_ACCOUNT if account is None else str(account)
        if not self.may_attach(acc):
            log.warning(
                "QQ account %s may not send for this bot (configured: %s)", acc, self.configured or self.primary
            )
            return False
        if self.primary is None and acc != DEFAULT_ACCOUNT:
            self.primary = acc
        old = self.conns.get(acc)
        conn = Connection(acc, sender, owner, react)
        if old is not None:
            conn.next_msg, conn.next_react = old.next_msg, old.next_react
        self.conns[acc] = conn
        if old is None:
            self.links[acc] = clock.now()
        self.on_attach()
        return True

    def detach(self, owner: object | None = None, *, account: str | int | None = None) -> None:
        """The QQ client went away: keep everything pending.

        With `owner`, detach only the account whose sender is that connection's (a disconnect hook that
        runs late, after another connection attached, leaves the newer sender alone). Without either, detach
        every account.
        """
        for acc, conn in list(self.conns.items()):
            if account is not None and acc != str(account):
                continue
            if owner is not None and conn.owner is not owner:
                continue
            del self.conns[acc]
            conn.gone.set()  # a send in flight through it ends now (`Outbox._deliver`)
            self.links[acc] = clock.now()

    @property
    def connected(self) -> bool:
        return bool(self.conns)

    def is_connected(self, account: str | int) -> bool:
        return str(account) in self.conns

    def connected_accounts(self) -> list[str]:
        return list(self.conns)

    def learned_reactions(self, account: str, supported: bool) -> None:
        """Remember (logged once per change) whether an account's client can put reactions on messages."""
        if self.reactions.get(account) is supported:
            return
        self.reactions[account] = supported
        what = "支持表情回应：确认用表情回应" if supported else "不支持表情回应：确认回执合并成一条消息发送"
        log.warning("QQ 客户端 %s %s", account, what)

    async def learn_groups(self, account: str, group_ids: Iterable[str]) -> list[str]:
        """The groups an account is in (from `get_group_list`): pending messages for them wait for that account.

        A group configured in settings keeps its account; a group already served by another account keeps it.
        Returns the groups now served by `account`.
        """
        account = str(account)
        mine = []
        async with self.db.tx() as tx:
            for g in (str(x) for x in group_ids):
                current = self.group_account.get(g)
                if current is not None and current != account:
                    continue
                self.group_account[g] = account
                mine.append(g)
                await tx.run(
                    "INSERT INTO group_accounts (group_id, account, seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(group_id) DO UPDATE SET account=excluded.account, seen_at=excluded.seen_at",
                    (g, account, clock.now_db()),
                )
                await tx.run(
                    "UPDATE outbox INDEXED BY outbox_pending SET account=? "
                    "WHERE state='pending' AND account IS NULL AND target_type='group' AND target_id=?",
                    (account, g),
                )
        self.on_groups()
        return mine

    def note_private(self, user_id: str | int, account: str | int) -> None:
        """A person wrote to the bot through `account`: private messages to them go out through it."""
        self.user_account[str(user_id)] = str(account)

    async def load_groups(self) -> None:
        """The group → account map learned in earlier runs (settings override it)."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT group_id, account FROM group_accounts")
        for r in rows:
            if r["group_id"] not in self.configured_groups:
                self.group_account[r["group_id"]] = r["account"]

    def in_order(self) -> list[Connection]:
        """The connected accounts, the primary one first."""
        return sorted(self.conns.values(), key=lambda c: (c.account != self.primary, c.account))

    def clause(self, conn: Connection) -> tuple[str, tuple[Any, ...]]:
        """Rows this connection sends: its own, and those of no account when it is the primary one."""
        if conn.account == DEFAULT_ACCOUNT:
            return "1=1", ()
        if conn.account == self.primary or self.primary is None:
            return "(account=? OR account IS NULL)", (conn.account,)
        return "account=?", (conn.account,)

    def said_no_reactions(self, account: str | None) -> bool:
        """Whether the client of `account` (None: the primary one) was found unable to put reactions."""
        return self.reactions.get(account or self.primary or "") is False
