"""/查询: everything about one unit, gathered from the services and told in one message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot import clock
from bot.accounts import Account, Filing
from bot.broadcasts.records import Completion
from bot.reminders import describe_left
from bot.render import Msg, lines_cut, percent, person_name
from bot.returns.records import Owed, Return, Submission
from bot.returns.text import form_label, owed_files
from bot.units.records import Unit
from bot.units.tree import PROVINCE

if TYPE_CHECKING:
    from bot.accounts import MediaAccounts
    from bot.broadcasts.service import Broadcasts
    from bot.followers.service import Followers
    from bot.returns.service import Returns
    from bot.units.service import Units


COMPLETION_DAYS = 30

# mobile numbers (with or without +86 and separators) and landlines such as 0371-12345678


@dataclass(frozen=True)
class AccountFact:
    account: Account
    followers: int | None = None
    reported_on: date | None = None


@dataclass
class UnitFacts:
    unit: Unit
    operators: list[str]
    accounts: list[AccountFact]
    returns: list[tuple[Return, Submission | None]]
    completion: Completion
    filings: list[Filing] = field(default_factory=list)
    fixing: set[int] = field(default_factory=set)
    """Open returns whose latest file from the unit has problems (需修改)."""
    owes: dict[int, Owed] = field(default_factory=dict)
    """Open file returns the unit has not finished → what it still owes."""
    parent: str = PROVINCE
    """The unit's 上级单位 (bot/units/tree.py)."""


async def gather(
    unit: Unit,
    *,
    units: Units,
    accounts: MediaAccounts,
    followers: Followers,
    broadcasts: Broadcasts,
    returns: Returns,
) -> UnitFacts:
    """What /查询 tells about one unit: operators, accounts and their latest counts, returns, 统发 completion, filings;
    read from the services named (nothing else of the bot)."""
    ops = await units.registrations.operators(unit.id)
    names = [person_name(o.name) for o in ops]
    mine = await accounts.of_unit(unit.id)
    latest = await followers.latest_for_unit(unit.id)
    facts = [AccountFact(a, *latest.get(a.id, (None, None))) for a in mine]
    completion = await broadcasts.stats.unit_completion(unit.id, days=COMPLETION_DAYS)
    return UnitFacts(
        unit=unit,
        operators=names,
        accounts=facts,
        returns=await returns.open_for_unit(unit.id),
        completion=completion,
        filings=await accounts.pending_for_unit(unit.id),
        fixing=await returns.fixing_for_unit(unit.id),
        owes=await returns.owes_for_unit(unit.id),
        parent=parent.name if (parent := await units.parent(unit)) else PROVINCE,
    )


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日" if d.year == clock.now().year else f"{d.year}年{d.month}月{d.day}日"


def _account_line(f: AccountFact) -> str:
    a = f.account
    line = f"· {a.platform}“{a.name}”"
    if a.state == "待审核":
        line += "（备案审核中）"
    if f.followers is not None:
        line += f"：粉丝 {f.followers:,}" + (f"（{_day(f.reported_on)}）" if f.reported_on else "")
    else:
        line += "：粉丝数未报"
    return line


def _return_line(ret: Return, sub: Submission | None, fixing: bool = False, owed: Owed | None = None) -> str:
    if sub is None:
        state = "需修改（已交文件但有问题，改好后重新上传）" if fixing else _not_yet(ret, owed)
        when = f"截止 {clock.show(ret.deadline)}（{describe_left(ret.deadline, clock.now())}）"
    else:
        state = "已报送" + ("（逾期）" if sub.late else "")
        when = f"截止 {clock.show(ret.deadline)}"
    return f"· {ret.label}{state}，{when}"


def _not_yet(ret: Return, owed: Owed | None) -> str:
    """`未报送`, or for a file return what to upload: `未交齐（已交统计表，还差汇总表：上传到群文件或私聊发给机器人）`."""
    if not ret.wants_files:
        return "未报送"
    where = "上传到群文件或私聊发给机器人"
    if owed is not None and owed.have:
        have = "、".join(map(form_label, owed.have))
        return f"未交齐（已交{have}，还差{owed_files(ret, owed)}：{where}）"
    return f"未报送（要交{owed_files(ret, owed)}：{where}）"


def _completion_line(c: Completion) -> str:
    """`近30天统发：12/15（80.0%）`: tasks over or done only; open ones not yet due are said apart, never a miss."""
    head = f"近{COMPLETION_DAYS}天统发："
    running = f"{c.running} 个未到截止、还没转发的不计入" if c.running else ""
    if c.owed:
        return head + f"{c.done}/{c.owed}（{percent(c.done, c.owed)}）" + (f"，另有 {running}" if running else "")
    if c.running:
        return head + f"{c.running} 个进行中、未到截止，还没有可算完成率的任务"
    return head + "没有需要转发的任务"


def render(f: UnitFacts, *, limit: int | None = None) -> Msg:
    """One message: category, city, operators (names only), accounts, open returns, 统发, pending filings."""
    u = f.unit
    out = Msg(f"“{u.name}”")
    out.line(f"类别：{u.category}　地市：{u.city or '未填'}" + (f"　简称：{'、'.join(u.aliases)}" if u.aliases else ""))
    out.line(f"上级单位：{f.parent}" + (f"　县区：{u.county}" if u.county else ""))
    out.line(f"联络员（{len(f.operators)}）：{'、'.join(f.operators) or '无（请联络员发 /注册 ' + u.name + '）'}")
    if f.accounts:
        out.line(f"账号（{len(f.accounts)}）：")
        for line in lines_cut([_account_line(a) for a in f.accounts], limit):
            out.line(line)
    else:
        out.line("账号：还没有登记")
    if f.returns:
        todo = sum(1 for _, s in f.returns if s is None)
        out.line(f"进行中的报送（{len(f.returns)}，未报送 {todo}）：")
        for line in lines_cut([_return_line(r, s, r.id in f.fixing, f.owes.get(r.id)) for r, s in f.returns], limit):
            out.line(line)
    else:
        out.line("进行中的报送：无")
    out.line(_completion_line(f.completion))
    if f.filings:
        out.line(f"待审核备案（{len(f.filings)}）：")
        for line in lines_cut([f"· {x.describe()}" for x in f.filings], limit):
            out.line(line)
    else:
        out.line("待审核备案：无")
    return out
