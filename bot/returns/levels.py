"""Returns collected by level (issue 24.3, SPEC §13: 地级以上市教育局负责统计管辖范围内的教育单位并汇总报省厅).

`/报送 新建 … 逐级汇总` makes a return whose units under a city (the subtree of a 市教育局, `Units.city_of`) hand in
to that city; units outside every city's subtree (universities, 省直单位) hand in to the province as before.

How the promises hold:
- A unit's file is checked when it arrives, as for any return (bot/returns/files/service.py); the city admin sees
  their units' states, takes a file with problems as it is (`/报送 接受`) or sends a file back (`退回`: the unit's
  good files become 需修改 with the reason, the unit counts as not handed in, its operators are told privately).
- `上报` hands one merged workbook of the city's handed-in units up (the merged-workbook code, limited to the city's
  subtree), recording who signed it off, when, and which of the units' files it holds (table return_handups). It is
  refused while a unit of the city is 需修改, and while some have handed in nothing unless the admin confirms.
- The province does not count a city's units one by one: its progress shows each city as 已上报 (signed off by
  whom), 汇总中 (x/y units in) or 未开始, and its merged workbook holds the files each city signed off (what was
  handed in after a sign-off waits for the city's next 上报), plus the direct units' own, with who signed each row off.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime

from bot import clock
from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import UserError
from bot.outbox.service import Outbox
from bot.readouts.exports import Export
from bot.readouts.workbooks import Part, Rows, Workbooks
from bot.render import Msg, person_name
from bot.returns.files import store
from bot.returns.files.layouts import Layout
from bot.returns.files.service import ReturnFiles
from bot.returns.records import NEEDS_FIX, Return, Submission
from bot.returns.service import Returns
from bot.roles import CITY_BUREAU, Scope
from bot.tasks import Progress
from bot.units.records import Unit
from bot.units.service import Units

HANDED_UP, COLLECTING, NOT_STARTED = "已上报", "汇总中", "未开始"
MAX_REASON = 200


@dataclass(frozen=True)
class Handup:
    """A city's sign-off: who handed its merged file up, when, and what it holds."""

    city_id: int
    by: str
    by_name: str
    at: datetime
    units_in: int
    units_total: int
    rows: int
    stored_name: str
    file_ids: tuple[int, ...]

    @property
    def who(self) -> str:
        return person_name(self.by_name, self.by)

    def signed(self, city: Unit) -> str:
        """`郑州市教育局 张三 10月25日 10:00`: the 上报签收 cell of the province's merged workbook."""
        return f"{city.name} {self.who} {clock.show(self.at)}"


@dataclass
class City:
    """Where one city stands in a return collected by level."""

    bureau: Unit
    units: list[Unit]
    done: set[int]
    fixing: set[int]
    started: set[int]
    """Units that handed in any file (good or not) or were marked in."""
    handup: Handup | None = None

    @property
    def state(self) -> str:
        if self.handup is not None:
            return HANDED_UP
        return COLLECTING if self.started else NOT_STARTED

    @property
    def missing(self) -> list[Unit]:
        return [u for u in self.units if u.id not in self.done and u.id not in self.fixing]


@dataclass
class Levels:
    """A return collected by level as the province sees it: each city, and the units directly under the province."""

    ret: Return
    progress: Progress[Return, Submission]
    cities: list[City]
    direct: list[Unit]
    done: set[int] = field(default_factory=set)

    def city(self, bureau_id: int) -> City | None:
        return next((c for c in self.cities if c.bureau.id == bureau_id), None)

    @property
    def direct_done(self) -> list[Submission]:
        ids = {u.id for u in self.direct}
        return [s for s in self.progress.done if s.unit.id in ids]

    @property
    def direct_pending(self) -> list[Unit]:
        return [u for u in self.direct if u.id not in self.done]


class ReturnLevels:
    """Returns collected by level: the cities' checks and sign-offs (table return_handups, owned here)."""

    def __init__(
        self,
        db: Database,
        units: Units,
        returns: Returns,
        files: ReturnFiles,
        outbox: Outbox,
        settings: Settings,
        workbooks: Workbooks,
    ) -> None:
        self.db = db
        self.units = units
        self.returns = returns
        self.files = files
        self.outbox = outbox
        self.settings = settings
        self.workbooks = workbooks  # the merged workbooks a city hands up and the province's

    # ------------------------------------------------------------ reading

    async def _cities_of(self, unit_ids: list[int]) -> dict[int, int | None]:
        """unit id → the 市教育局 it hands in to (the unit itself when it is one; None: the province)."""
        tree = await self.units.tree()
        units = {u.id: u for u in await self.units.all()}
        out: dict[int, int | None] = {}
        for uid in unit_ids:
            out[uid] = next(
                (x for x in (uid, *tree.ancestors(uid)) if x in units and units[x].category == CITY_BUREAU), None
            )
        return out

    async def levels(self, return_id: int) -> Levels:
        """Where every city and every direct unit of a return stands."""
        p = await self.returns.progress(return_id)
        ret = p.task
        everyone = [s.unit for s in p.done] + list(p.pending)
        city_of = await self._cities_of([u.id for u in everyone])
        async with self.db.read() as tx:
            started = {
                r["unit_id"]
                for r in await tx.all(
                    "SELECT DISTINCT unit_id FROM return_files WHERE return_id=? AND unit_id IS NOT NULL "
                    "AND state<>? AND kind<>?",
                    (ret.id, store.PENDING, store.TEMPLATE),
                )
            }
            handups = await _handups(tx, ret.id)
        done = {s.unit.id for s in p.done}
        bureaus = {u.id: u for u in await self.units.by_ids({c for c in city_of.values() if c is not None})}
        cities: dict[int, City] = {}
        direct: list[Unit] = []
        for u in everyone:
            c = city_of.get(u.id)
            if c is None or c not in bureaus:
                direct.append(u)
                continue
            city = cities.setdefault(c, City(bureaus[c], [], set(), set(), set(), handups.get(c)))
            city.units.append(u)
            if u.id in done:
                city.done.add(u.id)
                city.started.add(u.id)
            elif u.id in p.fixing:
                city.fixing.add(u.id)
            if u.id in started:
                city.started.add(u.id)
        ordered = sorted(cities.values(), key=lambda c: c.bureau.id)
        return Levels(ret, p, ordered, direct, done)

    async def _by_level(self, return_id: int) -> Return:
        ret = await self.returns.get(return_id)
        if not ret.by_level:
            raise UserError(
                f"报送 {ret.label} 不是逐级汇总的报送：各单位直接交给省里，不用上报。进度请看 /报送 进度 {ret.id}"
            )
        return ret

    async def city_in_scope(self, lv: Levels, scope: Scope, text: str = "") -> City:
        """The city an admin hands up for: the one named (inside their scope), else the only one in their scope.

        Raises:
            UserError: the named unit is no city of the return or outside the scope, or none or several to choose.
        """
        if text:
            unit = await self.units.resolve_area(text)
            city = lv.city(unit.id)
            if city is None:
                raise UserError(f"“{unit.name}”不是报送 {lv.ret.label} 里收文件的市教育局。")
            if unit not in scope:
                raise UserError(f"“{unit.name}”不在你的管理范围（{scope.label}）内。")
            return city
        mine = [c for c in lv.cities if c.bureau in scope]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise UserError(
                f"你的管理范围（{scope.label}）里没有收报送 {lv.ret.label} 的市教育局，不用上报；"
                "上报由市教育局的管理员发。"
            )
        names = "、".join(c.bureau.name for c in mine[:10])
        raise UserError(f"请写出哪个市：{names}。如：/报送 上报 {lv.ret.id} {mine[0].bureau.name}")

    # ------------------------------------------------------------ handing up

    async def hand_up(
        self, return_id: int, *, actor: str, actor_name: str, scope: Scope, city_text: str = "", confirm: bool = False
    ) -> tuple[Msg, Export]:
        """`/报送 上报 N [城市] [确认]`: the city's merged workbook handed up as its submission (see the module).

        Raises:
            UserError: not a return by level, no city in scope, a unit still 需修改, units missing (unless
                `confirm`), or nothing handed in at all.
        """
        ret = await self._by_level(return_id)
        if not ret.open:
            raise UserError(f"报送 {ret.label} 已结束，不再上报。如需补报，请联系省里的管理员。")
        lv = await self.levels(ret.id)
        city = await self.city_in_scope(lv, scope, city_text)
        fixing = [u for u in city.units if u.id in city.fixing]
        if fixing:
            names = "、".join(u.name for u in fixing[:10]) + ("等" if len(fixing) > 10 else "")
            raise UserError(
                f"{city.bureau.name}还有 {len(fixing)} 个单位的文件需修改：{names}。"
                f"请等他们改好重新上传，或发 /报送 接受 {ret.id} <单位> 接受现有文件，再上报。"
            )
        if not city.done:
            raise UserError(f"{city.bureau.name}的单位还没有交齐任何文件，没有可上报的内容。进度：/报送 进度 {ret.id}")
        missing = city.missing
        if missing and not confirm:
            names = "、".join(u.name for u in missing[:10]) + ("等" if len(missing) > 10 else "")
            raise UserError(
                f"{city.bureau.name}还有 {len(missing)} 个单位没交：{names}。"
                f"要先上报已交的 {len(city.done)} 个单位，请发 /报送 上报 {ret.id} 确认"
            )
        layouts = await self.files.layouts_of(ret)
        picked: list[int] = []
        ids = frozenset(u.id for u in city.units)
        stamp = clock.now()
        signed = {uid: f"{city.bureau.name} {person_name(actor_name, actor)} {clock.show(stamp)}" for uid in ids}

        async def rows(tx: Tx, form: str) -> Rows:
            found = [(f, r) for f, r in await store.merged_rows(tx, ret.id, form) if f.unit_id in city.done]
            picked.extend(f.id for f, _ in found)
            return found

        part = Part(rows, units=ids, signed=signed, name=city.bureau.name)
        made = await self.workbooks.merged(ret, layouts, part)
        data = await asyncio.to_thread(made.path.read_bytes)
        _, stored = await store.in_thread(self.files.files, lambda: (None, self.files.files.write(data, ".xlsx")))
        assert stored is not None
        try:
            async with self.db.tx() as tx:
                await tx.run(
                    "INSERT OR REPLACE INTO return_handups (return_id, city_id, signed_by, signed_by_name, signed_at, "
                    "units_in, units_total, rows, stored_name, file_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ret.id,
                        city.bureau.id,
                        actor,
                        actor_name,
                        clock.to_db(stamp),
                        len(city.done),
                        len(city.units),
                        made.rows,
                        stored,
                        json.dumps(sorted(set(picked))),
                    ),
                )
                again = "（重新上报，替换上一次）" if city.handup is not None else ""
                await audit(
                    tx,
                    actor,
                    "报送上报",
                    f"{ret.label} {city.bureau.name} {len(city.done)}/{len(city.units)} 个单位 {made.rows} 行{again}",
                    city.bureau.id,
                )
                told = Msg(f"【逐级汇总】{city.bureau.name} {person_name(actor_name, actor)} 已上报 {ret.label}：")
                told.text(f"{len(city.done)}/{len(city.units)} 个单位，{made.rows} 行{again}。")
                told.line(f"全省进度：/报送 进度 {ret.id}；汇总：/报送 汇总 {ret.id}")
                for admin in sorted(self.settings.admins):
                    if admin != actor:
                        await self.outbox.put(tx, "private", admin, told)
        except BaseException:
            self.files.files.remove(stored)
            raise
        if city.handup is not None:
            self.files.files.remove(city.handup.stored_name)
        more = "等" if len(missing) > 5 else ""
        short = f"，其中 {len(missing)} 个单位没交：{'、'.join(u.name for u in missing[:5])}{more}" if missing else ""
        out = Msg(
            f"已上报：{city.bureau.name}汇总的报送 {ret.label}（{len(city.done)}/{len(city.units)} 个单位，"
            f"{made.rows} 行{short}），签收人 {person_name(actor_name, actor)}，{clock.show(stamp)}。"
        )
        if city.handup is not None:
            out.text("已替换上一次上报的文件。")
        return out, made

    # ------------------------------------------------------------ sending back

    async def send_back(
        self, return_id: int, unit_text: str, reason: str, *, actor: str, actor_name: str, scope: Scope
    ) -> Msg:
        """`/报送 退回 N <单位> [原因]`: the unit's files become 需修改 with the reason, the unit no longer counts as
        handed in, its operators are told privately; a sign-off of its city that held them is withdrawn.

        Raises:
            UserError: the unit is outside the scope or the return, or handed in nothing to send back.
        """
        ret = await self.returns.get(return_id)
        if not ret.wants_files:
            raise UserError(f"报送 {ret.label} 不收文件，没有可退回的。")
        unit = await self.units.resolve(unit_text, strict=True)
        if unit not in scope:
            raise UserError(f"“{unit.name}”不在你的管理范围（{scope.label}）内，不能退回。")
        reason = " ".join(reason.split())[:MAX_REASON]
        why = reason or "上级单位审核后退回，请核对修改"
        operators = await self.units.registrations.operators(unit.id)
        city_id = (await self._cities_of([unit.id]))[unit.id] if ret.by_level else None
        async with self.db.tx() as tx:
            row = await tx.one(
                "SELECT submitted_at, file_state FROM return_units WHERE return_id=? AND unit_id=?", (ret.id, unit.id)
            )
            if row is None:
                raise UserError(f"“{unit.name}”不在报送 {ret.label} 的范围（{ret.scope}）内。")
            good = await tx.all(
                "SELECT id, original_name FROM return_files WHERE return_id=? AND unit_id=? AND kind=? "
                "AND state IN (?, ?) ORDER BY id",
                (ret.id, unit.id, store.FORM, *store.GOOD),
            )
            if not good and not row["submitted_at"] and row["file_state"] != NEEDS_FIX:
                raise UserError(f"“{unit.name}”还没有交文件，没有可退回的。催办请发 /报送 催办 {ret.id}")
            problem = json.dumps([[0, "退回", "", why]], ensure_ascii=False)
            for f in good:
                await tx.run(
                    "UPDATE return_files SET state=?, problems=?, decided_by=? WHERE id=?",
                    (store.NEEDS_FIX, problem, actor, f["id"]),
                )
            await tx.run(
                "UPDATE return_units SET submitted_at=NULL, submitted_by=NULL, submitted_by_name='', via=NULL, "
                "note='', late=0, file_state=? WHERE return_id=? AND unit_id=?",
                (NEEDS_FIX, ret.id, unit.id),
            )
            withdrawn = False
            if city_id is not None:
                withdrawn = (await _handups(tx, ret.id)).get(city_id) is not None
                await tx.run("DELETE FROM return_handups WHERE return_id=? AND city_id=?", (ret.id, city_id))
            await audit(tx, actor, "报送退回", f"{ret.label} {unit.name}：{why}", unit.id)
            names = "、".join(f"“{f['original_name']}”" for f in good) or "文件"
            tell = Msg(f"【报送退回】{ret.label}：{unit.name}交的{names}被退回，需修改。")
            tell.line(f"原因：{why}")
            tell.line(f"改好后把文件重新上传到群文件或私聊发给机器人即可。发 /报送 表格 {ret.id} 可重新领取表格。")
            for op in operators:
                await self.outbox.put(tx, "private", op.user_id, tell)
        out = Msg(f"已退回“{unit.name}”的{names}（需修改：{why}）。")
        out.text(f"已私聊告诉 {len(operators)} 位联络员。" if operators else "这个单位没有联络员，请另行通知。")
        if withdrawn:
            out.line(f"本市此前的上报已撤回：改好并审核后请重新发 /报送 上报 {ret.id}")
        return out

    # ------------------------------------------------------------ the province's merge

    async def province_merge(self, ret: Return, layouts: list[Layout]) -> Export:
        """The province's merged workbook of a return by level: each city's signed-off files and the direct units'
        own, with a column 上报签收 saying who signed each row off; cities not handed up are listed as missing."""
        lv = await self.levels(ret.id)
        async with self.db.read() as tx:
            handups = await _handups(tx, ret.id)
        snap = {fid for h in handups.values() for fid in h.file_ids}
        signed: dict[int, str] = {}
        for c in lv.cities:
            if c.handup is not None:
                for u in c.units:
                    signed[u.id] = c.handup.signed(c.bureau)
        direct = {u.id for u in lv.direct}

        async def rows(tx: Tx, form: str) -> Rows:
            own = [(f, r) for f, r in await store.merged_rows(tx, ret.id, form) if f.unit_id in direct]
            return sorted([*own, *await store.rows_of_files(tx, snap, form)], key=lambda fr: fr[0].unit_id or 0)

        waiting = [
            (c.bureau, f"{c.state}（{len(c.done)}/{len(c.units)} 个单位已交）") for c in lv.cities if c.handup is None
        ]
        part = Part(rows, units=direct, also_missing=waiting, signed=signed)
        return await self.workbooks.merged(ret, layouts, part)


async def _handups(tx: Tx, return_id: int) -> dict[int, Handup]:
    rows = await tx.all("SELECT * FROM return_handups WHERE return_id=?", (return_id,))
    return {
        r["city_id"]: Handup(
            r["city_id"],
            r["signed_by"],
            r["signed_by_name"],
            clock.from_db(r["signed_at"]),
            r["units_in"],
            r["units_total"],
            r["rows"],
            r["stored_name"],
            tuple(json.loads(r["file_ids"])),
        )
        for r in rows
    }
