"""A realistic alliance in a fresh SQLite file: the Henan roster scaled up, operators, accounts and history.

The real roster (`../shared/data/roster-henan.csv`, 163 units) goes in through the project's own importer
(`bot.roster.import_roster`); the schools that scale it up to N units, their operators, accounts, filings and a
year of history are bulk-inserted with plain SQL into the schema of `bot/migrations/*.sql` (opened, and so
migrated, by `bot.db.Database`), which is orders of magnitude faster than going through the services one by one.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot import clock
from bot.db import Database
from bot.roster import import_roster, parse_roster, read_table, sample_roster
from bot.units.service import Units
from bot.units.tree import apply_defaults

ROOT = Path(__file__).resolve().parent.parent
ROSTER = sample_roster()

GROUP = 700100200
ADMINS = (900001, 900002, 900003)
OPERATOR_BASE = 30_000_000  # operator of unit #i is OPERATOR_BASE + i
NEWCOMER_BASE = 50_000_000  # people who are bound to nothing (they may /注册)
PROVINCE_ASKERS = tuple(range(900_100, 900_300))  # more province admins: each asks the roll-up (`rollup` scenario)

# Synthetic schools that scale the roster up: (category, name pattern).
_SCHOOLS = (
    ("高中", "{city}市第{k}高级中学"),
    ("初中", "{city}市第{k}初级中学"),
    ("小学", "{city}市第{k}实验小学"),
    ("中职学校", "{city}市第{k}中等职业学校"),
    ("幼儿园", "{city}市第{k}幼儿园"),
)
_CITIES = (
    "郑州",
    "开封",
    "洛阳",
    "平顶山",
    "安阳",
    "鹤壁",
    "新乡",
    "焦作",
    "濮阳",
    "许昌",
    "漯河",
    "三门峡",
    "南阳",
    "商丘",
    "信阳",
    "周口",
    "驻马店",
    "济源",
)
_PLATFORMS = ("微信公众号", "微博", "抖音", "头条号", "视频号")


@dataclass
class Dataset:
    """What was seeded, for the load generator to pick realistic arguments from."""

    db_path: Path
    group_id: int
    admins: tuple[int, ...]
    units: list[tuple[int, str]] = field(default_factory=list)  # (unit id, name)
    operators: dict[int, int] = field(default_factory=dict)  # QQ id → unit id
    aliases: list[str] = field(default_factory=list)

    def operator_of(self, unit_id: int) -> int:
        return OPERATOR_BASE + unit_id


def synthetic_units(count: int) -> list[tuple[str, str, str]]:
    """`count` distinct school names beyond the roster: (name, category, city)."""
    out: list[tuple[str, str, str]] = []
    for k in itertools.count(1):
        for city in _CITIES:
            for category, pattern in _SCHOOLS:
                if len(out) >= count:
                    return out
                out.append((pattern.format(city=city, k=k), category, city))
    return out  # pragma: no cover


async def seed(
    db_path: str | Path,
    units: int = 2000,
    *,
    roster: Path = ROSTER,
    history: int = 10,
    pending: int = 10,
    seed_value: int = 1,
) -> Dataset:
    """Create a database with `units` units (the real roster first), one operator each, 1–3 accounts per unit,
    filed and approved, `pending` open applications, and `history` sent messages per unit in the outbox.

    Args:
        db_path: the SQLite file to create (it must not exist yet).
        units: how many units in all (at least the roster's size is imported whatever the number).
        roster: the CSV roster to start from.
        history: sent outbox messages per unit (a year of the bot's output makes the file realistically large).
        pending: open registration applications from people not yet bound.
        seed_value: seed of the random choices (accounts per unit), so runs are comparable.
    """
    db_path = Path(db_path)
    if db_path.exists():
        raise FileExistsError(db_path)
    rng = random.Random(seed_value)
    db = Database(db_path)
    await db.open()
    try:
        svc = Units(db)
        data = roster.read_bytes()
        await import_roster(svc, data, roster.name, actor="bench")
        taken = {r.name for r in parse_roster(read_table(data, roster.name))}
        extra = [u for u in synthetic_units(max(0, units - len(taken)) + len(taken)) if u[0] not in taken]
        extra = extra[: max(0, units - len(taken))]
        now = clock.now()
        past = [clock.to_db(now - timedelta(days=d)) for d in range(365, 0, -1)]

        async with db.tx() as tx:
            await tx.many(
                "INSERT INTO units (name, category, city, created_at) VALUES (?, ?, ?, ?)",
                [(name, cat, city, past[0]) for name, cat, city in extra],
            )
            await apply_defaults(tx)  # the schools under their city's 市教育局, as the importer would hang them
            rows = await tx.all("SELECT id, name FROM units WHERE deleted_at IS NULL ORDER BY id")
            ds = Dataset(db_path, GROUP, ADMINS, units=[(r[0], r[1]) for r in rows])
            ds.aliases = [r[0] for r in await tx.all("SELECT alias FROM unit_aliases ORDER BY alias")]

            apps, ops, accounts, filings, audit = [], [], [], [], []
            for n, (unit_id, name) in enumerate(ds.units):
                qq = str(ds.operator_of(unit_id))
                when = past[n % 300]
                apps.append((n + 1, qq, f"联络员{unit_id}", str(GROUP), unit_id, "已通过", when, when, str(ADMINS[0])))
                ops.append((qq, unit_id, f"联络员{unit_id}", str(GROUP), when))
                ds.operators[int(qq)] = unit_id
                audit.append((when, qq, unit_id, "注册申请", f"#{n + 1} {name}"))
                audit.append((when, str(ADMINS[0]), unit_id, "审核通过", f"#{n + 1} {qq} → {name}"))
                for platform in _PLATFORMS[: rng.randint(1, 3)]:
                    account_id = len(accounts) + 1
                    accounts.append((account_id, unit_id, platform, name, f"id{account_id}", "2020-01-01", when))
                    filings.append((account_id, unit_id, qq, f"联络员{unit_id}", when, str(ADMINS[0]), when))
            await tx.many(
                "INSERT INTO applications (id, user_id, user_name, group_id, unit_id, state, created_at, decided_at,"
                " decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                apps,
            )
            await tx.many(
                "INSERT INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES (?, ?, ?, ?, ?)", ops
            )
            await tx.many(
                "INSERT INTO accounts (id, unit_id, platform, name, uid, opened_on, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, '正常', ?)",
                accounts,
            )
            await tx.many(
                "INSERT INTO filings (kind, account_id, unit_id, state, filed_by, filed_by_name, filed_at, decided_by,"
                " decided_at) VALUES ('开设', ?, ?, '已备案', ?, ?, ?, ?, ?)",
                filings,
            )
            await tx.many("INSERT INTO audit (at, actor, unit_id, action, detail) VALUES (?, ?, ?, ?, ?)", audit)
            first = len(ds.units) + 1
            await tx.many(
                "INSERT INTO applications (id, user_id, user_name, group_id, unit_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        first + i,
                        str(NEWCOMER_BASE + i),
                        f"新人{i}",
                        str(GROUP),
                        ds.units[i % len(ds.units)][0],
                        past[-1],
                    )
                    for i in range(pending)
                ],
            )
            await tx.many(
                "INSERT INTO outbox (target_type, target_id, message, state, created_at, sent_at, message_id)"
                " VALUES ('group', ?, ?, 'sent', ?, ?, ?)",
                [
                    (
                        str(GROUP),
                        f'[{{"type": "at", "data": {{"qq": "{ds.operator_of(ds.units[i % len(ds.units)][0])}"}}}}, '
                        f'{{"type": "text", "data": {{"text": " 已记录：历史消息 {i}"}}}}]',
                        past[i % 365],
                        past[i % 365],
                        str(-1_000_000 - i),
                    )
                    for i in range(history * len(ds.units))
                ],
            )
    finally:
        await db.close()
    return ds
