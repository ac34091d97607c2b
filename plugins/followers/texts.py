"""The words of /粉丝 排行 and /粉丝 目标: a ranking's and a category's text (written once per kept data and limit,
not for every ask), the asker's own place in words."""

from __future__ import annotations

from datetime import date

from bot import clock
from bot.followers.periods import show_day
from bot.followers.records import Ranking
from bot.followers.targets import Target, signed, wan
from bot.readouts.views import by_target
from bot.render import Msg, percent
from bot.units.records import Unit
from plugins._reply import kept

RANK_LINES = 10  # units per ranking list in a group chat
PRIVATE_LINES = 100  # lines per message in a private chat


def messages(head: Msg, lines: list[str]) -> list[Msg]:
    """`head` and `lines`, split into messages of at most PRIVATE_LINES lines (a private chat gets it all)."""
    out = [head.line("\n".join(lines[: PRIVATE_LINES - 1]))]
    for i in range(PRIVATE_LINES - 1, len(lines), PRIVATE_LINES):
        out.append(Msg("\n".join(lines[i : i + PRIVATE_LINES])))
    return out


def render_ranking(r: Ranking, limit: int | None) -> list[Msg]:
    today = clock.now().date()
    # the lines are written once per kept ranking, limit and day, not for every ask of the same data
    head_text, lines = kept((r,), ("ranking text", limit, today), lambda: _ranking_lines(r, limit, today))
    head = Msg(head_text)
    if lines is None:
        head.line("这个范围内还没有单位报送过粉丝数。联络员发送 /粉丝 <平台> <数量> 即可报送。")
        return [head]
    if limit is not None:
        for line in lines:
            head.line(line)
        return [head]
    return messages(head, list(lines))


def _ranking_lines(r: Ranking, limit: int | None, today: date) -> tuple[str, tuple[str, ...] | None]:
    """The heading of a ranking's text and its lines (None: nobody has reported in its range)."""
    cut = None if limit is None else min(limit, RANK_LINES)
    until = f"，截至{show_day(r.period.end, today)}" if r.period.end == today else ""
    head = f"粉丝排行 · {r.scope} · {r.period.label}{until}"
    if not r.counts:
        return head, None
    lines = ["【按粉丝数】"]
    lines += [f"{s.rank}. {s.unit.name} {wan(s.value)}" for s in r.by_count(cut)]
    if cut is not None and len(r.counts) > cut:
        lines.append(f"……另有 {len(r.counts) - cut} 个单位未列出（私聊机器人发送同一命令可看全部）")
    lines.append(f"【按{r.period.label}增长】")
    if r.growths:
        lines += [f"{s.rank}. {s.unit.name} {signed(s.value)}" for s in r.by_growth(cut)]
        if cut is not None and len(r.growths) > cut:
            lines.append(f"……另有 {len(r.growths) - cut} 个单位未列出")
    else:
        lines.append("这段时间还没有单位报送。")
    lines.append(
        f"共 {r.units_in_scope} 个单位，{len(r.counts)} 个有粉丝数，{len(r.growths)} 个在{r.period.label}报送过。"
        "按单位统计（各账号最新粉丝数之和）。"
    )
    return head, tuple(lines)


def ranking_place(r: Ranking, unit_id: int | None) -> str:
    """The asker's unit's place in `r`, in words ("" when it is not ranked there)."""
    own = r.count_of(unit_id) if unit_id is not None else None
    if own is None:
        return ""
    grew = r.growth_of(own.unit.id)
    growth = (
        f"按{r.period.label}增长第 {grew.rank} 名（{signed(grew.value)}）"
        if grew is not None
        else f"{r.period.label}还没有报送"
    )
    return f"你的单位 {own.unit.name}：按粉丝数第 {own.rank} 名（{wan(own.value)}），{growth}。"


def render_category(category: str, rows: list, limit: int | None) -> list[Msg]:
    """Units of one category by how far they are to their target (written once per kept rows and limit)."""
    head_text, lines, whole = kept((rows,), ("category text", category, limit), lambda: _category_lines(rows, limit))
    head = Msg(f"{category} 粉丝目标完成情况（{head_text}）：")
    if whole:
        return messages(head, list(lines))
    return [head.line("\n".join(lines))]


def _category_lines(rows: list, limit: int | None) -> tuple[str, tuple[str, ...], bool]:
    """(达标 m/n, the lines, whether they go as messages of PRIVATE_LINES lines rather than one cut message)."""
    scored = []
    for unit, total, target in rows:
        ratio = (total or 0) / target.amount if target.amount else -1.0
        scored.append((-(ratio if total is not None else -2.0), unit.name, unit, total, target))
    scored.sort(key=lambda x: (x[0], x[1]))
    met = sum(1 for _, _, _, t, tg in scored if tg.amount and t is not None and t >= tg.amount)
    lines = []
    shown = scored if limit is None else scored[:limit]  # in a group, only the lines shown are written
    for i, (_, _, unit, total, target) in enumerate(shown, start=1):
        if total is None:
            lines.append(f"–. {unit.name} 未报送")  # no count, no place in the ranking
        elif target.amount:
            mark = " ✓" if total >= target.amount else ""
            lines.append(
                f"{i}. {unit.name} {wan(total)}/{wan(target.amount)} {percent(total, target.amount, '—')}{mark}"
            )
        else:
            lines.append(f"{i}. {unit.name} {wan(total)}（未设目标）")
    head = f"达标 {met}/{len(rows)}"
    if limit is not None and len(scored) > limit:
        lines.append(f"……另有 {len(scored) - limit} 个单位未列出（私聊机器人发送同一命令可看全部）")
        return head, tuple(lines), False
    return head, tuple(lines), limit is None


def targets_place(rows: list[tuple[Unit, int | None, Target]], unit_id: int | None) -> str:
    """The asker's unit's place among its category's units (as on the targets picture), in words; "" when the unit
    is not of that category."""
    if unit_id is None:
        return ""
    found = kept((rows,), ("target places",), lambda: _target_places(rows)).get(unit_id)
    if found is None:
        return ""
    i, unit, total, target = found
    if total is None:
        return f"你的单位 {unit.name} 还没有报送粉丝数。"
    if not target.amount:
        return f"你的单位 {unit.name}：第 {i} 名，{wan(total)}（未设目标）。"
    state = "已达标" if total >= target.amount else f"完成 {percent(total, target.amount, '—')}"
    return f"你的单位 {unit.name}：第 {i} 名，{wan(total)}/{wan(target.amount)}，{state}。"


def _target_places(rows: list[tuple[Unit, int | None, Target]]) -> dict[int, tuple[int, Unit, int | None, Target]]:
    """Unit id → its place in `by_target(rows)`: ordered once per kept rows, not for every asker."""
    out: dict[int, tuple[int, Unit, int | None, Target]] = {}
    for i, (unit, total, target) in enumerate(by_target(rows), start=1):
        out.setdefault(unit.id, (i, unit, total, target))
    return out
