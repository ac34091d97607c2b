"""Handing in a return as a file: attribution, download, checking at once, and the answer (issue 16).

How the promises hold:
- Only a unit's own operators and admins hand in for it (bot/units/authority.py, the one rule). An operator's
  file is their own unit's; an admin's is the unit named in the file name. Anyone else's file is set aside as
  待确认 for an admin (bot/returns/files/pending.py): never counted, never replacing a file, whatever its name.
- A file is attributed to that unit and to the open return asking for files that the unit owes. When either is
  unclear the file is kept as 待确认, nothing is counted, and the uploader is asked (`/报送 文件 <编号> [单位]`).
- A file that replaces another leaves the earlier one stored (已替换, downloadable by the office) and writes
  who replaced what to the audit log.
- It is checked when it arrives and its rows are stored then (return_rows), so a merge never rereads files.
  A form with problems is kept as 需修改 and counts as submitted only when a good one arrives or an admin
  accepts it (`/报送 接受`). A PDF or image is kept as the 盖章扫描件.
- The bytes are written under the data folder before the record, the record and the submission in one
  transaction; a failure removes the bytes again. A file the client re-announces (a notice and a message
  for the same upload) is handled once, by its file id.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import UserError
from bot.names import check_qq
from bot.recent import RecentSet
from bot.render import Msg
from bot.returns.files import forms, match, store
from bot.returns.files.attribution import Attribution, ask_which, keep_pending, owed_by, unit_in_name
from bot.returns.files.check import check_rows
from bot.returns.files.fetch import FetchFailed, too_big
from bot.returns.files.layouts import OFFICIAL, TEMPLATE, Layout, template_layout
from bot.returns.files.pending import PendingFiles
from bot.returns.files.read import (
    PDF,
    SCAN_KINDS,
    SHEET_KINDS,
    FileRefused,
    check_kind,
    ext_kind,
    read_table,
    template_headers,
)
from bot.returns.files.records import MAX_LISTED, Fetch, Upload, Verdict
from bot.returns.records import BY_ADMIN, BY_SELF, NEEDS_FIX, Return, return_row
from bot.returns.service import Returns
from bot.returns.text import form_label
from bot.units.authority import Authority
from bot.units.records import Unit
from bot.units.service import Units

"""The plugin's way to the bytes through the QQ client, given the cap in bytes."""


class ReturnFiles:
    """Files handed in for returns; the rows of checked forms. Its parts: `pending` (files set aside for an admin)
    and `attribution` (`/报送 文件`: a waiting file taken in for a return and a unit)."""

    def __init__(self, db: Database, units: Units, returns: Returns, settings: Settings) -> None:
        self.db = db
        self.units = units
        self.returns = returns
        self.settings = settings
        self.authority = Authority(units, settings.admins)
        self.files = store.FileStore((settings.data_dir / "return_files").resolve())
        # file ids being or just taken, so the notice and the message of one upload count once; the latest few
        # thousand only: what was stored is found by store.has_source
        self._seen = RecentSet(4096)
        self._http: httpx.AsyncClient | None = None
        self.pending = PendingFiles(db, units, settings, self.files, returns.outbox, self.file_returns)
        self.attribution = Attribution(
            db,
            units,
            returns,
            self.authority,
            self.files,
            take=self.take,
            others_pending_for=self.pending.others_pending_for,
        )

    def http(self) -> httpx.AsyncClient:
        """One HTTP client for every download (making one per file costs more than the download)."""
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(timeout=self.settings.alliance_file_timeout, follow_redirects=True)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def cap(self) -> int:
        return int(self.settings.alliance_file_max_mb * 1024 * 1024)

    # ------------------------------------------------------------ reading

    async def file_returns(self) -> list[Return]:
        """Open returns that ask for files, by deadline."""
        async with self.db.read() as tx:
            return await _file_returns(tx)

    async def files_of(self, return_id: int) -> list[store.FileRecord]:
        async with self.db.read() as tx:
            return await store.of_return(tx, return_id)

    async def file(self, file_id: int) -> tuple[store.FileRecord, Path] | None:
        async with self.db.read() as tx:
            rec = await store.get(tx, file_id)
        return (rec, self.files.path(rec.stored_name)) if rec else None

    async def layouts_of(self, ret: Return) -> list[Layout]:
        """The layouts of a return's forms, in its order (a template form still waiting for its template left out)."""
        out = []
        for form in ret.forms:
            if form in OFFICIAL:
                out.append(OFFICIAL[form])
            elif form == TEMPLATE and ret.template_file:
                async with self.db.read() as tx:
                    rec = await store.get(tx, ret.template_file)
                if rec is not None and rec.headers:
                    out.append(template_layout(rec.headers))
        return out

    # ------------------------------------------------------------ receiving

    def wanted(self, name: str) -> bool:
        """Whether a file of this name could be a return's file at all (spreadsheet, PDF, image)."""
        return ext_kind(name) is not None

    async def receive(self, up: Upload, fetch: Fetch, *, is_admin: bool) -> Msg | None:
        """Take a file someone uploaded: None when it is none of ours (no return asks for files, a re-announced
        file, a kind we do not read), else the one short answer for the uploader."""
        claimed = ext_kind(up.name)
        if claimed is None or (up.file_id and up.file_id in self._seen):
            return None
        check_qq(up.user_id)  # an impossible id (-5, 10**15) is refused before anything is stored
        if up.file_id:
            self._seen.add(up.file_id)  # at once: the notice and the message of one upload arrive together
        async with self.db.read() as tx:
            rets = await _file_returns(tx)
            if not rets and not is_admin:
                return None
            if up.file_id and await store.has_source(tx, up.file_id):
                return None
        actor = await self.authority.actor(up.user_id, admin=is_admin)
        unit: Unit | None = None if actor.admin else actor.unit  # an operator hands in for their own unit only
        unit_problem = ""
        if unit is None:  # an admin, or someone who may act for no unit: the name says which unit it looks like
            unit, unit_problem = await unit_in_name(self.units, up.name)
            if unit is None and actor.unit is not None:
                unit, unit_problem = actor.unit, ""
        stranger = not actor.admin and actor.unit is None
        if not rets:  # an admin's spreadsheet with no return asking for files: kept quietly, maybe a template
            if claimed not in SHEET_KINDS:
                return None
            unit, unit_problem = None, "silent"
        if up.size is not None and up.size > self.cap:
            return Msg(str(too_big(up.size, self.cap)))
        try:
            data = await fetch(self.cap)
            if len(data) > self.cap:
                raise too_big(len(data), self.cap)
            real = check_kind(data, up.name)
        except (FetchFailed, FileRefused) as e:
            if up.file_id:
                self._seen.discard(up.file_id)
            return None if unit_problem == "silent" else Msg(str(e))
        scan = real in SCAN_KINDS
        candidates = [r for r in rets if (r.wants_scan if scan else bool(r.forms))]
        if unit is not None:
            candidates = await owed_by(self.db, unit, candidates)
        if len(candidates) > 1 and not scan:
            candidates = await self._fitting(candidates, data, real) or candidates
        ret = candidates[0] if len(candidates) == 1 else None
        if stranger:  # kept aside for an admin, never counted: the file name is only a hint
            return await self.pending.set_aside(up, data, real, unit, ret)
        assert unit is None or actor.may_act_for(unit)
        if unit is None or ret is None:
            await keep_pending(self.db, self.files, up, data, real, unit, ret)
            if unit_problem == "silent":
                return None
            return ask_which(up, unit, unit_problem, candidates, rets, is_admin, scan)
        return await self.take(up, data, real, ret, unit, is_admin=is_admin)

    async def _fitting(self, rets: list[Return], data: bytes, real: str) -> list[Return]:
        """Of several returns asking for forms, those with a form whose header the spreadsheet has."""
        layouts = {r.id: await self.layouts_of(r) for r in rets}

        def work() -> tuple[list[Return], None]:
            fits = []
            for r in rets:
                try:
                    found = match.fit(data, real, layouts[r.id], strict=True)
                except FileRefused:
                    return [], None
                if found is not None:
                    fits.append(r)
            return fits, None

        return (await store.in_thread(self.files, work))[0]

    async def _verdict(
        self, data: bytes, real: str, layouts: list[Layout], ext: str | None
    ) -> tuple[Verdict, str | None]:
        """The form checked (as the one of `layouts` its header fits) and, when `ext` is given, its bytes stored
        (under the name returned), in one trip to a worker thread: reading, checking and writing a file never hold
        up the event loop."""

        def work() -> Verdict:
            found = match.fit(data, real, layouts)
            if found is None:
                why = f"表头和要交的表格都对不上。本报送要交：{match.expected(layouts)}"
                return Verdict([], [[0, "表头", "", why]], [why], "行")
            layout, table, header = found
            if header.missing:
                missing = "、".join(header.missing)
                why = f"表头里没有找到：{missing}（应按{layout.name}的格式，表头写 {'、'.join(layout.needed)} 等）"
                return Verdict([], [[0, "表头", "", why]], [why], layout.what, layout.name)
            checked = check_rows(table.rows, header, layout)
            if not checked.rows:
                why = "表头下面没有填写任何数据"
                return Verdict([], [[0, "数据", "", why]], [why], layout.what, layout.name)
            return Verdict(
                checked.rows,
                [p.as_json() for p in checked.problems],
                [p.describe() for p in checked.problems],
                layout.what,
                layout.name,
            )

        def work_and_store() -> tuple[Verdict, str | None]:
            verdict = work()
            return verdict, (self.files.write(data, ext) if ext is not None else None)

        return await store.in_thread(self.files, work_and_store)

    async def take(
        self,
        up: Upload,
        data: bytes,
        real: str,
        ret: Return,
        unit: Unit,
        *,
        is_admin: bool,
        pending_id: int | None = None,
        stored_name: str | None = None,
    ) -> Msg:
        """Check and store a file attributed to (ret, unit); mark the unit submitted when it is good."""
        via = BY_ADMIN if is_admin else BY_SELF
        ext = Path(up.name).suffix.lower()
        name = stored_name
        if real in SCAN_KINDS:
            kind, state, verdict = store.SCAN, store.KEPT, None
            if name is None:
                _, name = await store.in_thread(self.files, lambda: (None, self.files.write(data, ext)))
        else:
            layouts = await self.layouts_of(ret)
            if not layouts:
                if pending_id is None:
                    await keep_pending(self.db, self.files, up, data, real, unit, ret)
                return Msg(
                    f"收到 {unit.name} 的“{up.name}”，但报送 {ret.label} 还没有模板，先不记报送。"
                    f"请管理员先上传模板并发 /报送 模板 {ret.id}，之后再发 /报送 文件 {ret.id}"
                    + (f" {unit.name}" if is_admin else "")
                )
            try:
                verdict, written = await self._verdict(data, real, layouts, None if stored_name else ext)
            except FileRefused as e:
                return Msg(str(e))
            kind, state = store.FORM, (store.NEEDS_FIX if verdict.problems else store.PASSED)
            name = stored_name or written
        assert name is not None
        try:
            async with self.db.tx() as tx:
                if pending_id is not None:
                    await tx.run(
                        "UPDATE return_files SET return_id=?, unit_id=?, kind=?, state=?, rows=?, problems=? WHERE id=?",
                        (
                            ret.id,
                            unit.id,
                            kind,
                            state,
                            len(verdict.rows) if verdict else 0,
                            json.dumps(verdict.problems if verdict else [], ensure_ascii=False),
                            pending_id,
                        ),
                    )
                    if verdict and verdict.rows:
                        await store.put_rows(tx, pending_id, verdict.rows)
                    fid = pending_id
                else:
                    fid = await store.insert(
                        tx,
                        up,
                        name,
                        data,
                        return_id=ret.id,
                        unit_id=unit.id,
                        kind=kind,
                        state=state,
                        rows=verdict.rows if verdict else [],
                        problems=verdict.problems if verdict else [],
                    )
                answer = await self._record(tx, ret, unit, fid, kind, state, up, via, verdict, real)
        except BaseException:
            if stored_name is None:
                self.files.remove(name)
            raise
        return answer

    async def _record(
        self,
        tx: Tx,
        ret: Return,
        unit: Unit,
        fid: int,
        kind: str,
        state: str,
        up: Upload,
        via: str,
        verdict: Verdict | None,
        real: str,
    ) -> Msg:
        """Inside the file's transaction: replace older files, set the unit's file state, count it when good."""
        if kind == store.SCAN:
            await self._replace(tx, ret, unit, fid, up, store.SCAN, (store.KEPT,))
            what = "盖章扫描件（PDF）" if real == PDF else "盖章扫描件（图片）"
            await audit(tx, up.user_id, "报送文件", f"{ret.label} 扫描件 {up.name}", unit.id)
            if ret.forms:
                return Msg(f"收到 {unit.name} 的{what}，已保存。")
            sub = await self.returns.mark_in(tx, ret.id, unit, up.user_id, up.user_name, via, f"扫描件 {up.name}")
            late = "（已过截止时间，记为逾期）" if sub.submission.late else ""
            return Msg(f"收到 {unit.name} 的{what}，已记为已报送{late}。进度：{sub.done}/{sub.total}")
        assert verdict is not None
        await tx.run("UPDATE return_files SET form=? WHERE id=?", (verdict.form, fid))
        count = f"{len(verdict.rows)} {verdict.what}" if verdict.rows else "没有读到数据"
        form_name = "表格" if ret.forms == (TEMPLATE,) or not verdict.form else form_label(verdict.form)
        await audit(tx, up.user_id, "报送文件", f"{ret.label} {form_name} {up.name} {state}", unit.id)
        if state == store.NEEDS_FIX:
            await tx.run(
                "UPDATE return_units SET file_state=? WHERE return_id=? AND unit_id=? AND submitted_at IS NULL",
                (NEEDS_FIX, ret.id, unit.id),
            )
            if not verdict.form:
                return forms.fits_none(ret, unit, up, verdict)
            shown = "；".join(verdict.described[:MAX_LISTED])
            more = f"；另有 {len(verdict.described) - MAX_LISTED} 处" if len(verdict.described) > MAX_LISTED else ""
            n = len(verdict.described)
            return Msg(f"收到 {unit.name} 的{form_name}：{count}，有 {n} 处要改：{shown}{more}。改好后重新上传即可。")
        await self._replace(
            tx, ret, unit, fid, up, store.FORM, (store.PASSED, store.NEEDS_FIX, store.ACCEPTED), form=verdict.form
        )
        if owed := await forms.owed(tx, ret, unit):
            await forms.mark_partial(tx, ret, unit)
            return Msg(
                f"收到 {unit.name} 的{form_name}：{count}，已收好。还差：{'、'.join(map(form_label, owed))}，"
                "交齐后记为已报送。"
            )
        await tx.run(
            "UPDATE return_units SET file_state=? WHERE return_id=? AND unit_id=?", (store.PASSED, ret.id, unit.id)
        )
        sub = await self.returns.mark_in(tx, ret.id, unit, up.user_id, up.user_name, via, f"文件 {up.name}")
        if not sub.new:
            return Msg(f"收到 {unit.name} 的{form_name}：{count}，已替换之前交的文件。进度：{sub.done}/{sub.total}")
        late = "（已过截止时间，记为逾期）" if sub.submission.late else ""
        scan = "；还请上传首页盖章的扫描件（PDF）" if ret.wants_scan and not await self._has_scan(tx, ret, unit) else ""
        return Msg(f"收到 {unit.name} 的{form_name}：{count}，已记为已报送{late}{scan}。")

    async def _replace(
        self,
        tx: Tx,
        ret: Return,
        unit: Unit,
        fid: int,
        up: Upload,
        kind: str,
        states: tuple[str, ...],
        *,
        form: str | None = None,
    ) -> None:
        """Mark the unit's earlier files of this kind (of this `form`, when given: one of several forms replaces only
        its own) 已替换 (kept on disk, downloadable by the office) and write who replaced which to the audit log."""
        marks = ",".join("?" * len(states))
        only = " AND form=?" if form is not None else ""
        where = f"WHERE return_id=? AND unit_id=? AND kind=? AND state IN ({marks}){only} AND id<>?"
        args = (ret.id, unit.id, kind, *states, *((form,) if form is not None else ()), fid)
        old = await tx.all(f"SELECT id, original_name FROM return_files {where} ORDER BY id", args)
        if not old:
            return
        await tx.run(f"UPDATE return_files SET state=? {where}", (store.REPLACED, *args))
        replaced = "、".join(f"#{r['id']}“{r['original_name']}”" for r in old)
        await audit(
            tx, up.user_id, "报送文件替换", f"{ret.label} {unit.name}：#{fid}“{up.name}” 替换 {replaced}", unit.id
        )

    async def _has_scan(self, tx: Tx, ret: Return, unit: Unit) -> bool:
        return (
            await tx.one(
                "SELECT 1 FROM return_files WHERE return_id=? AND unit_id=? AND kind=? AND state=?",
                (ret.id, unit.id, store.SCAN, store.KEPT),
            )
            is not None
        )

    # ------------------------------------------------------------ answers to the questions

    async def attach_template(self, return_id: int, *, actor: str) -> Msg:
        """`/报送 模板 <编号>`: the admin's newest spreadsheet becomes the return's template."""
        async with self.db.read() as tx:
            rec = await store.latest_pending(tx, actor, (store.FORM,))
        if rec is None:
            raise UserError(
                "没有找到你上传的表格。请先把模板（.xlsx 或 .xls）上传到群文件或私聊发给机器人，"
                f"再发 /报送 模板 {return_id}"
            )
        ret = await self.returns.get(return_id)
        data = await asyncio.to_thread(self.files.path(rec.stored_name).read_bytes)
        real = check_kind(data, rec.original_name)
        if real not in SHEET_KINDS:
            raise UserError("模板应是表格（.xlsx、.xls 或 .csv）。")
        headers = await asyncio.to_thread(lambda: template_headers(read_table(data, real).rows))
        async with self.db.tx() as tx:
            await tx.run(
                "UPDATE return_files SET kind=?, state=?, return_id=?, headers=? WHERE id=?",
                (store.TEMPLATE, store.KEPT, return_id, json.dumps(headers, ensure_ascii=False), rec.id),
            )
            asked = ret.forms if TEMPLATE in ret.forms else (*ret.forms, TEMPLATE)
            await tx.run(
                "UPDATE returns SET forms=?, template_file=? WHERE id=?",
                (json.dumps(list(asked), ensure_ascii=False), rec.id, return_id),
            )
            await audit(tx, actor, "报送模板", f"{ret.label} {rec.original_name}")
        return Msg(
            f"已把“{rec.original_name}”设为报送 {ret.label}的模板，表头 {len(headers)} 列：{'、'.join(headers[:12])}"
            + ("…" if len(headers) > 12 else "")
            + f"。联络员可发 /报送 表格 {ret.id} 领取。"
        )

    async def accept(self, return_id: int, unit_name: str, *, actor: str, actor_name: str = "") -> Msg:
        """`/报送 接受 <编号> <单位>`: an admin takes the unit's latest 需修改 form as it is."""
        unit = await self.units.resolve(unit_name, strict=True)
        async with self.db.tx() as tx:
            ret = await self.returns.get_in(tx, return_id)
            recs = await forms.fixes(tx, ret, unit)
            if not recs:
                raise UserError(f"“{unit.name}”在报送 {ret.label} 没有需修改的文件。")
            for rec in recs:
                await tx.run(
                    "UPDATE return_files SET state=?, decided_by=? WHERE id=?", (store.ACCEPTED, actor, rec.id)
                )
            names = "、".join(f"“{r.original_name}”" for r in recs)
            rows, problems = sum(r.rows for r in recs), sum(len(r.problems) for r in recs)
            if owed := await forms.owed(tx, ret, unit):
                await forms.mark_partial(tx, ret, unit)
                return Msg(
                    f"已接受“{unit.name}”的{names}（{rows} 行，{problems} 处问题未改）。"
                    f"还差：{'、'.join(map(form_label, owed))}，交齐后记为已报送。"
                )
            rec = recs[0]
            await tx.run(
                "UPDATE return_units SET file_state=? WHERE return_id=? AND unit_id=?",
                (store.ACCEPTED, return_id, unit.id),
            )
            sub = await self.returns.mark_in(
                tx, return_id, unit, actor, actor_name, BY_ADMIN, f"接受 {rec.original_name}"
            )
        return Msg(
            f"已接受“{unit.name}”的{names}（{rows} 行，{problems} 处问题未改），记为已报送。进度：{sub.done}/{sub.total}"
        )


async def _file_returns(tx: Tx) -> list[Return]:
    rows = await tx.all(
        "SELECT * FROM returns WHERE state='进行中' AND (forms<>'[]' OR wants_scan=1) ORDER BY deadline, id"
    )
    return [return_row(r) for r in rows]
