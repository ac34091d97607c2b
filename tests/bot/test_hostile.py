"""Random and hostile text into every parser and the core services: a clear UserError or a clean value, never
another exception, never a CQ code turned into a segment, and the database stays intact.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import names, parse, vocab
from bot.app import App
from bot.errors import UserError
from bot.render import Msg

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)

NASTY = (
    "[CQ:at,qq=all]",
    "&#91;CQ:at,qq=all&#93;",
    "[CQ:image,file=http://x/a.png]",
    "[CQ:reply,id=-1]",
    "'; DROP TABLE units; --",
    '" OR 1=1 --',
    "1; DELETE FROM operators",
    "%s%s%n",
    "{0}{__class__}",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\u202e反转",
    "\u200b",
    "\ufeff",
    "\ud7ff",
    "𝕏𝔸",
    "👨‍👩‍👧",
    "²",
    "１２３",
    "٣",
    "Ⅻ",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "#",
    "＃1",
    "“",
    "”",
    '"',
    "「",
    "全员",
    "@全体成员",
    "２０２６年１１月２５日",
    "9999-99-99 99:99",
    "2月30日",
    "周八",
    "0分钟后",
    "999999天后",
    "1.5万万",
    "120万+++",
)


def hostile_text(max_size: int = 300) -> st.SearchStrategy[str]:
    """Random Unicode, known-nasty fragments, their mixtures, and very long runs of one character."""
    piece = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
    return st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(NASTY),
        st.lists(piece, max_size=6).map(" ".join),
        st.builds(
            lambda c, n: c * n,
            st.sampled_from(["a", "郑", "[", "“", " ", "\x00", "𝕏", "1", "，"]),
            st.integers(1, 10_000),
        ),
    )


def _expect_clean(fn, *args: object) -> object:
    """Call a parser: it returns, or raises UserError (whose message is the reply)."""
    try:
        return fn(*args)
    except UserError as e:
        assert str(e).strip(), f"{fn.__name__} raised an empty UserError"
        assert "Traceback" not in str(e)
        return None


SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(text=hostile_text())
def test_split_args_is_clean_or_refuses(text: str) -> None:
    args = _expect_clean(parse.split_args, text)
    if args is not None:
        assert isinstance(args, list)
        for a in args:
            assert all(ord(ch) >= 32 or ch in "\n\t" for ch in a)
        assert sum(map(len, args)) <= parse.MAX_ARG_TEXT


@SETTINGS
@given(text=hostile_text())
def test_value_parsers_return_clean_values_or_refuse(text: str) -> None:
    count = _expect_clean(parse.parse_count, text)
    assert count is None or (isinstance(count, int) and 0 <= count <= 10**12)
    when = _expect_clean(parse.parse_time, text, NOW)
    assert when is None or (isinstance(when, datetime) and when > NOW)
    day = _expect_clean(parse.parse_date, text, NOW.date())
    assert day is None or day <= NOW.date()
    assert _expect_clean(vocab.parse_platform, text) in (None, *vocab.PLATFORMS)
    assert _expect_clean(vocab.parse_category, text) in (None, *vocab.CATEGORIES)
    name = _expect_clean(names.check_name, text)
    assert name is None or (0 < len(name) <= 60 and "\n" not in name and "\x00" not in name)


def _one_arg_parsers() -> list:
    """Every public function of bot.parse, bot.names and bot.vocab that takes one text (future parsers are covered without a change)."""
    out = []
    for module in (parse, names, vocab):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            required = [
                p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if len(required) == 1 and "str" in str(required[0].annotation):
                out.append(fn)
    return out


ONE_ARG_PARSERS = _one_arg_parsers()


@SETTINGS
@given(text=hostile_text(), which=st.integers(min_value=0))
def test_every_text_parser_refuses_cleanly(text: str, which: int) -> None:
    assert ONE_ARG_PARSERS
    _expect_clean(ONE_ARG_PARSERS[which % len(ONE_ARG_PARSERS)], text)


@SETTINGS
@given(text=hostile_text())
def test_user_text_only_ever_becomes_a_text_segment(text: str) -> None:
    msg = Msg("前缀").at(10001).text(text).line(text)
    assert [s["type"] for s in msg.segments] in (["text", "at", "text"], ["text", "at"])
    assert all(s["data"]["qq"] == "10001" for s in msg.segments if s["type"] == "at")


# ----------------------------------------------------------------------------- the core services

SERVICE_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
OPERATOR = "20001"


async def _integrity(app: App) -> None:
    async with app.db.read() as tx:
        assert await tx.value("PRAGMA integrity_check") == "ok"
        assert await tx.all("PRAGMA foreign_key_check") == []


async def _call(coro) -> object:
    try:
        return await coro
    except UserError as e:
        assert str(e).strip() and "Traceback" not in str(e)
        return None


@SERVICE_SETTINGS
@given(a=hostile_text(120), b=hostile_text(60), c=hostile_text(30))
async def test_unit_services_take_hostile_text(core: App, a: str, b: str, c: str) -> None:
    units = core.units
    if await units.find("郑州大学") is None:
        await units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
        await units.add("河南大学", "本科高校", "开封", actor="t")
    await _call(units.resolve(a))
    await _call(units.listing(a))
    await _call(units.add(a, b, c, actor="admin"))
    await _call(units.add(a, "高中", c, actor="admin"))
    await _call(units.add_aliases("郑州大学", [a, c], actor="admin"))
    await _call(units.registrations.apply("30001", b, "100", a, b, c))
    await _call(units.registrations.apply("30002", a, None, a, "高中", c))
    await _call(units.rename(a, b, actor="admin"))
    for u in await units.all():
        assert u.name == parse.clean_text(u.name) and 0 < len(u.name) <= 60
    await _integrity(core)


@SERVICE_SETTINGS
@given(
    platform=hostile_text(40),
    name=hostile_text(120),
    extra=hostile_text(60),
    pairs=st.lists(hostile_text(40), max_size=3),
)
async def test_account_services_take_hostile_text(
    core: App, platform: str, name: str, extra: str, pairs: list[str]
) -> None:
    if await core.units.registrations.operator(OPERATOR) is None:
        unit = await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
        application, _ = await core.units.registrations.apply(OPERATOR, "张三", "100", unit.name)
        await core.units.registrations.approve([application.id], actor="admin")
    accounts = core.accounts
    await _call(accounts.file_opening(OPERATOR, extra, platform, name, extra, extra))
    await _call(accounts.file_opening(OPERATOR, name, "微信", name, extra, ""))
    await _call(accounts.file_change(OPERATOR, name, platform, name, pairs))
    await _call(accounts.file_change(OPERATOR, name, "微信", name, [f"名称={extra}", *pairs]))
    await _call(accounts.file_closure(OPERATOR, name, platform, name))
    await _integrity(core)
