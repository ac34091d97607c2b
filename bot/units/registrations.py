"""Operators and registration (a part of Units): /注册 applications, /审核 decisions, binding and unbinding, who is bound to which unit; the only code that reads or writes the operators and applications tables."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol

from bot import clock
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import NotFound, Unsure, UserError
from bot.names import check_city, check_name, check_qq
from bot.units.records import (
    Application,
    Decision,
    Operator,
    Unbound,
    Unit,
)
from bot.units.scope import Scope
from bot.vocab import parse_category


class UnitRoster(Protocol):
    """What registration asks of the units' name index (Units, which holds registration as its part)."""

    async def get(self, unit_id: int) -> Unit | None: ...

    async def find(self, text: str, *, strict: bool = False) -> Unit | None: ...

    async def near(self, text: str) -> list[Unit]: ...

    async def all(self) -> list[Unit]: ...

    def invalidate(self) -> None: ...

    async def insert_unit(
        self, tx: Tx, name: str, category: str, city: str, students: int | None, actor: str, *, county: str = ""
    ) -> int: ...


class Registrations:
    """Operators and registration (a part of Units): /注册 applications, /审核 decisions, binding and unbinding, who is bound to which unit; the only code that reads or writes the operators and applications tables."""

    def __init__(self, db: Database, roster: UnitRoster) -> None:
        self.db = db
        self.roster = roster  # the units: looking one up, adding one for an approved application
        # staffed_all's last read, and the writes to the operators table by this process
        self._staffed_last: tuple[tuple[int, int], frozenset[int]] | None = None
        self._operators_writes = 0

    def forget_staffed(self) -> None:
        """The units changed: `staffed_all` reads the operators again."""
        self._staffed_last = None

    async def operator(self, user_id: str | int) -> tuple[Operator, Unit] | None:
        """The unit a QQ user is bound to, if any."""
        async with self.db.read() as tx:  # by primary key: asked by every `/统发 进度` of an operator
            row = tx.tiny_row("SELECT user_id, name, unit_id, group_id FROM operators WHERE user_id=?", (str(user_id),))
        if row is None:
            return None
        unit = await self.roster.get(row["unit_id"])
        if unit is None:
            return None
        return Operator(row["user_id"], row["name"], row["unit_id"], row["group_id"]), unit

    async def operators(self, unit_id: int) -> list[Operator]:
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT user_id, name, unit_id, group_id FROM operators WHERE unit_id=? ORDER BY bound_at, user_id",
                (unit_id,),
            )
        return [Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]) for r in rows]

    async def operators_of(self, unit_ids: Iterable[int]) -> dict[int, list[Operator]]:
        """Operators of many units at once: unit id → operators (units without any are left out)."""
        wanted = set(unit_ids)
        out: dict[int, list[Operator]] = {}
        async with self.db.read() as tx:
            rows = await tx.all("SELECT user_id, name, unit_id, group_id FROM operators ORDER BY bound_at, user_id")
        for r in rows:
            if r["unit_id"] in wanted:
                out.setdefault(r["unit_id"], []).append(Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]))
        return out

    async def staffed(self, unit_ids: Iterable[int]) -> frozenset[int]:
        """Which of these units have an operator (one string crosses from SQLite, not a row per operator: asked by
        every `/统发 进度`)."""
        return frozenset((await self.staffed_all()).intersection(unit_ids))

    def operators_changed(self) -> None:
        """Called by every write to the operators table, inside its transaction (`staffed_all` reads it again)."""
        self._operators_writes += 1

    async def staffed_all(self) -> frozenset[int]:
        """Every unit that has an operator: the same set (the same object) while the operators are the same, so a
        caller may keep what it derived from it. Read again after a write of this process (`operators_changed`) or
        of another connection (PRAGMA data_version), else kept: asked by every `/统发 进度`."""
        async with self.db.read() as tx:
            version = (tx.tiny_value("PRAGMA data_version"), self._operators_writes)
            last = self._staffed_last
            if last is not None and last[0] == version:
                return last[1]
            text = await tx.value("SELECT group_concat(DISTINCT unit_id) FROM operators")
        have = frozenset(int(i) for i in text.split(",")) if text else frozenset()
        if last is not None and last[1] == have:
            have = last[1]  # the same units: the same object
        self._staffed_last = (version, have)
        return have

    @staticmethod
    async def operators_owing(tx: Tx, unit_ids: Iterable[int]) -> list[Operator]:
        """The operators of these units, read inside the caller's transaction (a reminder computes who is still
        owed in the transaction that queues it), by unit, then in the order they were bound."""
        ids = sorted(set(unit_ids))
        if not ids:
            return []
        rows = await tx.all(
            "SELECT user_id, name, unit_id, group_id FROM operators WHERE unit_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY unit_id, bound_at, user_id",
            (json.dumps(ids),),
        )
        return [Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]) for r in rows]

    @staticmethod
    async def bound_unit(tx: Tx, user_id: str | int) -> int | None:
        """The id of the unit a QQ user is bound to, inside the caller's transaction; None if not bound."""
        return await tx.value("SELECT unit_id FROM operators WHERE user_id=?", (str(user_id),))

    async def all_operators(self) -> dict[str, int]:
        """QQ id → unit id for every bound operator."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT user_id, unit_id FROM operators")
        return {r[0]: r[1] for r in rows}

    async def applicant_names(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who applied to register, oldest first."""
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT user_id, user_name FROM applications")]

    async def operator_names(self) -> list[tuple[str, str]]:
        """(QQ id, name) of every operator bound now."""
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT user_id, name FROM operators")]

    async def is_known(self, user_id: str | int) -> bool:
        """Bound to a unit now, or with an application waiting for review (may talk to the bot privately).

        Someone who left the group (and so was unbound), unbound themselves, or was rejected is not known.
        """
        async with self.db.read() as tx:
            return bool(
                await tx.value(
                    "SELECT 1 FROM operators WHERE user_id=? "
                    "UNION ALL SELECT 1 FROM applications WHERE user_id=? AND state='待审核' LIMIT 1",
                    (str(user_id), str(user_id)),
                )
            )

    async def unbind(self, user_id: str | int, *, actor: str, why: str = "解绑") -> Unbound | None:
        """Remove a binding. None if the user was bound to nothing."""
        uid = str(user_id)
        async with self.db.tx() as tx:
            row = await tx.one("SELECT unit_id FROM operators WHERE user_id=?", (uid,))
            if row is None:
                return None
            await tx.run("DELETE FROM operators WHERE user_id=?", (uid,))
            self.operators_changed()
            left = await tx.value("SELECT COUNT(*) FROM operators WHERE unit_id=?", (row["unit_id"],))
            await audit(tx, actor, why, uid, row["unit_id"])
        unit = await self.roster.get(row["unit_id"])
        if unit is None:
            return None
        return Unbound(unit, left == 0)

    async def apply(
        self,
        user_id: str | int,
        user_name: str,
        group_id: str | int | None,
        name: str,
        category: str = "",
        city: str = "",
    ) -> tuple[Application, bool]:
        """File an application to operate a unit (or to create a new one).

        Returns the application and whether it is new (False: the same one was already pending).
        """
        uid = check_qq(user_id)
        bound = await self.operator(uid)
        if bound is not None:
            raise UserError(f"你已是“{bound[1].name}”的联络员。要换单位，请先发 /解绑，再重新注册。")
        name = check_name(name, "单位名称")
        try:  # with a category the user means a new unit: a loose match to another one is asked about, not taken
            unit = await self.roster.find(name, strict=bool(category))
        except Unsure as e:
            known = e.candidate.name  # type: ignore[attr-defined]
            raise UserError(
                f"名册里没有“{name}”，但有“{known}”。如果就是它，请发：/注册 {known}；"
                "如果是名册里没有的新单位，请联系管理员把它加进名册。"
            ) from None
        if unit is None and not category and (close := await self.roster.near(name)):
            raise UserError(
                f"名册里没有“{name}”。你是不是要注册“{close[0].name}”？是的话请发：/注册 {close[0].name}；"
                "如果确实是名册里没有的新单位，请联系管理员把它加进名册。"
            )
        if unit is None and not category:
            raise UserError(
                f"没有找到单位“{name}”。如果这是新单位，请同时写出类别和地市，如：/注册 {name} 高中 郑州。"
                "类别可选：省直单位、市教育局、县区教育局、本科高校、高职高专、中职学校、高中、初中、小学、幼儿园、其他。"
            )
        cat = parse_category(category) if unit is None else None
        city = check_city(city) if unit is None else ""
        async with self.db.tx() as tx:
            pending = await tx.one(
                "SELECT id, unit_id, new_name FROM applications WHERE user_id=? AND state='待审核'", (uid,)
            )
            if pending is not None:
                same = (unit is not None and pending["unit_id"] == unit.id) or (
                    unit is None and pending["new_name"] == name
                )
                if same:
                    app = await self._application(tx, pending["id"])
                    return app, False
                await tx.run(
                    "UPDATE applications SET state='已撤销', reason='申请人重新注册了其他单位', decided_at=? WHERE id=?",
                    (clock.now_db(), pending["id"]),
                )
            app_id = await tx.run(
                "INSERT INTO applications (user_id, user_name, group_id, unit_id, new_name, new_category, new_city, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    user_name,
                    str(group_id) if group_id else None,
                    unit.id if unit else None,
                    None if unit else name,
                    cat,
                    city or None,
                    clock.now_db(),
                ),
            )
            await audit(tx, uid, "注册申请", f"#{app_id} {unit.name if unit else name}", unit.id if unit else None)
            app = await self._application(tx, app_id)
        return app, True

    async def _application(self, tx: Tx, app_id: int) -> Application:
        r = await tx.one(
            "SELECT a.*, u.name AS unit_name, u.category AS unit_category, u.city AS unit_city "
            "FROM applications a LEFT JOIN units u ON u.id=a.unit_id WHERE a.id=?",
            (app_id,),
        )
        if r is None:
            raise NotFound(f"没有编号为 {app_id} 的注册申请。发 /审核 查看待审核的申请。")
        return Application(
            id=r["id"],
            user_id=r["user_id"],
            user_name=r["user_name"],
            group_id=r["group_id"],
            unit_id=r["unit_id"],
            unit_name=r["unit_name"] if r["unit_id"] else r["new_name"],
            category=r["unit_category"] if r["unit_id"] else r["new_category"],
            city=r["unit_city"] if r["unit_id"] else r["new_city"],
            state=r["state"],
            created_at=r["created_at"],
            reason=r["reason"],
            is_new_unit=r["unit_id"] is None,
        )

    async def pending(self, scope: Scope | None = None) -> list[Application]:
        """The applications waiting for a decision; with a city admin's `scope`, those for units of it (an
        application for a new unit is the province's to decide)."""
        async with self.db.read() as tx:
            ids = [r[0] for r in await tx.all("SELECT id FROM applications WHERE state='待审核' ORDER BY id")]
            apps = [await self._application(tx, i) for i in ids]
        return [a for a in apps if scope is None or _may_decide(a, scope)]

    async def application(self, app_id: int) -> Application:
        async with self.db.read() as tx:
            return await self._application(tx, app_id)

    async def approve(self, app_ids: list[int], *, actor: str, scope: Scope | None = None) -> list[Decision]:
        """Approve applications, each in its own transaction (one bad number does not block the rest); a city admin
        (`scope`) only those for units of their scope."""
        out = []
        for app_id in dict.fromkeys(app_ids):
            try:
                out.append(await self._approve_one(app_id, actor, scope))
            except UserError as e:
                out.append(Decision(Application(app_id, "", "", None, None, "", None, None, "", ""), False, str(e)))
        return out

    async def _approve_one(self, app_id: int, actor: str, scope: Scope | None) -> Decision:
        async with self.db.tx() as tx:
            app = await self._application(tx, app_id)
            _check_decide(app, scope)
            if app.state != "待审核":
                raise UserError(f"申请 #{app_id} 已{app.state.removeprefix('已')}，不能再通过。")
            unit_id = app.unit_id
            if unit_id is None:
                unit_id = await tx.value("SELECT id FROM units WHERE name=? AND deleted_at IS NULL", (app.unit_name,))
                if unit_id is None:
                    unit_id = await self.roster.insert_unit(
                        tx, app.unit_name, app.category or "其他", app.city or "", None, actor
                    )
            elif await tx.value("SELECT deleted_at FROM units WHERE id=?", (unit_id,)):
                raise UserError(f"申请 #{app_id} 的单位已被删除，无法通过。")
            existing = await tx.one("SELECT unit_id FROM operators WHERE user_id=?", (app.user_id,))
            if existing is not None and existing["unit_id"] != unit_id:
                raise UserError(f"申请 #{app_id} 的申请人已绑定其他单位，请让其先 /解绑。")
            await tx.run(
                "INSERT OR IGNORE INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES (?, ?, ?, ?, ?)",
                (app.user_id, unit_id, app.user_name, app.group_id, clock.now_db()),
            )
            self.operators_changed()
            await tx.run(
                "UPDATE applications SET state='已通过', unit_id=?, decided_at=?, decided_by=? WHERE id=?",
                (unit_id, clock.now_db(), actor, app_id),
            )
            await audit(tx, actor, "审核通过", f"#{app_id} {app.user_id} → {app.unit_name}", unit_id)
        self.roster.invalidate()
        unit = await self.roster.get(unit_id)
        return Decision(app, True, "", unit)

    async def reject(self, app_id: int, reason: str, *, actor: str, scope: Scope | None = None) -> Decision:
        async with self.db.tx() as tx:
            app = await self._application(tx, app_id)
            _check_decide(app, scope)
            if app.state != "待审核":
                raise UserError(f"申请 #{app_id} 已{app.state.removeprefix('已')}，不能再驳回。")
            await tx.run(
                "UPDATE applications SET state='已驳回', reason=?, decided_at=?, decided_by=? WHERE id=?",
                (reason or None, clock.now_db(), actor, app_id),
            )
            await audit(tx, actor, "审核驳回", f"#{app_id} {reason}", app.unit_id)
        return Decision(app, True, reason)

    async def unbound(
        self, members: dict[str, str], admins: frozenset[str]
    ) -> tuple[list[tuple[str, str]], list[Unit]]:
        """Group members bound to no unit (admins left out), and units with no operator among the members.

        Args:
            members: QQ id → display name of the group's members (bots and admins included).
            admins: QQ ids that are not expected to bind.
        """
        ops = await self.all_operators()
        loose = [(qq, name) for qq, name in members.items() if qq not in ops and qq not in admins]
        covered = {ops[qq] for qq in members if qq in ops}
        orphan = [u for u in await self.roster.all() if u.id not in covered]
        return loose, orphan


def _may_decide(app: Application, scope: Scope) -> bool:
    """Whether the asker of `scope` decides this application: an existing unit of the scope (a new unit: the
    province)."""
    return scope.everything or (app.unit_id is not None and app.unit_id in scope)


def _check_decide(app: Application, scope: Scope | None) -> None:
    """Raises the refusal when a city admin decides an application outside their scope."""
    if scope is None or _may_decide(app, scope):
        return
    if app.unit_id is None:
        raise scope.refusal(f"{app.unit_name}（名册里还没有的新单位，由省级管理员审核）")
    raise scope.refusal(app.unit_name)
