"""Files set aside for an admin (a part of ReturnFiles, issue 20): what someone who may not act for any unit uploads.

How the promises hold:
- Only a unit's own operators and admins hand in for a unit (bot/units/authority.py). Anyone else's file is
  stored as 待确认 with no unit, is never counted and never replaces a file, whatever its name says.
- Each such upload is told to the admins privately, once (in the transaction that stores it, so it is neither
  lost nor repeated), never to the group. `/报送 待确认` lists them, `/报送 文件 <编号> <单位> #<文件编号>`
  takes one in, `/报送 丢弃 <文件编号…>` removes it; both are audited with who decided.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import clock
from bot.audit import audit
from bot.config import Settings
from bot.db import Database
from bot.errors import UserError
from bot.outbox.service import Outbox
from bot.render import Msg, person_label
from bot.returns.files import store
from bot.returns.files.attribution import unit_in_name
from bot.returns.files.read import SCAN_KINDS
from bot.returns.files.records import Upload
from bot.returns.records import Return
from bot.units.records import Unit
from bot.units.service import Units

MAX_PENDING_LISTED = 50


def _take_hint(rid: int | None, unit: Unit | None, fid: int) -> str:
    return f"/报送 文件 {rid if rid else '<报送编号>'} {unit.name if unit else '<单位>'} #{fid}"


class PendingFiles:
    """Files set aside for an admin (a part of ReturnFiles): keeping, listing, dropping them."""

    def __init__(
        self,
        db: Database,
        units: Units,
        settings: Settings,
        files: store.FileStore,
        outbox: Outbox,
        file_returns: Callable[[], Awaitable[list[Return]]],
    ) -> None:
        self.db = db
        self.units = units
        self.settings = settings
        self.files = files
        self.outbox = outbox
        self.file_returns = file_returns  # ReturnFiles.file_returns: the open returns that ask for files

    async def set_aside(self, up: Upload, data: bytes, real: str, hint: Unit | None, ret: Return | None) -> Msg:
        """Keep a file from someone who may act for no unit as 待确认 (no unit), tell the admins privately once,
        and answer the uploader."""
        kind = store.SCAN if real in SCAN_KINDS else store.FORM
        ext = Path(up.name).suffix.lower()
        _, name = await store.in_thread(self.files, lambda: (None, self.files.write(data, ext)))
        assert name is not None
        try:
            async with self.db.tx() as tx:
                fid = await store.insert(
                    tx, up, name, data, return_id=ret.id if ret else None, unit_id=None, kind=kind, state=store.PENDING
                )
                looks = f"（文件名像是{hint.name}的）" if hint else ""
                text = (
                    f"【待确认文件 #{fid}】“{up.name}”：上传人 {person_label(up.user_name, up.user_id)}没有绑定单位"
                    f"{looks}，没有计入报送。收下：{_take_hint(ret.id if ret else None, hint, fid)}；"
                    f"丢弃：/报送 丢弃 {fid}；全部：/报送 待确认"
                )
                for admin in sorted(self.settings.admins):
                    await self.outbox.put(tx, "private", admin, Msg(text))
                await audit(tx, up.user_id, "待确认文件", f"#{fid} {up.name}", hint.id if hint else None)
        except BaseException:
            self.files.remove(name)
            raise
        if hint is not None:
            return Msg(
                f"收到“{up.name}”。只有{hint.name}的联络员和管理员可以替它交文件：这个文件先交管理员确认，不计入报送。"
                f"你如是该单位的联络员，请先发 /注册 {hint.name} 申请绑定。"
            )
        return Msg(
            f"收到“{up.name}”。你还没有绑定单位：这个文件先交管理员确认，不计入报送。"
            "联络员请先发 /注册 <单位名称> 申请绑定，如：/注册 郑州大学。"
        )

    async def pending_files(self) -> list[store.FileRecord]:
        """Files waiting for an admin's decision (uploaded by anyone but an admin), oldest first."""
        async with self.db.read() as tx:
            files = await store.pending(tx)
        return [f for f in files if f.uploaded_by not in self.settings.admins]

    async def _hint(self, rec: store.FileRecord) -> Unit | None:
        if rec.unit_id is not None:
            return await self.units.get(rec.unit_id)
        return (await unit_in_name(self.units, rec.original_name))[0]

    async def pending_listing(self) -> Msg:
        """`/报送 待确认`: each waiting file with who sent it, what its name suggests, and the command to take it in."""
        files = await self.pending_files()
        if not files:
            return Msg("没有待确认的文件。")
        rets = await self.file_returns()
        only = rets[0].id if len(rets) == 1 else None
        out = Msg(f"待确认的文件（{len(files)}）：")
        for f in files[:MAX_PENDING_LISTED]:
            hint = await self._hint(f)
            looks = f"，文件名像是{hint.name}的" if hint and f.unit_id is None else (f"，{hint.name}" if hint else "")
            who = person_label(f.uploaded_by_name, f.uploaded_by)
            take = _take_hint(f.return_id or only, hint, f.id)
            out.line(f"#{f.id}“{f.original_name}”{who} {clock.show(f.uploaded_at)}{looks} → {take}")
        if len(files) > MAX_PENDING_LISTED:
            out.line(f"另有 {len(files) - MAX_PENDING_LISTED} 个，先处理上面的。")
        out.line("收下：/报送 文件 <报送编号> <单位> #<文件编号>；丢弃：/报送 丢弃 <文件编号…>")
        return out

    async def others_pending_for(self, unit: Unit) -> list[store.FileRecord]:
        """Waiting files of others whose unit (or file name) is `unit`: what an admin's `/报送 文件 N 单位` means
        when the admin has no file of their own waiting."""
        out = []
        for f in await self.pending_files():
            hint = await self._hint(f)
            if hint is not None and hint.id == unit.id:
                out.append(f)
        return out

    async def drop(self, file_ids: list[int], *, actor: str) -> Msg:
        """`/报送 丢弃 <文件编号…>`: remove waiting files (record and bytes), audited.

        Raises:
            UserError: a number is no waiting file (nothing is removed then).
        """
        if not file_ids:
            raise UserError("用法：/报送 丢弃 <文件编号…>，如：/报送 丢弃 12。发 /报送 待确认 查看文件编号。")
        async with self.db.tx() as tx:
            recs = []
            for fid in dict.fromkeys(file_ids):
                rec = await store.get(tx, fid)
                if rec is None or rec.state != store.PENDING or rec.kind not in (store.FORM, store.SCAN):
                    raise UserError(f"文件 #{fid} 不是待确认的文件，不能丢弃。发 /报送 待确认 查看待确认的文件。")
                recs.append(rec)
            for rec in recs:
                await store.delete(tx, rec.id)
                who = person_label(rec.uploaded_by_name, rec.uploaded_by)
                await audit(tx, actor, "丢弃待确认文件", f"#{rec.id} {rec.original_name} 上传人 {who}")
        for rec in recs:
            await asyncio.to_thread(self.files.remove, rec.stored_name)
        return Msg(f"已丢弃 {len(recs)} 个待确认文件：" + "、".join(f"#{r.id}“{r.original_name}”" for r in recs) + "。")
