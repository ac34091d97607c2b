"""A return of several forms (issue 21), per unit: which forms are still owed, which fixes an admin may accept, and
the answer for a file that fits none of them. Read inside the caller's transaction."""

from __future__ import annotations

from bot.db import Tx
from bot.render import Msg
from bot.returns.files import store
from bot.returns.files.records import Upload, Verdict
from bot.returns.records import NEEDS_FIX, Return
from bot.returns.text import owed_files
from bot.units.records import Unit


async def owed(tx: Tx, ret: Return, unit: Unit) -> list[str]:
    """The return's forms the unit has no good (passed or accepted) file for, in the return's order."""
    have = (await store.forms_in(tx, ret.id, unit.id)).get(unit.id, set())
    return [f for f in ret.forms if f not in have]


async def fixes(tx: Tx, ret: Return, unit: Unit) -> list[store.FileRecord]:
    """For each form still owed, the unit's latest file of it that needs changes (what `/报送 接受` takes)."""
    out = []
    for form in await owed(tx, ret, unit):
        rec = await store.latest_of(tx, ret.id, unit.id, store.FORM, (store.NEEDS_FIX,), form=form)
        if rec is not None:
            out.append(rec)
    return out


async def mark_partial(tx: Tx, ret: Return, unit: Unit) -> None:
    """A unit with some forms in but not all: 需修改 while a form it still owes has a file needing changes."""
    state = NEEDS_FIX if await fixes(tx, ret, unit) else ""
    await tx.run(
        "UPDATE return_units SET file_state=? WHERE return_id=? AND unit_id=? AND submitted_at IS NULL",
        (state, ret.id, unit.id),
    )


def fits_none(ret: Return, unit: Unit, up: Upload, verdict: Verdict) -> Msg:
    """A spreadsheet whose header is none of the return's forms: say which forms are expected."""
    why = verdict.described[0] if verdict.described else ""
    expected = why.split("本报送要交：", 1)[-1]
    return Msg(
        f"收到 {unit.name} 的“{up.name}”，但它的表头和要交的表格都对不上，先不记报送。本报送要交：{expected}。"
        f"请按表格的格式填写{owed_files(ret)}后重新上传，发 /报送 表格 {ret.id} 领取本单位的表格。"
    )
