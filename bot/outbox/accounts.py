"""Accounts (a part of Outbox): which of the bot's QQ accounts sends to a chat, attaching and detaching their senders, the groups each is in."""

from __future__ import annotations

from collections.abc import Iterable

from bot import clock
from bot.outbox.records import (
    DEFAULT_ACCOUNT,
    Reactor,
    Sender,
    _Conn,
    log,
)


class QQAccounts:
    """Accounts (a part of Outbox): which of the bot's QQ accounts sends to a chat, attaching and detaching their senders, the groups each is in."""

    def route(self, target_type: str, target_id: str, account: str | None = None) -> str | None:
        """The account that sends to a chat: the one named, the group's, the one the person talks to, or None
        (the primary account)."""
        if account is not None:
            account = str(account)
            if target_type == "group" and target_id in self._configured_groups:
                return self._configured_groups[target_id]
            return account
        if target_type == "group":
            return self.group_account.get(target_id)
        return self.user_account.get(target_id)

    def may_attach(self, account: str) -> bool:
        """A configured account, or (none configured) the first one that connected, or any when none did yet."""
        if self.accounts:
            return account in self.accounts
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
            log.warning("QQ account %s may not send for this bot (configured: %s)", acc, self.accounts or self.primary)
            return False
        if self.primary is None and acc != DEFAULT_ACCOUNT:
            self.primary = acc
        old = self._conns.get(acc)
        conn = _Conn(acc, sender, owner, react)
        if old is not None:
            conn.next_msg, conn.next_react = old.next_msg, old.next_react
        self._conns[acc] = conn
        if old is None:
            self.links[acc] = clock.now()
        self._compact_due = True
        self._react_owed = self._msg_owed = self._acks_waiting = True
        self.wake()
        return True

    def detach(self, owner: object | None = None, *, account: str | int | None = None) -> None:
        """The QQ client went away: keep everything pending.

        With `owner`, detach only the account whose sender is that connection's (a disconnect hook that
        runs late, after another connection attached, leaves the newer sender alone). Without either, detach
        every account.
        """
        for acc, conn in list(self._conns.items()):
            if account is not None and acc != str(account):
                continue
            if owner is not None and conn.owner is not owner:
                continue
            del self._conns[acc]
            self.links[acc] = clock.now()

    @property
    def connected(self) -> bool:
        return bool(self._conns)

    def is_connected(self, account: str | int) -> bool:
        return str(account) in self._conns

    def connected_accounts(self) -> list[str]:
        return list(self._conns)

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
                    "UPDATE outbox SET account=? WHERE state='pending' AND account IS NULL AND target_type='group' "
                    "AND target_id=?",
                    (account, g),
                )
        self.wake()
        return mine

    def note_private(self, user_id: str | int, account: str | int) -> None:
        """A person wrote to the bot through `account`: private messages to them go out through it."""
        self.user_account[str(user_id)] = str(account)

    async def load_groups(self) -> None:
        """The group → account map learned in earlier runs (settings override it)."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT group_id, account FROM group_accounts")
        for r in rows:
            if r["group_id"] not in self._configured_groups:
                self.group_account[r["group_id"]] = r["account"]
