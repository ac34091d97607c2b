"""Who may hand in for a unit, through NoneBot's handlers (issue 20 item 1 and the small items of item 9): the
group_upload notice (uploader's card, impossible QQ ids), /报送 文件 by a stranger, /报送 待确认, /报送 丢弃."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nonebot.adapters.onebot.v11 import Bot, GroupUploadNoticeEvent
from nonebug import App as NBApp

from bot.app import App
from sim import samples
from tests.conftest import say, sent, stopped_clock
from tests.fake import ADMIN, GROUP, group_msg, private_msg

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
ZZU, HENU, STRANGER = 20001, 20002, 30001
FORGED = "郑州大学统计表(更正).xlsx"


frozen = stopped_clock(NOW)


async def setup(nb: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    for qq, unit in ((ZZU, "郑州大学"), (HENU, "河南大学")):
        a, _ = await core.units.registrations.apply(qq, f"联络员{qq}", GROUP, unit)
        await core.units.registrations.approve([a.id], actor="t")
    await say(nb, core, group_msg("/报送 新建 新媒体统计 截止 10-31 17:30 表格 统计表", ADMIN))


def upload_notice(user_id: int, name: str, size: int, file_id: str) -> GroupUploadNoticeEvent:
    return GroupUploadNoticeEvent(
        time=int(time.time()),
        self_id=10000,
        post_type="notice",
        notice_type="group_upload",
        group_id=GROUP,
        user_id=user_id,
        file={"id": file_id, "name": name, "size": size, "busid": 102},
    )


async def notify(nb: NBApp, core: App, event: GroupUploadNoticeEvent, data: bytes | None, card: str = "") -> list:
    """A group_upload notice through the handlers; the client answers who the member is and gives the bytes."""
    async with nb.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        if data is not None:
            ctx.should_call_api(
                "get_group_member_info",
                {"group_id": GROUP, "user_id": event.user_id, "no_cache": False},
                {"user_id": event.user_id, "card": card, "nickname": "昵称"},
            )
            ctx.should_call_api(
                "get_group_file_url",
                {"group_id": GROUP, "file_id": event.file.id, "busid": 102},
                {"base64": base64.b64encode(data).decode()},
            )
        await bot.handle_event(event)
    return await sent(core)


async def test_a_strangers_upload_notice_is_set_aside_shown_by_card_and_told_to_the_admin(
    app: NBApp, core: App
) -> None:
    await setup(app, core)
    data = samples.xlsx(samples.stats_rows("郑州大学", 1))
    out = await notify(app, core, upload_notice(STRANGER, FORGED, len(data), "/f1"), data, card="王五")
    to_group = [o for o in out if o["target"] == ("group", str(GROUP))]
    assert len(to_group) == 1 and to_group[0]["ats"] == [str(STRANGER)]
    assert "先交管理员确认，不计入报送" in to_group[0]["text"]
    private = [o for o in out if o["target"] == ("private", str(ADMIN))]
    assert len(private) == 1 and f"上传人 王五（{STRANGER}）没有绑定单位（文件名像是郑州大学的）" in private[0]["text"]
    (rec,) = await core.return_files.pending.pending_files()
    assert rec.uploaded_by_name == "王五"
    assert (await core.returns.progress(1)).done == []


@pytest.mark.parametrize("bad", [-5, 10**15])
async def test_an_upload_notice_from_an_impossible_qq_id_is_refused_in_the_group(
    app: NBApp, core: App, bad: int
) -> None:
    await setup(app, core)
    out = await notify(app, core, upload_notice(bad, "郑州大学统计表.xlsx", 100, "/bad"), None)
    assert [(o["target"], o["ats"]) for o in out] == [(("group", str(GROUP)), [])]
    assert out[0]["text"].startswith("无法识别你的 QQ 号")
    assert await core.return_files.files_of(1) == [] and await core.return_files.pending.pending_files() == []


async def test_hand_in_command_by_a_stranger_or_another_units_operator_is_refused(app: NBApp, core: App) -> None:
    await setup(app, core)
    await notify(app, core, upload_notice(STRANGER, FORGED, 10, "/f2"), samples.xlsx(samples.stats_rows("郑州大学", 1)))
    out = await say(app, core, group_msg("/报送 文件 1 郑州大学", STRANGER))
    assert "只有郑州大学的联络员和管理员可以替它交文件" in out[0]["text"]
    (rec,) = await core.return_files.pending.pending_files()
    out = await say(app, core, group_msg(f"/报送 文件 1 郑州大学 #{rec.id}", HENU))
    assert out[0]["text"].endswith(f"没有待确认的文件 #{rec.id}。")
    assert (await core.returns.progress(1)).done == []


async def test_the_admin_sees_takes_in_and_drops_waiting_files(app: NBApp, core: App) -> None:
    await setup(app, core)
    for n, (who, name) in enumerate(((STRANGER, FORGED), (STRANGER + 1, "郑州大学统计表2.xlsx"))):
        data = samples.xlsx(samples.stats_rows("郑州大学", n + 1))
        await notify(app, core, upload_notice(who, name, len(data), f"/w{n}"), data, card=f"人{n}")
    a, b = [f.id for f in await core.return_files.pending.pending_files()]
    out = await say(app, core, group_msg("/报送 待确认", ADMIN))
    assert [o["target"] for o in out] == [("group", str(GROUP)), ("private", str(ADMIN))]
    assert out[0]["text"].endswith("待确认的文件已私聊发给你。")
    assert out[1]["text"].startswith("待确认的文件（2）：") and f"/报送 文件 1 郑州大学 #{a}" in out[1]["text"]
    out = await say(app, core, group_msg("/报送 文件 1 郑州大学", ADMIN))  # two look like 郑州大学: which?
    assert f"有 2 个待确认的文件像是“郑州大学”的（#{a}、#{b}），请写出文件编号" in out[0]["text"]
    out = await say(app, core, group_msg(f"/报送 文件 1 郑州大学 #{b}", ADMIN))
    assert out[0]["text"].endswith("收到 郑州大学 的统计表：2 个账号，已记为已报送。")
    out = await say(app, core, group_msg(f"/报送 丢弃 {a}", ZZU))
    assert "只有管理员可以丢弃待确认的文件" in out[0]["text"]
    out = await say(app, core, private_msg(f"/报送 丢弃 {a}", ADMIN))
    assert out[0]["text"] == f"已丢弃 1 个待确认文件：#{a}“{FORGED}”。"
    out = await say(app, core, private_msg("/报送 待确认", ADMIN))
    assert out[0]["text"] == "没有待确认的文件。"
