"""New-media accounts and their filings (备案: 开设/变更/注销) with admin review."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot import clock
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.names import check_name, name_key
from bot.parse import looks_like_date, parse_date
from bot.units.records import Unit
from bot.units.service import Units
from bot.vocab import parse_platform

if TYPE_CHECKING:
    from bot.roles import Scope

CHANGE_FIELDS = {
    "名称": "name",
    "账号名称": "name",
    "账号ID": "uid",
    "ID": "uid",
    "id": "uid",
    "UID": "uid",
    "uid": "uid",
    "微信号": "uid",
    "开通日期": "opened_on",
    "日期": "opened_on",
}
FIELD_NAMES = {"name": "名称", "uid": "账号ID", "opened_on": "开通日期"}


@dataclass(frozen=True)
class Account:
    id: int
    unit_id: int
    platform: str
    name: str
    uid: str
    opened_on: str | None
    state: str


@dataclass(frozen=True)
class Filing:
    id: int
    kind: str
    account: Account
    unit_name: str
    changes: dict[str, str]
    state: str
    filed_by: str
    filed_by_name: str
    filed_at: str
    reason: str | None = None

    def describe(self) -> str:
        a = self.account
        text = f"#{self.id} {self.kind} {self.unit_name} {a.platform}“{a.name}”"
        if self.kind == "开设":
            extra = [x for x in (a.uid and f"ID {a.uid}", a.opened_on and f"开通 {a.opened_on}") if x]
            if extra:
                text += f"（{'，'.join(extra)}）"
        if self.kind == "变更":
            text += "：" + "，".join(f"{FIELD_NAMES[k]}→{v}" for k, v in self.changes.items())
        return text


def duplicate_filings(filings: list[Filing]) -> dict[int, int]:
    """Pending change filings identical to an earlier pending one: filing id → the earlier id."""
    first: dict[tuple[int, str], int] = {}
    out: dict[int, int] = {}
    for f in sorted(filings, key=lambda x: x.id):
        if f.kind != "变更" or f.state != "待审核":
            continue
        key = (f.account.id, json.dumps(f.changes, sort_keys=True, ensure_ascii=False))
        if key in first:
            out[f.id] = first[key]
        else:
            first[key] = f.id
    return out


def _account(r) -> Account:
    return Account(r["id"], r["unit_id"], r["platform"], r["name"], r["uid"], r["opened_on"], r["state"])


class MediaAccounts:
    """Accounts of units and the filings that open, change and close them."""

    def __init__(self, db: Database, units: Units) -> None:
        self.db = db
        self.units = units
        # called after accounts change (opened, approved, rejected, closed): the follower rankings' cache listens
        self.on_change: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for listener in self.on_change:
            listener()

    async def _operator_unit(self, user_id: str) -> Unit:
        bound = await self.units.registrations.operator(user_id)
        if bound is None:
            raise UserError("你还没有绑定单位，不能备案账号。请先发 /注册 <单位名称>，等管理员审核通过。")
        return bound[1]

    @staticmethod
    async def _named(
        tx: Tx, unit_id: int, platform: str, name: str, states: tuple[str, ...], *, besides: int | None = None
    ) -> list[Any]:
        """The unit's accounts on a platform, in these states, whose name is `name` as typed (`name_key`:
        `郑大青年\u200b。` and `ＺＺＵ青年` find `郑大青年` and `ZZU青年`), oldest first."""
        marks = ",".join("?" * len(states))
        rows = await tx.all(
            f"SELECT * FROM accounts WHERE unit_id=? AND platform=? AND state IN ({marks}) ORDER BY id",
            (unit_id, platform, *states),
        )
        key = name_key(name)
        return [r for r in rows if name_key(r["name"]) == key and r["id"] != besides]

    async def _find(self, tx: Tx, unit: Unit, platform: str, name: str, states: tuple[str, ...]) -> Account:
        found = await self._named(tx, unit.id, platform, name, states)
        if found:
            return _account(found[0])
        marks = ",".join("?" * len(states))
        rows = await tx.all(
            f"SELECT name FROM accounts WHERE unit_id=? AND platform=? AND state IN ({marks}) ORDER BY id",
            (unit.id, platform, *states),
        )
        names = "、".join(f"“{r['name']}”" for r in rows)
        hint = f"本单位的{platform}账号有：{names}。" if rows else f"本单位还没有{platform}账号。"
        raise NotFound(f"没有找到{platform}账号“{name}”。{hint}用 /账号 列表 查看。")

    async def owner_of(self, name: str, platform: str | None, *, besides: int) -> tuple[Account, str] | None:
        """A live account of another unit (not deleted) named `name` as typed, and its unit's name, or None."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT a.*, u.name AS unit_name FROM accounts a JOIN units u ON u.id=a.unit_id "
                "WHERE a.unit_id<>? AND a.state IN ('正常', '待审核') AND u.deleted_at IS NULL "
                "AND (? IS NULL OR a.platform=?) ORDER BY a.id",
                (besides, platform, platform),
            )
        key = name_key(name)
        return next(((_account(r), r["unit_name"]) for r in rows if name_key(r["name"]) == key), None)

    async def file_opening(
        self, user_id: str, user_name: str, platform: str, name: str, uid: str = "", opened_on: str = ""
    ) -> Filing:
        unit = await self._operator_unit(user_id)
        platform = parse_platform(platform)
        name = check_name(name, "账号名称", cjk_brackets=False)
        if looks_like_date(uid) and not looks_like_date(opened_on):  # 2023/9/1 where the ID would be: a date
            uid, opened_on = opened_on, uid
        uid = check_name(uid, "账号ID", cjk_brackets=False) if uid.strip() else ""
        day = parse_date(opened_on, clock.now().date()).isoformat() if opened_on.strip() else None
        async with self.db.tx() as tx:
            dup = await self._named(tx, unit.id, platform, name, ("待审核", "正常"))
            if dup:
                raise UserError(
                    f"本单位已有{platform}账号“{dup[0]['name']}”（{dup[0]['state']}），不必重复登记。要修改请用 /账号 变更。"
                )
            now = clock.now_db()
            account_id = await tx.run(
                "INSERT INTO accounts (unit_id, platform, name, uid, opened_on, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, '待审核', ?)",
                (unit.id, platform, name, uid, day, now),
            )
            filing_id = await self._file(tx, "开设", account_id, unit, {}, user_id, user_name)
            filing = await self._filing(tx, filing_id)
        self._changed()
        return filing

    async def file_change(self, user_id: str, user_name: str, platform: str, name: str, pairs: list[str]) -> Filing:
        unit = await self._operator_unit(user_id)
        platform = parse_platform(platform)
        changes = self.parse_changes(pairs)
        async with self.db.tx() as tx:
            account = await self._find(tx, unit, platform, name, ("正常", "待审核"))
            if "name" in changes and name_key(changes["name"]) != name_key(account.name):
                if await self._named(tx, unit.id, platform, changes["name"], ("待审核", "正常")):
                    raise UserError(f"本单位已有{platform}账号“{changes['name']}”，不能改成这个名称。")
            for r in await tx.all(
                "SELECT id, changes FROM filings WHERE account_id=? AND kind='变更' AND state='待审核'", (account.id,)
            ):
                if json.loads(r["changes"]) == changes:
                    raise UserError(f"相同内容的变更备案 #{r['id']} 已在审核中，不必重复提交。")
            filing_id = await self._file(tx, "变更", account.id, unit, changes, user_id, user_name)
            return await self._filing(tx, filing_id)

    def parse_changes(self, pairs: list[str]) -> dict[str, str]:
        if not pairs:
            raise UserError("请写出要改的内容，如：/账号 变更 微博 河南教育 名称=河南省教育厅 账号ID=henanjy")
        changes: dict[str, str] = {}
        for p in pairs:
            key, sep, value = p.replace("＝", "=").partition("=")
            field = CHANGE_FIELDS.get(key.strip())
            if not sep or field is None:
                raise UserError(f"看不懂“{p}”。请写成 字段=值，字段可选：名称、账号ID、开通日期，如 名称=河南教育。")
            if field == "opened_on":
                changes[field] = parse_date(value, clock.now().date()).isoformat()
            else:
                changes[field] = check_name(value, FIELD_NAMES[field], cjk_brackets=False)
        return changes

    async def file_closure(self, user_id: str, user_name: str, platform: str, name: str) -> Filing:
        unit = await self._operator_unit(user_id)
        platform = parse_platform(platform)
        async with self.db.tx() as tx:
            account = await self._find(tx, unit, platform, name, ("正常", "待审核"))
            pending = await tx.value(
                "SELECT id FROM filings WHERE account_id=? AND kind='注销' AND state='待审核'", (account.id,)
            )
            if pending:
                raise UserError(f"{platform}账号“{account.name}”的注销备案 #{pending} 已在审核中。")
            filing_id = await self._file(tx, "注销", account.id, unit, {}, user_id, user_name)
            return await self._filing(tx, filing_id)

    async def _file(
        self, tx: Tx, kind: str, account_id: int, unit: Unit, changes: dict[str, str], user_id: str, user_name: str
    ) -> int:
        filing_id = await tx.run(
            "INSERT INTO filings (kind, account_id, unit_id, changes, filed_by, filed_by_name, filed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, account_id, unit.id, json.dumps(changes, ensure_ascii=False), user_id, user_name, clock.now_db()),
        )
        await audit(tx, user_id, f"备案{kind}", f"#{filing_id}", unit.id)
        return filing_id

    async def _filing(self, tx: Tx, filing_id: int) -> Filing:
        r = await tx.one(
            "SELECT f.*, u.name AS unit_name FROM filings f JOIN units u ON u.id=f.unit_id WHERE f.id=?", (filing_id,)
        )
        if r is None:
            raise NotFound(f"没有编号为 {filing_id} 的备案。发 /备案 查看待审核的备案。")
        a = await tx.one("SELECT * FROM accounts WHERE id=?", (r["account_id"],))
        return Filing(
            r["id"],
            r["kind"],
            _account(a),
            r["unit_name"],
            json.loads(r["changes"]),
            r["state"],
            r["filed_by"],
            r["filed_by_name"],
            r["filed_at"],
            r["reason"],
        )

    async def pending(self, scope: Scope | None = None) -> list[Filing]:
        """The filings waiting for a decision (with a city admin's `scope`: of their units)."""
        async with self.db.read() as tx:
            ids = [r[0] for r in await tx.all("SELECT id FROM filings WHERE state='待审核' ORDER BY id")]
            found = [await self._filing(tx, i) for i in ids]
        return [f for f in found if scope is None or f.account.unit_id in scope]

    async def pending_for_unit(self, unit_id: int) -> list[Filing]:
        async with self.db.read() as tx:
            ids = [
                r[0]
                for r in await tx.all(
                    "SELECT id FROM filings WHERE state='待审核' AND unit_id=? ORDER BY id", (unit_id,)
                )
            ]
            return [await self._filing(tx, i) for i in ids]

    async def approve(
        self, filing_ids: list[int], *, actor: str, scope: Scope | None = None
    ) -> list[tuple[int, Filing | None, str]]:
        """Approve filings one by one (a city admin, `scope`: of their units). Returns (id, filing or None, error).

        A filing that can no longer apply is closed, not left 待审核: when a closure is approved, the other
        pending filings of that account are voided (state 已驳回, reason 自动作废：…); they come back as
        (id, the voided filing, its reason), also when they were not in `filing_ids`.
        """
        out: list[tuple[int, Filing | None, str]] = []
        reported: set[int] = set()
        for fid in dict.fromkeys(filing_ids):
            if fid in reported:
                continue
            try:
                async with self.db.tx() as tx:
                    f = await self._filing(tx, fid)
                    if scope is not None and f.account.unit_id not in scope:
                        raise scope.refusal(f.unit_name)
                    if f.state != "待审核":
                        raise UserError(f"备案 #{fid} 已是“{f.state}”，不能再通过。")
                    if f.kind != "开设" and f.account.state in ("已注销", "已驳回"):
                        why = f"自动作废：账号已{f.account.state.removeprefix('已')}，这条{f.kind}备案不能再生效"
                        out.append((fid, await self._void(tx, fid, why, actor, f.account.unit_id), why))
                        reported.add(fid)
                        continue
                    await self._apply(tx, f)
                    await tx.run(
                        "UPDATE filings SET state='已备案', decided_by=?, decided_at=? WHERE id=?",
                        (actor, clock.now_db(), fid),
                    )
                    await audit(tx, actor, "备案通过", f"#{fid}", f.account.unit_id)
                    # described with the account as it was: a rename reads 微博“旧名”：名称→新名
                    out.append((fid, replace(await self._filing(tx, fid), account=f.account), ""))
                    reported.add(fid)
                    for other, why in await self._superseded(tx, f):
                        out.append((other, await self._void(tx, other, why, actor, f.account.unit_id), why))
                        reported.add(other)
            except UserError as e:
                out.append((fid, None, str(e)))
        self._changed()
        return out

    async def _superseded(self, tx: Tx, f: Filing) -> list[tuple[int, str]]:
        """Pending filings that an approved one makes pointless: all of a closed account's, and identical changes."""
        rows = await tx.all(
            "SELECT id, kind, changes FROM filings WHERE account_id=? AND state='待审核' AND id<>? ORDER BY id",
            (f.account.id, f.id),
        )
        out = []
        for r in rows:
            if f.kind == "注销":
                out.append((r["id"], f"自动作废：账号已注销（注销备案 #{f.id} 已通过），这条{r['kind']}备案不能再生效"))
            elif f.kind == "变更" and r["kind"] == "变更" and json.loads(r["changes"]) == f.changes:
                out.append((r["id"], f"自动作废：与已通过的变更备案 #{f.id} 内容相同"))
        return out

    async def _void(self, tx: Tx, filing_id: int, reason: str, actor: str, unit_id: int) -> Filing:
        await tx.run(
            "UPDATE filings SET state='已驳回', reason=?, decided_by=?, decided_at=? WHERE id=? AND state='待审核'",
            (reason, actor, clock.now_db(), filing_id),
        )
        await audit(tx, actor, "备案作废", f"#{filing_id} {reason}", unit_id)
        return await self._filing(tx, filing_id)

    async def _apply(self, tx: Tx, f: Filing) -> None:
        name = f.changes.get("name", f.account.name) if f.kind != "注销" else None
        if name is not None and await self._named(  # two filings may each have looked free when filed
            tx, f.account.unit_id, f.account.platform, name, ("待审核", "正常"), besides=f.account.id
        ):
            raise UserError(f"备案 #{f.id}：本单位已有{f.account.platform}账号“{name}”，同名账号不能再通过，请驳回。")
        if f.kind == "开设":  # an account closed meanwhile stays closed
            await tx.run("UPDATE accounts SET state='正常' WHERE id=? AND state='待审核'", (f.account.id,))
        elif f.kind == "注销":
            await tx.run("UPDATE accounts SET state='已注销' WHERE id=?", (f.account.id,))
        else:
            if f.account.state not in ("正常", "待审核"):
                raise UserError(f"备案 #{f.id} 的账号已{f.account.state.removeprefix('已')}，不能再变更。")
            for field, value in f.changes.items():
                if field not in FIELD_NAMES:
                    raise UserError(f"备案 #{f.id} 的内容无法识别，请驳回后重新提交。")
                await tx.run(f"UPDATE accounts SET {field}=? WHERE id=?", (value, f.account.id))

    async def reject(self, filing_id: int, reason: str, *, actor: str, scope: Scope | None = None) -> Filing:
        async with self.db.tx() as tx:
            f = await self._filing(tx, filing_id)
            if scope is not None and f.account.unit_id not in scope:
                raise scope.refusal(f.unit_name)
            if f.state != "待审核":
                raise UserError(f"备案 #{filing_id} 已是“{f.state}”，不能再驳回。")
            await tx.run(
                "UPDATE filings SET state='已驳回', reason=?, decided_by=?, decided_at=? WHERE id=?",
                (reason or None, actor, clock.now_db(), filing_id),
            )
            if f.kind == "开设":
                await tx.run("UPDATE accounts SET state='已驳回' WHERE id=? AND state='待审核'", (f.account.id,))
            await audit(tx, actor, "备案驳回", f"#{filing_id} {reason}", f.account.unit_id)
            filing = await self._filing(tx, filing_id)
        self._changed()
        return filing

    async def in_states(self, states: tuple[str, ...]) -> list[Account]:
        """Every account in one of these states (of units deleted or not), by id."""
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT * FROM accounts WHERE state IN ({','.join('?' * len(states))}) ORDER BY id", states
            )
        return [_account(r) for r in rows]

    async def filer_names(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who filed an account."""
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT filed_by, filed_by_name FROM filings")]

    async def filing_rows(self) -> list[dict[str, Any]]:
        """Every filing with its unit's and account's names, oldest first (units deleted later keep their history)."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT f.*, u.name AS unit_name, a.platform, a.name AS account_name, a.uid, a.opened_on "
                "FROM filings f JOIN units u ON u.id=f.unit_id JOIN accounts a ON a.id=f.account_id ORDER BY f.id"
            )
        return [dict(r) for r in rows]

    async def of_unit(self, unit_id: int, *, include_closed: bool = False) -> list[Account]:
        states = ("待审核", "正常", "已注销") if include_closed else ("待审核", "正常")
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT * FROM accounts WHERE unit_id=? AND state IN ({','.join('?' * len(states))}) "
                "ORDER BY platform, name",
                (unit_id, *states),
            )
        return [_account(r) for r in rows]
