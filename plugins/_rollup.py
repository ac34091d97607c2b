"""`/统发 进度` and `/报送 进度` by level (issue 24.3): who sees what of a task, and its roll-up per city.

- a province admin: one line (a bar in the picture) per city and per category of the units directly under the
  province, each with its first units owing; `… 进度 N 郑州` drills down to the city's units, grouped as before;
- a city admin: their own units (their scope), grouped as before; a city outside their scope is refused;
- an operator or member: the overall figure and their own city's line (or their category's, under the province);
  `… 进度 N 郑州` shows a city's units, as anyone could see them before;
- `… 进度 N 全部`: the whole list by category, as before the roll-up (a city admin: their units).

A task counting no more units than a group's list shows (ALLIANCE_GROUP_LIST_LIMIT) stays one list for everyone, as
does one whose units are all in one city or category: there the list is shorter than a roll-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.errors import Forbidden, UserError
from bot.parse import read_number
from bot.pictures.rollup_card import rollup_card
from bot.render import Msg
from bot.roles import Role
from bot.rollup import (
    NAMES_IN_GROUP,
    line_of,
    mine_message,
    narrow,
    rollup_message,
    task_rollup,
    tops,
    worth_rolling_up,
)
from bot.tasks import Progress
from bot.units.tree import city_key
from bot.vocab import category_or_none
from plugins._ctx import Ctx
from plugins._progress import progress_answer, rest_of_list
from plugins._reply import Reply, kept_card

WHOLE_LIST = ("全部", "全省", "所有", "完整")
"""Typed after the number for the whole list of the units owing, by category (a city admin: of their units)."""


@dataclass(frozen=True)
class Words:
    """What a kind of task calls its progress."""

    command: str  # "/统发 进度"
    title: str  # "统发进度"
    owing: str  # "未完成"
    done_label: str  # "已完成"


@dataclass(frozen=True)
class View:
    """What to answer: `answer` when it is rolled up (or the asker's own line), else the flat list of `progress`
    (narrowed to an area or a scope; `where` names it for the title, '' for the whole task)."""

    progress: Progress[Any, Any]
    where: str = ""
    answer: Reply | None = None


def take_area(ctx: Ctx) -> str:
    """The city (or unit, or category) after the task's number, taken out of the arguments: `3 郑州` → `郑州`;
    one word that is no number is an area too (`/统发 进度 郑州`: the only open task)."""
    if len(ctx.args) >= 2 and read_number(ctx.args[0]) is not None:
        area = " ".join(ctx.args[1:])
        ctx.args = ctx.args[:1]
        return area
    if len(ctx.args) == 1 and read_number(ctx.args[0]) is None:
        area = ctx.args[0]
        ctx.args = []
        return area
    return ""


async def _area(ctx: Ctx, p: Progress[Any, Any], area: str, command: str) -> View:
    """The task narrowed to a city, a unit's subtree or a category of the units directly under the province."""
    units = ctx.app.units
    category = category_or_none(area)
    if category is not None and category != "市教育局":
        tree = await units.tree()
        heads = {u.id: u for u in await units.by_ids(sorted(set(tops(tree).values())))}
        ids = frozenset(uid for uid, top in tops(tree).items() if top in heads and heads[top].category == category)
        where = f"省直属{category}"
    else:
        unit = await units.resolve_area(area)
        ids = await units.subtree(unit)
        where = f"{unit.name}及其下级单位" if len(ids) > 1 else unit.name
        if ctx.role is Role.CITY_ADMIN and unit.id not in ctx.scope:
            raise Forbidden(
                f"“{unit.name}”不在你的管理范围内（你是市级管理员，管理范围：{ctx.scope.label}）。"
                f"查看你管理的单位：{command}"
            )
    if ctx.role is Role.CITY_ADMIN:
        ids = ids & ctx.scope.unit_ids
    narrowed = narrow(p, ids)
    if not narrowed.total:
        raise UserError(f"{where}没有单位需要完成 {p.task.label}。看全部：{command}")
    return View(narrowed, where)


async def progress_view(
    ctx: Ctx, p: Progress[Any, Any], area: str, words: Words, head: Callable[[Progress[Any, Any]], Msg], subtitle: str
) -> View:
    """What `ctx`'s asker sees of task progress `p` (`area`: the city typed after the number, '' for none)."""
    command = f"{words.command} {p.task.id}"
    if area and area not in WHOLE_LIST:
        return await _area(ctx, p, area, command)
    if ctx.role is Role.CITY_ADMIN:
        return View(narrow(p, ctx.scope.unit_ids), ctx.scope.label)
    if area:  # 全部: the whole list of every unit owing, by category, as before the roll-up
        return View(p)
    r = await task_rollup(ctx.app.units, p)
    if not worth_rolling_up(r, ctx.app.settings.alliance_group_list_limit):
        return View(p)
    example = city_key(r.cities[0].head.city) or r.cities[0].label  # the city furthest behind
    drill = f"{command} {example}"
    kw = {"owing": words.owing, "done_label": words.done_label}
    if ctx.role is Role.PROVINCE_ADMIN:
        names = NAMES_IN_GROUP if ctx.in_group else None
        answer = await progress_answer(
            ctx,
            len(r.lines),
            rollup_message(head(p), r, names, drill, **kw),
            kept_card(
                (r,),
                (words.title, p.task.label, subtitle, words.owing, words.done_label, rest_of_list(ctx, command)),
                lambda: rollup_card(
                    f"{words.title} · {p.task.label}",
                    subtitle,
                    r,
                    owing=words.owing,
                    done_label=words.done_label,
                    full_list=rest_of_list(ctx, command).replace("每类", "每个城市和类别"),
                ),
            ),
            lambda: rollup_message(head(p), r, None, drill, **kw),
            command,
        )
        return View(p, answer=answer)
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    mine = await line_of(ctx.app.units, r, bound[1]) if bound is not None else None
    if mine is not None and mine.head is not None:
        drill = f"{command} {city_key(mine.head.city) or mine.head.name}"  # their own city's units
    return View(p, answer=mine_message(head(p), mine, ctx.limit, drill, **kw))


def in_area(where: str, msg: Msg) -> Msg:
    """A task's flat progress narrowed to an area, saying which (`【郑州市教育局及其下级单位】` first)."""
    return Msg(f"【{where}】").line("").add_all(msg) if where else msg
