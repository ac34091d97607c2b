"""Accounts and filings: opening, change, closure; review; who may file what."""

from __future__ import annotations

import pytest

from bot.accounts import MediaAccounts
from bot.app import App
from bot.errors import NotFound, UserError

ADMIN = "900001"
OP, OP_HENU, STRANGER = "20001", "20002", "20009"


@pytest.fixture
async def accounts(core: App) -> MediaAccounts:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    for user, name in ((OP, "郑大"), (OP_HENU, "河南大学")):
        app, _ = await core.units.registrations.apply(user, f"用户{user}", None, name)
        await core.units.registrations.approve([app.id], actor=ADMIN)
    return core.accounts


async def _states(core: App) -> list[tuple[str, str, str]]:
    async with core.db.read() as tx:
        return [tuple(r) for r in await tx.all("SELECT platform, name, state FROM accounts ORDER BY id")]


async def test_opening_is_pending_until_approved(core: App, accounts: MediaAccounts) -> None:
    f = await accounts.file_opening(OP, "张三", "微信", "郑州大学", "zzu1956", "2014-03-01")
    assert (f.kind, f.state, f.unit_name) == ("开设", "待审核", "郑州大学")
    assert (f.account.platform, f.account.name, f.account.uid, f.account.opened_on) == (
        "微信公众号",
        "郑州大学",
        "zzu1956",
        "2014-03-01",
    )
    assert (f.filed_by, f.filed_by_name) == (OP, "张三") and f.filed_at
    assert [p.id for p in await accounts.pending()] == [f.id]
    unit = await core.units.resolve("郑州大学")
    assert [p.id for p in await accounts.pending_for_unit(unit.id)] == [f.id]
    assert [a.state for a in await accounts.of_unit(unit.id)] == ["待审核"]

    [(fid, done, err)] = await accounts.approve([f.id], actor=ADMIN)
    assert fid == f.id and err == "" and done is not None and done.state == "已备案"
    assert [a.state for a in await accounts.of_unit(unit.id)] == ["正常"]
    assert await accounts.pending() == []
    async with core.db.read() as tx:
        row = await tx.one("SELECT decided_by, decided_at FROM filings WHERE id=?", (f.id,))
        assert row["decided_by"] == ADMIN and row["decided_at"]


async def test_platform_aliases(core: App, accounts: MediaAccounts) -> None:
    a = await accounts.file_opening(OP, "张三", "公众号", "郑大青年")
    b = await accounts.file_opening(OP, "张三", "哔哩哔哩", "郑州大学")
    c = await accounts.file_opening(OP, "张三", "头条", "郑州大学")
    d = await accounts.file_opening(OP, "张三", "APP", "郑大")
    assert [x.account.platform for x in (a, b, c, d)] == ["微信公众号", "B站", "头条号", "客户端"]
    with pytest.raises(UserError, match="不认识平台"):
        await accounts.file_opening(OP, "张三", "脸书", "郑州大学")


async def test_duplicates_are_refused(core: App, accounts: MediaAccounts) -> None:
    await accounts.file_opening(OP, "张三", "微博", "郑州大学")
    with pytest.raises(UserError, match="不必重复"):
        await accounts.file_opening(OP, "张三", "新浪微博", "郑州大学")
    with pytest.raises(UserError, match="不必重复"):
        await accounts.file_opening(OP, "张三", "微博", "郑州大学".upper())
    # another platform or another unit may use the same name
    await accounts.file_opening(OP, "张三", "抖音", "郑州大学")
    await accounts.file_opening(OP_HENU, "李四", "微博", "郑州大学")
    assert len(await _states(core)) == 3


async def test_rejected_opening_may_be_filed_again(core: App, accounts: MediaAccounts) -> None:
    f = await accounts.file_opening(OP, "张三", "微博", "郑州大学")
    rejected = await accounts.reject(f.id, "名称不规范", actor=ADMIN)
    assert rejected.state == "已驳回" and rejected.reason == "名称不规范"
    assert await _states(core) == [("微博", "郑州大学", "已驳回")]
    with pytest.raises(UserError, match="不能再驳回"):
        await accounts.reject(f.id, "", actor=ADMIN)
    [(_, none, err)] = await accounts.approve([f.id], actor=ADMIN)
    assert none is None and "已驳回" in err
    again = await accounts.file_opening(OP, "张三", "微博", "郑州大学")
    assert again.state == "待审核"


async def test_change_filing_applies_on_approval(core: App, accounts: MediaAccounts) -> None:
    f = await accounts.file_opening(OP, "张三", "微博", "郑大")
    await accounts.approve([f.id], actor=ADMIN)
    ch = await accounts.file_change(OP, "张三", "微博", "郑大", ["名称=郑州大学", "账号ID=zzu", "开通日期=2015-05-04"])
    assert ch.kind == "变更" and ch.changes == {"name": "郑州大学", "uid": "zzu", "opened_on": "2015-05-04"}
    assert "名称→郑州大学" in ch.describe()
    assert await _states(core) == [("微博", "郑大", "正常")]  # nothing changes before review
    await accounts.approve([ch.id], actor=ADMIN)
    unit = await core.units.resolve("郑州大学")
    [acc] = await accounts.of_unit(unit.id)
    assert (acc.name, acc.uid, acc.opened_on, acc.state) == ("郑州大学", "zzu", "2015-05-04", "正常")


async def test_change_needs_known_fields(core: App, accounts: MediaAccounts) -> None:
    await accounts.file_opening(OP, "张三", "微博", "郑大")
    with pytest.raises(UserError, match="字段=值"):
        await accounts.file_change(OP, "张三", "微博", "郑大", ["粉丝=100"])
    with pytest.raises(UserError, match="字段=值"):
        await accounts.file_change(OP, "张三", "微博", "郑大", ["名称"])
    with pytest.raises(UserError, match="要改的内容"):
        await accounts.file_change(OP, "张三", "微博", "郑大", [])
    with pytest.raises(UserError, match="日期"):
        await accounts.file_change(OP, "张三", "微博", "郑大", ["开通日期=明年"])
    await accounts.file_opening(OP, "张三", "微博", "郑州大学")
    with pytest.raises(UserError, match="不能改成"):
        await accounts.file_change(OP, "张三", "微博", "郑大", ["名称=郑州大学"])
    with pytest.raises(NotFound, match="郑大"):
        await accounts.file_change(OP, "张三", "微博", "河大", ["名称=x"])


async def test_closure(core: App, accounts: MediaAccounts) -> None:
    f = await accounts.file_opening(OP, "张三", "抖音", "郑大青年")
    await accounts.approve([f.id], actor=ADMIN)
    c = await accounts.file_closure(OP, "张三", "抖音", "郑大青年")
    assert c.kind == "注销" and c.state == "待审核"
    with pytest.raises(UserError, match="审核中"):
        await accounts.file_closure(OP, "张三", "抖音", "郑大青年")
    await accounts.approve([c.id], actor=ADMIN)
    assert await _states(core) == [("抖音", "郑大青年", "已注销")]
    unit = await core.units.resolve("郑州大学")
    assert await accounts.of_unit(unit.id) == []
    assert len(await accounts.of_unit(unit.id, include_closed=True)) == 1
    with pytest.raises(NotFound):
        await accounts.file_closure(OP, "张三", "抖音", "郑大青年")
    # a closed name may be opened again
    await accounts.file_opening(OP, "张三", "抖音", "郑大青年")


async def test_an_opening_approved_after_the_closure_does_not_reopen(core: App, accounts: MediaAccounts) -> None:
    opening = await accounts.file_opening(OP, "张三", "快手", "郑大")
    closure = await accounts.file_closure(OP, "张三", "快手", "郑大")
    await accounts.approve([closure.id], actor=ADMIN)
    await accounts.approve([opening.id], actor=ADMIN)
    assert await _states(core) == [("快手", "郑大", "已注销")]


async def test_operator_acts_only_for_their_own_unit(core: App, accounts: MediaAccounts) -> None:
    f = await accounts.file_opening(OP, "张三", "微博", "郑州大学")
    assert f.unit_name == "郑州大学"
    await accounts.approve([f.id], actor=ADMIN)
    with pytest.raises(NotFound):
        await accounts.file_change(OP_HENU, "李四", "微博", "郑州大学", ["名称=河南大学"])
    with pytest.raises(NotFound):
        await accounts.file_closure(OP_HENU, "李四", "微博", "郑州大学")
    assert await _states(core) == [("微博", "郑州大学", "正常")]
    henu = await accounts.file_opening(OP_HENU, "李四", "微博", "河南大学")
    assert henu.unit_name == "河南大学"


async def test_unbound_user_is_refused(core: App, accounts: MediaAccounts) -> None:
    for call in (
        accounts.file_opening(STRANGER, "路人", "微博", "郑州大学"),
        accounts.file_change(STRANGER, "路人", "微博", "郑州大学", ["名称=x"]),
        accounts.file_closure(STRANGER, "路人", "微博", "郑州大学"),
    ):
        with pytest.raises(UserError, match="注册"):
            await call
    assert await _states(core) == []


async def test_every_filing_is_kept_with_who_and_when(core: App, accounts: MediaAccounts) -> None:
    f1 = await accounts.file_opening(OP, "张三", "微博", "郑大")
    await accounts.approve([f1.id], actor=ADMIN)
    f2 = await accounts.file_change(OP, "张三", "微博", "郑大", ["名称=郑州大学"])
    await accounts.reject(f2.id, "", actor=ADMIN)
    f3 = await accounts.file_closure(OP, "张三", "微博", "郑大")
    async with core.db.read() as tx:
        rows = await tx.all("SELECT id, kind, state, filed_by, filed_at FROM filings ORDER BY id")
    assert [(r["kind"], r["state"], r["filed_by"]) for r in rows] == [
        ("开设", "已备案", OP),
        ("变更", "已驳回", OP),
        ("注销", "待审核", OP),
    ]
    assert all(r["filed_at"] for r in rows)
    assert [r["id"] for r in rows] == [f1.id, f2.id, f3.id]


async def test_approving_several_reports_each(core: App, accounts: MediaAccounts) -> None:
    a = await accounts.file_opening(OP, "张三", "微博", "郑大")
    b = await accounts.file_opening(OP, "张三", "抖音", "郑大")
    results = await accounts.approve([a.id, 999, b.id, a.id], actor=ADMIN)
    assert [(fid, err == "") for fid, _, err in results] == [(a.id, True), (999, False), (b.id, True)]
    assert "999" in results[1][2]


async def test_bad_opening_date_and_empty_name(core: App, accounts: MediaAccounts) -> None:
    with pytest.raises(UserError, match="日期"):
        await accounts.file_opening(OP, "张三", "微博", "郑大", "", "去年春天")
    with pytest.raises(UserError, match="不能为空"):
        await accounts.file_opening(OP, "张三", "微博", "  ")
    assert await _states(core) == []
