"""/查询 facts: one unit's category, city, operators, accounts, returns, 统发 and filings, in one message."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.broadcasts.records import Completion
from bot.readouts.query import UnitFacts, gather, render
from bot.render import person_label, person_name
from bot.returns.records import NewReturn
from bot.units.records import Unit
from tests.conftest import stopped_clock
from tests.fake import GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
OP = 20001


class FakeFollowers:
    def __init__(self, latest: dict[int, tuple[int, date]]) -> None:
        self.latest = latest

    async def latest_for_unit(self, unit_id: int) -> dict[int, tuple[int, date]]:
        return self.latest


class FakeBroadcasts:
    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []
        self.stats = self  # Broadcasts.stats: the part with unit_completion

    async def unit_completion(self, unit_id: int, days: int = 30) -> Completion:
        self.asked.append((unit_id, days))
        return Completion(12, 15, 2)


frozen = stopped_clock(NOW)


async def setup_unit(core: App) -> int:
    unit = await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    a, _ = await core.units.registrations.apply(OP, "张三 13812345678", GROUP, "郑州大学")
    await core.units.registrations.approve([a.id], actor="t")
    a, _ = await core.units.registrations.apply(20002, "李四/0371-63888888", GROUP, "郑州大学")
    await core.units.registrations.approve([a.id], actor="t")
    wx = await core.accounts.file_opening(str(OP), "张三", "微信", "郑州大学")
    await core.accounts.approve([wx.id], actor="t")
    await core.accounts.file_opening(str(OP), "张三", "抖音", "郑大青年")
    return unit.id


async def gathered(core: App, unit: Unit) -> UnitFacts:
    """What /查询 gathers about the unit from the core's services (its broadcasts as the test set them)."""
    return await gather(
        unit,
        units=core.units,
        accounts=core.accounts,
        followers=core.followers,
        broadcasts=core.broadcasts,
        returns=core.returns,
    )


def test_phone_numbers_are_dropped_from_names() -> None:
    assert person_name("张三 13812345678") == "张三"
    assert person_name("张三-138-1234-5678") == "张三"
    assert person_name("李四/0371-63888888") == "李四"
    assert person_name("宣传部王五") == "宣传部王五"
    assert person_name("2026级张三") == "2026级张三"
    for card in (
        "郑大-张三 13812345678",
        "郑大-张三 +86 138 1234 5678",
        "郑大-张三（13812345678）",
        "郑大-张三 １３８１２３４５６７８",
        "郑大-张三 138\u200b1234\u200b5678",
        "郑大-张三 0371-12345678",
        "郑大-张三 (0371)12345678",
        "郑大-张三 QQ:1234567890",
    ):
        assert person_name(card) == "郑大-张三" or person_name(card) == "郑大-张三 QQ", card
    assert person_name("13812345678") == "（未留名）"
    assert person_name("") == "（未留名）"
    assert person_label("张三 13812345678", "20001") == "张三（20001）"
    assert person_label("张三", "13812345678") == "张三"


async def test_one_message_with_every_fact(core: App, monkeypatch: pytest.MonkeyPatch) -> None:
    unit_id = await setup_unit(core)
    accounts = await core.accounts.of_unit(unit_id)
    wx = next(a for a in accounts if a.platform == "微信公众号")
    monkeypatch.setattr(core, "followers", FakeFollowers({wx.id: (123456, date(2026, 11, 18))}), raising=False)
    bc = FakeBroadcasts()
    monkeypatch.setattr(core, "broadcasts", bc, raising=False)
    first = await core.returns.create(NewReturn("秋季统计表", NOW + timedelta(days=2)), actor="900001")
    await core.returns.create(NewReturn("自查表", NOW + timedelta(days=5)), actor="900001")
    await core.returns.submit(str(OP), "张三", first.ret.id)

    text = render(await gathered(core, await core.units.resolve("郑大"))).plain()

    assert text.startswith("“郑州大学”\n类别：本科高校　地市：郑州　简称：郑大")
    assert "联络员（2）：张三、李四" in text
    assert "13812345678" not in text and "63888888" not in text and str(OP) not in text
    assert "微信公众号“郑州大学”：粉丝 123,456（11月18日）" in text
    assert "抖音“郑大青年”（备案审核中）：粉丝数未报" in text
    assert "#1《秋季统计表》已报送，截止 11月22日 09:00" in text
    assert "#2《自查表》未报送，截止 11月25日 09:00（还剩约 5 天）" in text
    assert "近30天统发：12/15（80.0%），另有 2 个未到截止、还没转发的不计入" in text
    assert bc.asked == [(unit_id, 30)]
    assert "待审核备案（1）" in text and "开设" in text


async def test_a_unit_with_nothing_yet(core: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "broadcasts", FakeBroadcasts(), raising=False)
    unit = await core.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")
    text = render(await gathered(core, unit)).plain()
    assert "联络员（0）：无" in text and "账号：还没有登记" in text and "待审核备案：无" in text


async def test_long_account_lists_are_cut_in_a_group(core: App) -> None:
    await setup_unit(core)
    for i in range(5):
        await core.accounts.file_opening(str(OP), "张三", "微博", f"郑大{i}")
    facts = await gathered(core, await core.units.resolve("郑州大学"))
    assert "另有 4 条未列出" in render(facts, limit=3).plain()
    assert "另有" not in render(facts, limit=None).plain()


async def test_completion_with_only_tasks_not_yet_due(core: App, monkeypatch: pytest.MonkeyPatch) -> None:
    class Running(FakeBroadcasts):
        async def unit_completion(self, unit_id: int, days: int = 30) -> Completion:
            return Completion(0, 0, 3)

    monkeypatch.setattr(core, "broadcasts", Running(), raising=False)
    unit = await core.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")
    text = render(await gathered(core, unit)).plain()
    assert "近30天统发：3 个进行中、未到截止，还没有可算完成率的任务" in text
