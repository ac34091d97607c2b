"""逐级汇总 in words: the province's progress (one line per city, then the direct units) and a city admin's (their
units' states and whether the city has handed up)."""

from __future__ import annotations

from bot import clock
from bot.reminders import describe_left
from bot.render import Msg, cut_list, percent
from bot.returns.levels import HANDED_UP, City, Levels
from bot.returns.text import UNSTAFFED_NOTE, category_lines, starred
from bot.roles import Scope
from bot.rollup import unstaffed_note


def _head(lv: Levels) -> Msg:
    ret = lv.ret
    out = Msg(f"报送 {ret.label}（逐级汇总）" + ("" if ret.open else "（已结束）"))
    out.line(f"截止：{clock.show(ret.deadline)}（{describe_left(ret.deadline, clock.now())}）　范围：{ret.scope}")
    return out


def city_line(c: City, unstaffed: frozenset[int] = frozenset()) -> str:
    """`郑州市教育局：已上报（张三 10月25日 10:00 签收，13/13 个单位）`, `…：汇总中（3/13 个单位已交，需修改 1，其中 5
    个单位无联络员）` (`unstaffed`: the units owing with no operator, nobody to hand in for them)."""
    if c.handup is not None:
        h = c.handup
        return f"{c.bureau.name}：{HANDED_UP}（{h.who} {clock.show(h.at)} 签收，{h.units_in}/{h.units_total} 个单位）"
    fixing = f"，需修改 {len(c.fixing)}" if c.fixing else ""
    alone = sum(1 for u in c.units if u.id in unstaffed and u.id not in c.done)
    note = f"，{unstaffed_note(alone)}" if alone else ""
    return f"{c.bureau.name}：{c.state}（{len(c.done)}/{len(c.units)} 个单位已交{fixing}{note}）"


def province_progress(lv: Levels, limit: int | None) -> Msg:
    """The province's view: each city's state, then the units that hand in to the province directly."""
    out = _head(lv)
    up = sum(1 for c in lv.cities if c.handup is not None)
    collecting = sum(1 for c in lv.cities if c.handup is None and c.started)
    out.line(f"各市：已上报 {up}/{len(lv.cities)}，汇总中 {collecting}，未开始 {len(lv.cities) - up - collecting}")
    for c in lv.cities:
        out.line(f"· {city_line(c, lv.progress.unstaffed)}")
    if lv.direct:
        done, pending = lv.direct_done, lv.direct_pending
        total = len(done) + len(pending)
        out.line(f"直接报省的单位：已报送 {len(done)}/{total}（{percent(len(done), total)}）")
        fixing = [u.name for u in pending if u.id in lv.progress.fixing]
        if fixing:
            out.line(f"其中需修改（{len(fixing)}）：{cut_list(fixing, limit)}")
        if pending:
            out.line(f"未报送（{len(pending)}）：")
            for line in category_lines(starred(pending, lv.progress.unstaffed), limit):
                out.line(line)
            if alone := sum(1 for u in pending if u.id in lv.progress.unstaffed):
                out.line(UNSTAFFED_NOTE.format(n=alone))
    out.line(f"各市的单位交给本市教育局，审核后由市里上报。看一个市：/报送 进度 {lv.ret.id} <城市>")
    return out


def city_progress(lv: Levels, scope: Scope, limit: int | None, only: City | None = None) -> Msg:
    """A city admin's view (or the province's drill-down into one city): their units' states and the sign-off."""
    out = _head(lv)
    cities = [only] if only is not None else [c for c in lv.cities if c.bureau in scope]
    units = (
        [u for c in cities for u in c.units]
        if only is not None
        else [u for u in (*(s.unit for s in lv.progress.done), *lv.progress.pending) if u in scope]
    )
    done = [u for u in units if u.id in lv.done]
    fixing = [u for u in units if u.id in lv.progress.fixing and u.id not in lv.done]
    missing = [u for u in units if u.id not in lv.done and u.id not in lv.progress.fixing]
    where = only.bureau.name if only is not None else scope.label
    out.line(f"{where}：已交 {len(done)}/{len(units)}，需修改 {len(fixing)}，未交 {len(missing)}")
    rid = lv.ret.id
    for c in cities:
        if c.handup is not None:
            out.line(city_line(c))
        elif only is None:
            out.line(f"{c.bureau.name}：还没有上报。审核完发 /报送 上报 {rid}")
    if fixing:
        out.line(f"需修改（{len(fixing)}）：{cut_list([u.name for u in fixing], limit)}")
    if missing:
        out.line(f"未交（{len(missing)}）：")
        for line in category_lines(starred(missing, lv.progress.unstaffed), limit):
            out.line(line)
        if alone := sum(1 for u in missing if u.id in lv.progress.unstaffed):
            out.line(UNSTAFFED_NOTE.format(n=alone))
    if done:
        out.line(f"已交（{len(done)}）：{cut_list([u.name for u in done], limit)}")
    if only is None:
        out.line(f"接受有问题的文件：/报送 接受 {rid} <单位>；退回修改：/报送 退回 {rid} <单位> [原因]")
    return out
