"""Cards built from the services' results: rankings, targets, 统发/报送 progress, completion statistics."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from bot import clock
from bot.followers.periods import show_day
from bot.followers.records import Ranking, Stale, StaleAccount, Standing
from bot.followers.targets import Target, signed, wan
from bot.pictures.cards import Bar, Card, ProgressGroup, RankRow, RankTable, first_names, progress_height
from bot.tasks import Progress, by_category
from bot.units.records import Unit
from bot.vocab import category_key

FOOTER = "联盟助手 · 按单位统计，不排个人"


def _rows(
    standings: Sequence[Standing],
    value: Callable[[Standing], str],
    extra: Callable[[Standing], str],
    bar: Callable[[Standing], float | None],
    mine: int | None,
    limit: int,
    total: int,
    find_mine: Callable[[], Standing | None],
) -> tuple[tuple[RankRow, ...], str]:
    rows = [RankRow(s.rank, s.unit.name, value(s), extra(s), bar(s), s.unit.id == mine) for s in standings[:limit]]
    more = f"另有 {total - len(rows)} 个单位未列出（私聊机器人或导出可看全部）" if total > len(rows) else ""
    if mine is not None and not any(r.highlight for r in rows) and (own := find_mine()) is not None:
        rows.append(RankRow(own.rank, own.unit.name, value(own), extra(own), bar(own), True))
    return tuple(rows), more


def ranking_card(
    r: Ranking,
    target: Callable[[Unit], Target],
    *,
    mine: int | None = None,
    limit: int = 60,
    title: str = "粉丝排行",
) -> Card:
    """Two tables: units by count (with growth and a bar to the target) and by growth over the period."""
    today = clock.now().date()
    counts, growth = r.count_by_unit, r.growth_by_unit

    def bar(s: Standing) -> float | None:
        amount = target(s.unit).amount
        return (counts.get(s.unit.id, 0) / amount) if amount else None

    by_count = r.by_count(limit)
    by_growth = r.by_growth(limit)

    def find(standing: Callable[[int], Standing | None]) -> Callable[[], Standing | None]:
        return lambda: standing(mine) if mine is not None else None

    count_rows, count_more = _rows(
        by_count,
        lambda s: wan(s.value),
        lambda s: signed(growth[s.unit.id]) if s.unit.id in growth else "",
        bar,
        mine,
        limit,
        len(r.counts),
        find(r.count_of),
    )
    growth_rows, growth_more = _rows(
        by_growth,
        lambda s: signed(s.value),
        lambda s: wan(counts.get(s.unit.id, 0)),
        lambda s: None,
        mine,
        limit,
        len(r.growths),
        find(r.growth_of),
    )
    return Card(
        title=f"{title} · {r.scope}",
        subtitle=f"{r.period.label} · 共 {r.units_in_scope} 个单位，{len(r.counts)} 个有粉丝数",
        note=f"数据截至 {show_day(r.period.end, today)}；条形为完成目标的比例",
        tables=(
            RankTable("按粉丝数", count_rows, count_more, "还没有单位报送粉丝数"),
            RankTable(f"按{r.period.label}增长", growth_rows, growth_more, "这段时间还没有单位报送"),
        ),
        footer=FOOTER,
    )


def by_target(rows: list[tuple[Unit, int | None, Target]]) -> list[tuple[Unit, int | None, Target]]:
    """A category's units in the order of its targets card: furthest to their target first (by name at a tie)."""
    return sorted(
        rows,
        key=lambda x: (
            -((x[1] or 0) / x[2].amount if x[2].amount and x[1] is not None else -1.0),
            x[0].name,
        ),
    )


def targets_card(category: str, rows: list[tuple[Unit, int | None, Target]], *, mine: int | None, limit: int) -> Card:
    """One category's units by how far they are to their target."""
    scored = by_target(rows)
    met = sum(1 for _, t, tg in rows if tg.amount and t is not None and t >= tg.amount)
    table = []
    for i, (unit, total, target) in enumerate(scored, start=1):
        if i > limit and unit.id != mine:
            continue
        if total is None:
            # no count, no place: a unit that has not reported is listed without a rank (it is not 3rd of 3)
            table.append(RankRow(0, unit.name, "未报送", "", 0.0 if target.amount else None, unit.id == mine))
        else:
            extra = f"{total / target.amount * 100:.1f}%" if target.amount else ""
            value = f"{wan(total)}/{wan(target.amount)}" if target.amount else wan(total)
            bar = total / target.amount if target.amount else None
            table.append(RankRow(i, unit.name, value, extra, bar, unit.id == mine))
    more = f"另有 {len(rows) - limit} 个单位未列出" if len(rows) > limit else ""
    return Card(
        title=f"粉丝目标 · {category}",
        subtitle=f"达标 {met}/{len(rows)} 个单位",
        note=f"数据截至 {show_day(clock.now().date())}；单位各账号最新粉丝数之和，对照类别目标",
        tables=(RankTable("完成目标的比例", tuple(table), more),),
        footer=FOOTER,
    )


PHONE_HEIGHT = 1600  # px: the tallest progress picture; 760 px wide, it fits a phone's screen (issue 23)
NAME_LINES = (3, 2, 1)  # lines of names under each bar, fewer while the picture would be taller than that


def progress_card(
    title: str,
    subtitle: str,
    done: int,
    total: int,
    pending: Sequence[Unit],
    totals: dict[str, int],
    *,
    owing: str = "未完成",
    fixing: Collection[int] = frozenset(),
    done_label: str = "已完成",
    full_list: str = "",
) -> Card:
    """One bar for all, then a bar per category with the first units still owing (as many as fit in a picture no
    taller than PHONE_HEIGHT; `full_list` under the bars says where the rest are); those of `pending` whose ids
    are in `fixing` (报送: a file handed in with problems, 需修改) are a group and a colour of their own."""
    per_cat = dict(by_category(pending))
    whole = Bar("全部", done, total, fixing=sum(1 for u in pending if u.id in fixing), done_label=done_label)
    lists = []
    for cat in sorted(totals, key=category_key):
        units = per_cat.get(cat, [])
        names = [u.name for u in units if u.id not in fixing]
        fix = [u.name for u in units if u.id in fixing]
        lists.append((cat, totals[cat] - len(units), totals[cat], names, fix))
    card = Card(title)
    for lines in NAME_LINES:
        bars = [whole]
        for cat, cat_done, cat_total, names, fix in lists:
            shown, fix_shown = first_names(names, len(names), lines), first_names(fix, len(fix), lines)
            bars.append(
                Bar(
                    cat, cat_done, cat_total, shown, owing, len(fix), fix_shown, done_label=done_label, owing=len(names)
                )
            )
        cut = any(map(_cut, bars))
        card = Card(
            title=title,
            subtitle=subtitle,
            note=f"数据截至 {clock.show(clock.now())}",
            progress=(ProgressGroup("按类别", tuple(bars), full_list if cut else ""),),
            footer="联盟助手",
        )
        if progress_height(card) <= PHONE_HEIGHT:
            break
    return card


def _cut(b: Bar) -> bool:
    return len(b.names) < b.owing or 0 < len(b.fixing_names) < b.fixing


def names_left_out(card: Card) -> bool:
    """Whether a progress card names only the first units owing (the rest are elsewhere)."""
    return any(_cut(b) for g in card.progress for b in g.bars)


def task_progress_card(
    title: str,
    subtitle: str,
    p: Progress,
    *,
    pending: Sequence[Unit] | None = None,
    owing: str = "未完成",
    done_label: str = "已完成",
    full_list: str = "",
) -> Card:
    """`progress_card` of a 统发 or 报送 (`pending`: the units owing as they should be named, if not as they are:
    by default those with no operator, `p.unstaffed`, with a `*`; those whose file needs fixing, 报送's `p.fixing`,
    are a group of their own)."""
    if pending is None:
        pending = [replace(u, name=f"{u.name}*") if u.id in p.unstaffed else u for u in p.pending]
    return progress_card(
        title,
        subtitle,
        len(p.done),
        p.total,
        pending,
        p.per_category(),
        owing=owing,
        fixing=p.fixing,
        done_label=done_label,
        full_list=full_list,
    )


def rates_card(title: str, subtitle: str, rows: Sequence[tuple[str, int, int, int]], limit: int) -> Card:
    """Units by completion rate: (name, done, owed, late), best first; past `limit`, best and worst halves."""

    def row(i: int, r: tuple[str, int, int, int]) -> RankRow:
        name, done, owed, late = r
        extra = f"逾期 {late}" if late else ""
        return RankRow(i, name, f"{done}/{owed}", extra, done / owed if owed else 0.0)

    ranked = [row(i, r) for i, r in enumerate(rows, start=1)]
    if len(ranked) <= limit:
        tables = (RankTable("完成率（从高到低）", tuple(ranked)),)
    else:
        half = limit // 2
        best = tuple(r for r, raw in zip(ranked[:half], rows[:half], strict=True) if raw[1])  # 0 done is never best
        tables = (
            RankTable("完成最好", best),
            RankTable("完成最差", tuple(ranked[-half:]), f"中间另有 {len(ranked) - len(best) - half} 个单位未列出"),
        )
    return Card(
        title=title, subtitle=subtitle, note=f"数据截至 {clock.show(clock.now())}", tables=tables, footer="联盟助手"
    )


def stale_card(s: Stale, limit: int) -> Card:
    """僵尸号 and the warning list: one row per account, longest without a post first."""
    today = clock.now().date()

    def table(heading: str, groups: list[tuple[Unit, list[StaleAccount]]]) -> RankTable:
        items = sorted(((i, u) for u, items in groups for i in items), key=lambda x: (-x[0].idle, x[1].name))
        rows = tuple(
            RankRow(
                n,
                f"{u.name}·{i.account.platform.removesuffix('公众号')}“{i.account.name}”",
                f"{i.idle} 天",
                show_day(i.last_post, today) if i.last_post else "从未报告",
            )
            for n, (i, u) in enumerate(items[:limit], start=1)
        )
        more = f"另有 {len(items) - limit} 个账号未列出（私聊机器人可看全部）" if len(items) > limit else ""
        return RankTable(f"{heading}（{len(items)} 个账号）", rows, more, "没有", wide_extra=True)

    tables = [table(f"僵尸号：{s.days} 天及以上没有更新", s.no_post)]
    if s.warn < s.days:
        tables.append(table(f"预警：{s.warn}–{s.days - 1} 天", s.warning))
    return Card(
        title="僵尸号检查",
        subtitle="国办秘函〔2019〕19号：两周不更新即为僵尸号",
        note=f"数据截至 {show_day(today)}；每行：单位·账号、未更新天数、最后更新日期（联络员用 /更新 报告）",
        tables=tuple(tables),
        footer="联络员发布后发 /更新 <平台> 即可",
    )
