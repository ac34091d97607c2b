"""Read-only views for exports and the dashboard: accounts, filings, the audit log, task progress, rankings.

The other services' public methods are used where they exist. Where none does, the query is
written here, over their tables, read-only: `accounts` / `filings` across all units
(`MediaAccounts` only lists one unit's accounts and the pending filings) and the `audit` log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot import clock
from bot.audit import audit, audit_page, details_by
from bot.errors import Forbidden
from bot.render import person_label, person_name
from bot.roles import Scope
from bot.tasks import TaskLine, TaskService, TaskView, UnitTaskLine
from bot.units.records import Unit
from bot.vocab import CATEGORIES, CATEGORY_ORDER, PLATFORMS

if TYPE_CHECKING:
    from bot.accounts import MediaAccounts
    from bot.broadcasts.service import Broadcasts
    from bot.db import Database
    from bot.followers.service import Followers
    from bot.returns.service import Returns
    from bot.units.service import Units


PLATFORM_ORDER = {p: i for i, p in enumerate(PLATFORMS)}


def unit_key(u: Unit) -> tuple[int, int]:
    """Units in the order official tables list them: by category, then in roster order."""
    return (CATEGORY_ORDER.get(u.category, len(CATEGORIES)), u.id)


show_db_time = clock.stamp_db
show_time = clock.stamp


# ------------------------------------------------------------------ accounts and filings


@dataclass(frozen=True)
class AccountView:
    id: int
    unit: Unit
    platform: str
    name: str
    uid: str
    opened_on: str | None
    state: str
    followers: int | None = None
    followers_on: str = ""
    last_post: str = ""


def within(scope: Scope | None, unit: Unit | int) -> bool:
    """Whether a unit is inside the asker's scope (None: the office, everything)."""
    return scope is None or unit in scope


@dataclass(frozen=True)
class FilingView:
    id: int
    kind: str
    unit_id: int
    unit_name: str
    platform: str
    account_name: str
    uid: str
    opened_on: str
    changes: str
    state: str
    filed_by: str
    filed_at: str
    decided_by: str
    decided_at: str
    reason: str


CHANGE_NAMES = {"name": "名称", "uid": "账号ID", "opened_on": "开通日期"}


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    unit: str
    action: str
    detail: str


MADE_FILE_ACTIONS = ("导出", "报送汇总")


def actor_name(actor: str, names: dict[str, str], admins: frozenset[str]) -> str:
    """How the audit log shows who did something: a name with the QQ id, never a bare number or a session id."""
    if actor.startswith("dashboard:"):
        person = actor.removeprefix("dashboard:")
        if person.isdigit():  # a login through the person's own /后台 link
            return f"{actor_name(person, names, admins)}（网页后台）"
        return "管理员（网页后台）"
    if actor.isdigit():
        name = names.get(actor)
        role = "管理员 " if actor in admins else ""
        return f"{role}{person_label(name, actor)}" if name else f"{role or '用户 '}{actor}".strip()
    return actor


UnitTask = UnitTaskLine


# ------------------------------------------------------------------ overview


@dataclass
class Overview:
    units: int = 0
    units_without_operator: int = 0
    operators: int = 0
    accounts: int = 0
    pending_accounts: int = 0
    pending_filings: int = 0
    pending_applications: int = 0
    by_platform: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ tasks (统发 / 报送)


TASK_KINDS = ("统发", "报送")


# ------------------------------------------------------------------ followers


@dataclass(frozen=True)
class FollowerRankRow:
    rank: int
    unit: Unit
    count: int
    growth: int | None
    target: int | None = None


@dataclass(frozen=True)
class RankingView:
    period: str
    scope: str
    rows: list[FollowerRankRow]
    units_in_scope: int


class Reports:
    """The read-only views of the dashboard and the exports, from the services they read (never the whole App)."""

    def __init__(
        self,
        db: Database,
        units: Units,
        media_accounts: MediaAccounts,
        followers: Followers,
        broadcasts: Broadcasts,
        returns: Returns,
    ) -> None:
        self.db = db
        self.units = units
        self.media_accounts = media_accounts
        self.followers = followers
        self.broadcasts = broadcasts
        self.returns = returns

    async def accounts(
        self, states: tuple[str, ...] = ("正常", "待审核"), scope: Scope | None = None
    ) -> list[AccountView]:
        """Accounts of live units in the given states (a city admin's `scope`: of their units), in official order (unit,
        then platform)."""
        units = {u.id: u for u in await self.units.all() if within(scope, u)}
        facts = await self.follower_facts()
        out = []
        for a in await self.media_accounts.in_states(states):
            unit = units.get(a.unit_id)
            if unit is None:
                continue
            f = facts.get(a.id, {})
            out.append(
                AccountView(
                    a.id,
                    unit,
                    a.platform,
                    a.name,
                    a.uid,
                    a.opened_on,
                    a.state,
                    f.get("count"),
                    f.get("reported_on", ""),
                    f.get("last_post", ""),
                )
            )
        out.sort(key=lambda a: (*unit_key(a.unit), PLATFORM_ORDER.get(a.platform, 99), a.name))
        return out

    async def filings(self, scope: Scope | None = None) -> list[FilingView]:
        """Every filing (a city admin's `scope`: of their units), oldest first (units deleted later keep their history)."""
        out = []
        for r in await self.media_accounts.filing_rows():
            if not within(scope, r["unit_id"]):
                continue
            try:
                changes = json.loads(r["changes"] or "{}")
            except ValueError:
                changes = {}
            change_text = "；".join(f"{CHANGE_NAMES.get(k, k)}→{v}" for k, v in changes.items())
            who = person_name(r["filed_by_name"])
            out.append(
                FilingView(
                    r["id"],
                    r["kind"],
                    r["unit_id"],
                    r["unit_name"],
                    r["platform"],
                    r["account_name"],
                    r["uid"] or "",
                    r["opened_on"] or "",
                    change_text,
                    r["state"],
                    f"{who}（{r['filed_by']}）" if who else r["filed_by"],
                    show_db_time(r["filed_at"]),
                    r["decided_by"] or "",
                    show_db_time(r["decided_at"]),
                    r["reason"] or "",
                )
            )
        return out

    async def audit_log(
        self, limit: int = 50, offset: int = 0, scope: Scope | None = None, actors: tuple[str, ...] = ()
    ) -> tuple[list[AuditEntry], int]:
        """The newest entries of the audit log, and how many there are in all. A city admin's `scope`: the entries
        about their units and those by `actors` (themselves)."""
        only = None if scope is None or scope.everything else (scope.unit_ids, actors)
        async with self.db.read() as tx:
            rows, total = await audit_page(tx, limit, offset, only)
        return [
            AuditEntry(show_db_time(r["at"]), r["actor"], r["unit"] or "", r["action"], r["detail"]) for r in rows
        ], total

    async def files_made_by(self, actors: tuple[str, ...]) -> set[str]:
        """The names of the export files these actors made (from the audit log: `… → <file name>`)."""
        async with self.db.read() as tx:
            details = await details_by(tx, actors, MADE_FILE_ACTIONS)
        return {d.rsplit("→ ", 1)[1].strip() for d in details if "→ " in d}

    async def people_names(self) -> dict[str, str]:
        """QQ id → the name the person goes by in the group, from everything the bot stored about people."""
        sources = [self.units.registrations.applicant_names, self.media_accounts.filer_names]
        sources += [self.task_service(kind).people for kind in TASK_KINDS]
        sources.append(self.units.registrations.operator_names)  # last: the name an operator has now wins
        names: dict[str, str] = {}
        for source in sources:
            for qq, name in await source():
                if name and str(name).strip():
                    names[str(qq)] = str(name).strip()
        return names

    async def unit_tasks(self, unit_id: int, limit: int = 50, scope: Scope | None = None) -> list[UnitTaskLine]:
        """The 统发 and 报送 tasks a unit owed (withdrawn 统发 left out), newest deadline first; a city admin's `scope`:
        without the tasks of another city (see `visible`)."""
        out: list[UnitTaskLine] = []
        for kind in TASK_KINDS:
            for line in await self.task_service(kind).history(unit_id, limit):
                if scope is None or scope.everything or await self.visible(kind, line.id, scope):
                    out.append(line)
        return sorted(out, key=lambda t: t.deadline, reverse=True)[:limit]

    async def record(self, actor: str, action: str, detail: str = "", unit_id: int | None = None) -> None:
        """Write one audit entry in its own transaction."""
        async with self.db.tx() as tx:
            await audit(tx, actor, action, detail, unit_id)

    async def overview(self, scope: Scope | None = None) -> Overview:
        """The counts on the dashboard's first page (a city admin's `scope`: of their units)."""
        units = [u for u in await self.units.all() if within(scope, u)]
        ops = {
            user: unit for user, unit in (await self.units.registrations.all_operators()).items() if within(scope, unit)
        }
        accs = await self.accounts(scope=scope)
        o = Overview()
        o.units = len(units)
        covered = set(ops.values())
        o.units_without_operator = sum(1 for u in units if u.id not in covered)
        o.operators = len(ops)
        o.accounts = sum(1 for a in accs if a.state == "正常")
        o.pending_accounts = sum(1 for a in accs if a.state == "待审核")
        o.pending_filings = len(await self.media_accounts.pending(scope))
        o.pending_applications = len(await self.units.registrations.pending(scope))
        for a in accs:
            if a.state == "正常":
                o.by_platform[a.platform] = o.by_platform.get(a.platform, 0) + 1
        for u in units:
            o.by_category[u.category] = o.by_category.get(u.category, 0) + 1
        return o

    def task_service(self, kind: str) -> TaskService:
        """The service of 统发 or 报送."""
        return self.broadcasts if kind == "统发" else self.returns

    async def tasks(self, kind: str, *, include_closed: bool = True, scope: Scope | None = None) -> list[TaskLine]:
        """统发 or 报送 tasks with their progress, open ones first. A city admin's `scope`: the tasks that concern their
        area (see `scoped_view`), each counted over their units only."""
        lines = await self.task_service(kind).lines(include_closed=include_closed)
        if scope is None or scope.everything:
            return lines
        out = []
        for line in lines:
            t = await self.scoped_view(kind, line.id, scope)
            if t is not None:
                out.append(replace(line, done=len(t.done), total=t.total))
        return out

    async def scoped_view(self, kind: str, task_id: int, scope: Scope) -> TaskView | None:
        """A task as a city admin sees it: their own, or the province's when it owes units of their area, with only
        their units; None for another city's task or one that owes none of their units.

        Raises:
            NotFound: there is no such task.
        """
        service = self.task_service(kind)
        owner = getattr(await service.get(task_id), "owner_unit_id", None)
        if owner is not None and owner not in scope:
            return None
        t = await service.view(task_id)
        mine = replace(t, done=[d for d in t.done if d.unit in scope], missing=[u for u in t.missing if u in scope])
        return mine if owner is not None or mine.total else None

    async def visible(self, kind: str, task_id: int, scope: Scope) -> bool:
        """Whether a city admin sees a task at all (see `scoped_view`)."""
        return await self.scoped_view(kind, task_id, scope) is not None

    async def task(self, kind: str, task_id: int, scope: Scope | None = None) -> TaskView:
        """One task with who did it, when, and who did not (a city admin's `scope`: their units only).

        Raises:
            NotFound: there is no such task. Forbidden: (`scope`) a task the asker may not see.
        """
        if scope is None or scope.everything:
            return await self.task_service(kind).view(task_id)
        t = await self.scoped_view(kind, task_id, scope)
        if t is None:
            raise Forbidden(f"{kind} #{task_id} 不涉及你的管理范围（{scope.label}）内的单位，不能查看。")
        return t

    async def follower_facts(self) -> dict[int, dict[str, Any]]:
        """account id → {count, reported_on, last_post}.

        Counts come from `Followers.latest_all`, post days from `Followers.last_posts`.
        """
        followers = self.followers
        out: dict[int, dict[str, Any]] = {}
        for account_id, (count, day) in (await followers.latest_all()).items():
            out.setdefault(account_id, {}).update(count=count, reported_on=day.isoformat())
        for account_id, day in (await followers.last_posts()).items():
            out.setdefault(account_id, {})["last_post"] = day
        return out

    async def stale_accounts(self) -> dict[int, str]:
        """account id → why it counts as 僵尸号 (no post reported for ALLIANCE_STALE_DAYS), from `Followers.stale`."""
        st = await self.followers.watch.stale()
        out = {}
        for _unit, items in st.no_post:
            for item in items:
                last = f"最近更新 {item.last_post.isoformat()}" if item.last_post else "未报告过更新"
                out[item.account.id] = f"超过 {st.days} 天未更新（{last}）"
        return out

    async def ranking(
        self, platform: str = "", category: str = "", period: str = "本月", scope: Scope | None = None
    ) -> RankingView:
        """Units ranked by follower count, with growth over the period and the target (a city admin's `scope`: theirs)."""
        followers = self.followers
        from bot.followers.periods import parse_period

        per = parse_period(period, clock.now().date())
        r = await followers.rankings.ranking(platform or None, category or None, per, scope)
        growth = {s.unit.id: s.value for s in r.by_growth()}
        rows = [
            FollowerRankRow(s.rank, s.unit, s.value, growth.get(s.unit.id), followers.target(s.unit).amount)
            for s in r.by_count()
        ]
        return RankingView(r.period.label, r.scope, rows, r.units_in_scope)
