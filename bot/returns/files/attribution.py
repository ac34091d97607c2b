"""Which unit a file is from (a part of ReturnFiles): the sender's unit, a unit named in the file name, or a question to the sender when it could be several."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import clock
from bot.audit import audit
from bot.db import Database
from bot.errors import NotFound, UserError
from bot.render import Msg, person_label
from bot.returns.files import store
from bot.returns.files.layouts import TEMPLATE
from bot.returns.files.read import (
    SCAN_KINDS,
    check_kind,
)
from bot.returns.files.records import Upload
from bot.returns.records import Return
from bot.returns.service import Returns
from bot.units.authority import Authority
from bot.units.records import Unit, normalize
from bot.units.service import Units

# (upload, bytes, real kind, return, unit, is_admin=, pending_id=, stored_name=) → the answer (ReturnFiles.take)
Take = Callable[..., Awaitable[Msg]]


async def owed_by(db: Database, unit: Unit, rets: list[Return]) -> list[Return]:
    """The returns of `rets` that `unit` owes."""
    if not rets:
        return []
    async with db.read() as tx:
        owed = {
            r[0]
            for r in await tx.all(
                f"SELECT return_id FROM return_units WHERE unit_id=? AND return_id IN ({','.join('?' * len(rets))})",
                (unit.id, *(r.id for r in rets)),
            )
        }
    return [r for r in rets if r.id in owed]


async def unit_in_name(units: Units, name: str) -> tuple[Unit | None, str]:
    """The unit a file name names (`20261030郑州大学新媒体统计.xls`): the longest unit name or alias in it."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
    text = normalize(re.sub(r"[\d_\-\s+（）()【】\[\]]+", "", stem))
    if not text:
        return None, "文件名里没有单位名称"
    best: dict[int, int] = {}
    for u in await units.all():
        for n in (u.name, *u.aliases):
            k = normalize(n)
            if len(k) >= 2 and k in text:
                best[u.id] = max(best.get(u.id, 0), len(k))
    if not best:
        return None, "文件名里没有认出单位名称"
    top = max(best.values())
    ids = [uid for uid, n in best.items() if n == top]
    # a name inside another's (郑州大学 in 郑州大学附属中学) yields to the longer one
    if len(ids) == 1:
        return await units.get(ids[0]), ""
    names = [u.name for u in await units.by_ids(ids)]
    return None, f"文件名可能指：{'、'.join(names[:5])}"


def ask_which(
    up: Upload,
    unit: Unit | None,
    why: str,
    candidates: list[Return],
    rets: list[Return],
    is_admin: bool,
    scan: bool,
) -> Msg:
    """What the uploader is asked when it is not clear which unit or which return a file is for."""
    what = "扫描件" if scan else "表格"
    if unit is None:
        example = rets[0].id if len(rets) == 1 else "<编号>"
        out = Msg(f"收到{what}“{up.name}”，但看不出是哪个单位的（{why}），先不记报送。")
        out.line(f"请发 /报送 文件 {example} <单位名称> 说明，如：/报送 文件 {rets[0].id} 郑州大学。")
        out.line("以后文件名写上单位名称（如 20261030郑州大学新媒体统计.xlsx）就能自动认出。")
        if is_admin and not scan and any(TEMPLATE in r.forms for r in rets):
            t = next(r for r in rets if TEMPLATE in r.forms)
            out.line(f"如果这是报送 {t.label}的模板，请发 /报送 模板 {t.id}")
        return out
    if not candidates:
        if scan:
            return Msg(f"收到 {unit.name} 的“{up.name}”，但现在没有需要交扫描件的报送，先不记报送。")
        return Msg(
            f"收到 {unit.name} 的“{up.name}”，但“{unit.name}”现在没有要交表格的报送，先不记报送。"
            "发 /报送 列表 查看进行中的报送。"
        )
    listed = "；".join(f"{r.label} 截止 {clock.show(r.deadline)}" for r in candidates[:5])
    tail = f" {unit.name}" if is_admin else ""
    return Msg(
        f"收到 {unit.name} 的“{up.name}”。现在有 {len(candidates)} 个报送在收{what}：{listed}。"
        f"请发 /报送 文件 <编号>{tail} 说明是哪一个，如：/报送 文件 {candidates[0].id}{tail}"
    )


async def keep_pending(
    db: Database, files: store.FileStore, up: Upload, data: bytes, real: str, unit: Unit | None, ret: Return | None
) -> int:
    """Keep a file whose unit or return is not clear yet as 待确认; its id."""
    kind = store.SCAN if real in SCAN_KINDS else store.FORM
    ext = Path(up.name).suffix.lower()
    _, name = await store.in_thread(files, lambda: (None, files.write(data, ext)))
    assert name is not None
    try:
        async with db.tx() as tx:
            return await store.insert(
                tx,
                up,
                name,
                data,
                return_id=ret.id if ret else None,
                unit_id=unit.id if unit else None,
                kind=kind,
                state=store.PENDING,
            )
    except BaseException:
        files.remove(name)
        raise


class Attribution:
    """`/报送 文件`: a waiting file taken in for a return and a unit (a part of ReturnFiles)."""

    def __init__(
        self,
        db: Database,
        units: Units,
        returns: Returns,
        authority: Authority,
        files: store.FileStore,
        *,
        take: Take,
        others_pending_for: Callable[[Unit], Awaitable[list[store.FileRecord]]],
    ) -> None:
        self.db = db
        self.units = units
        self.returns = returns
        self.authority = authority
        self.files = files
        self.take = take  # ReturnFiles' check-and-store of a file for (return, unit)
        self.others_pending_for = others_pending_for  # PendingFiles.others_pending_for

    async def attribute(
        self,
        user_id: str,
        user_name: str,
        return_id: int,
        unit_name: str,
        *,
        is_admin: bool,
        file_id: int | None = None,
    ) -> Msg:
        """`/报送 文件 <编号> [单位] [#文件编号]`: a waiting (待确认) file is for this return (and unit).

        Without a file number: the asker's newest waiting file (an admin with none of their own: the one waiting
        file of someone else that names the unit). Only someone who may act for the unit takes a file in
        (bot/units/authority.py): its operators for their own unit, admins for any.
        """
        actor = await self.authority.actor(user_id, admin=is_admin)
        async with self.db.read() as tx:
            rec = await store.get(tx, file_id) if file_id is not None else await store.latest_pending(tx, user_id)
        if file_id is not None and (
            rec is None
            or rec.state != store.PENDING
            or rec.kind not in (store.FORM, store.SCAN)
            or (rec.uploaded_by != user_id and not actor.admin)
        ):
            raise UserError(f"没有待确认的文件 #{file_id}。" + ("发 /报送 待确认 查看。" if actor.admin else ""))
        if rec is None and actor.admin and unit_name:
            unit = await self.units.resolve(unit_name, strict=True)
            waiting = await self.others_pending_for(unit)
            if len(waiting) == 1:
                rec = waiting[0]
            elif waiting:
                ids = "、".join(f"#{f.id}" for f in waiting[:10])
                raise UserError(
                    f"有 {len(waiting)} 个待确认的文件像是“{unit.name}”的（{ids}），请写出文件编号，"
                    f"如：/报送 文件 {return_id} {unit.name} #{waiting[0].id}"
                )
        if rec is None:
            raise UserError("你没有等待说明的文件。直接把填好的表格上传到群文件或私聊发给机器人即可。")
        ret = await self.returns.get(return_id)
        if not ret.open and not actor.admin:
            raise UserError(f"报送 {ret.label} 已结束，不再接收。如需补报，请联系管理员。")
        if unit_name:
            unit = await self.units.resolve(unit_name, strict=True)
        elif rec.unit_id is not None:
            found = await self.units.get(rec.unit_id)
            if found is None:
                raise NotFound("这个文件所属的单位已删除。请写出单位：/报送 文件 <编号> <单位>")
            unit = found
        else:
            if actor.unit is None:
                raise UserError(f"请写出单位名称，如：/报送 文件 {return_id} 郑州大学")
            unit = actor.unit
        if not actor.may_act_for(unit):  # the one rule: a stranger or another unit's operator takes nothing in
            raise actor.refusal(unit)
        if not await owed_by(self.db, unit, [ret]):
            raise UserError(f"“{unit.name}”不在报送 {ret.label} 的范围（{ret.scope}）内。")
        path = self.files.path(rec.stored_name)
        data = await asyncio.to_thread(path.read_bytes)
        real = check_kind(data, rec.original_name)
        mine = rec.uploaded_by == user_id
        who = (rec.uploaded_by, rec.uploaded_by_name) if mine else (user_id, user_name)
        up = Upload(who[0], who[1], None, rec.original_name, rec.size, "")
        answer = await self.take(
            up, data, real, ret, unit, is_admin=actor.admin, pending_id=rec.id, stored_name=rec.stored_name
        )
        if not mine:
            async with self.db.tx() as tx:
                await tx.run("UPDATE return_files SET decided_by=? WHERE id=?", (user_id, rec.id))
                uploader = person_label(rec.uploaded_by_name, rec.uploaded_by)
                detail = f"{ret.label} #{rec.id} {rec.original_name} 上传人 {uploader} → {unit.name}"
                await audit(tx, user_id, "收下待确认文件", detail, unit.id)
        return answer
