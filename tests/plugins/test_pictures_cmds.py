"""Which answers are pictures: long lists in a group (over ALLIANCE_PICTURE_LINES rows), each with its text as the
alternative; short ones, private chats and 文字 stay text; 图片 asks for one anywhere."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from nonebug import App as NBApp
from PIL import Image

from bot import clock
from bot.app import App
from bot.pictures import Pictures
from bot.pictures.cards import FIX
from bot.returns.records import NEEDS_FIX
from tests.conftest import NEEDS_FONT, say
from tests.fake import ADMIN, GROUP, group_msg, private_msg
from tests.plugins.test_broadcast_cmds import LINK, OP1, OP2, OP3, OP4, seed


async def _many(core: App, tmp_path: Path) -> None:
    await seed(core)
    for i in range(15):
        await core.units.add(f"第{i:02d}中学", "高中", "郑州", actor="t")
    core.pictures = Pictures(tmp_path / "data")  # the tests' settings turn pictures off; here they are on


def _png(out: dict) -> bytes:
    (image,) = [s for s in out["segments"] if s["type"] == "image"]
    return Path(image["data"]["file"].removeprefix("file://")).read_bytes()


@NEEDS_FONT
async def test_long_lists_are_pictures_in_the_group_with_their_text(app: NBApp, core: App, tmp_path: Path) -> None:
    await _many(core, tmp_path)
    t0 = clock.now()
    clock.freeze(t0)
    await say(app, core, group_msg(f"/统发 大会精神 {LINK} 截止 3天后", ADMIN))
    (out,) = await say(app, core, group_msg("/统发 进度 1", OP1))
    assert out["ats"] == [str(OP1)] and _png(out).startswith(b"\x89PNG")
    assert "已完成 0/19" in out["fallback"] and out["fallback"].startswith(" ")  # @ then the cut text
    clock.freeze(t0 + timedelta(days=4))  # past the deadline: the task counts against the units that owe it
    # the task's month, named: four days on may be the next month (the suite failed when run on 12月31日)
    (stats,) = await say(app, core, group_msg(f"/统发 统计 {t0:%Y-%m}", OP1))
    assert _png(stats).startswith(b"\x89PNG") and "统发 1 次" in stats["fallback"]
    clock.freeze(t0)
    (targets,) = await say(app, core, group_msg("/粉丝 目标 高中", OP1))
    assert _png(targets).startswith(b"\x89PNG") and "高中 粉丝目标完成情况（达标 0/15）" in targets["fallback"]
    await say(app, core, group_msg("/报送 新建 秋季统计表 截止 3天后", ADMIN))
    (ret,) = await say(app, core, group_msg("/报送 进度 1", OP1))
    assert _png(ret).startswith(b"\x89PNG") and "已报送 0/19" in ret["fallback"]

    # the same data: the same picture (asked by someone else: the same person asking again within a minute
    # gets a reaction, not the answer again; issue 20)
    (again,) = await say(app, core, group_msg("/统发 进度 1", ADMIN))
    assert _png(again) == _png(out) and core.pictures.rendered == 4

    (text,) = await say(app, core, group_msg("/统发 进度 1 文字", OP1))
    assert not [s for s in text["segments"] if s["type"] == "image"] and "已完成 0/19" in text["text"]
    (private,) = await say(app, core, private_msg("/统发 进度 1", ADMIN))
    assert "已完成 0/19" in private["text"] and "第14中学" in private["text"]
    (asked,) = await say(app, core, private_msg("/统发 进度 1 图片", ADMIN))
    assert _png(asked).startswith(b"\x89PNG")
    (short,) = await say(app, core, group_msg("/粉丝 目标 本科高校", OP1))  # two units: text
    assert "本科高校 粉丝目标完成情况" in short["text"] and not short["fallback"]
    assert (await say(app, core, group_msg("/统发 进度 1", OP1)))[0]["target"] == ("group", str(GROUP))


async def test_without_a_font_the_answer_is_text(app: NBApp, core: App, tmp_path: Path) -> None:
    await _many(core, tmp_path)
    core.pictures = Pictures(tmp_path / "data", font_setting="/nonexistent.ttf", enabled=False)
    await say(app, core, group_msg(f"/统发 大会精神 {LINK} 截止 3天后", ADMIN))
    (out,) = await say(app, core, group_msg("/统发 进度 1 图片", OP1))
    assert "已完成 0/19" in (out["text"] or "".join(out["nodes"]))
    assert not [s for s in out["segments"] if s["type"] == "image"]


@NEEDS_FONT
async def test_return_progress_picture_shows_units_needing_changes_in_their_colour(
    app: NBApp, core: App, tmp_path: Path
) -> None:
    await _many(core, tmp_path)
    await say(app, core, group_msg("/报送 新建 秋季统计表 截止 3天后 表格 统计表", ADMIN))
    (before,) = await say(app, core, group_msg("/报送 进度 1", OP1))
    async with core.db.tx() as tx:  # 郑州大学 handed in a file with problems (what the file check stores)
        await tx.run("UPDATE return_units SET file_state=? WHERE return_id=1 AND unit_id=1", (NEEDS_FIX,))
    (out,) = await say(app, core, group_msg("/报送 进度 1", OP1))
    assert "其中需修改（1，已交文件但有问题）：郑州大学" in out["fallback"]
    img = Image.open(io.BytesIO(_png(out))).convert("RGB")
    assert any(c == FIX for _, c in img.getcolors(maxcolors=1 << 24) or [])
    img = Image.open(io.BytesIO(_png(before))).convert("RGB")
    assert not any(c == FIX for _, c in img.getcolors(maxcolors=1 << 24) or [])


@NEEDS_FONT
async def test_a_long_progress_is_a_phone_sized_picture_with_the_whole_list_one_tap_away(
    app: NBApp, core: App, tmp_path: Path
) -> None:
    # (asked with 全部: 124 units in two cities are otherwise rolled up by city, issue 24)
    # issue 23: 2,000 units owing made a picture 5,419 px tall; now the first few per category, then a folded list
    await seed(core)
    for i in range(120):
        await core.units.add(f"郑州市第{i:03d}初级中学", "初中", "郑州", actor="t")
    core.pictures = Pictures(tmp_path / "data")
    await say(app, core, group_msg(f"/统发 大会精神 {LINK} 截止 3天后", ADMIN))
    picture, folded = await say(app, core, group_msg("/统发 进度 1 全部", OP1))
    assert picture["ats"] == [str(OP1)] and "已完成 0/124" in picture["fallback"]
    with Image.open(io.BytesIO(_png(picture))) as im:
        assert im.width == 760 and im.height <= 1600
    whole = "\n".join(folded["nodes"])
    assert folded["target"] == ("group", str(GROUP)) and not folded["ats"]
    assert all(f"郑州市第{i:03d}初级中学" in whole for i in range(120)) and "未列出" not in whole
    assert folded["fallback"] == "完整名单：私聊机器人发 /统发 进度 1 全部"
    # the next asker within a minute: the picture, pointing to the list the group was just sent (not sent again)
    (again,) = await say(app, core, group_msg("/统发 进度 1 全部", OP2))
    assert _png(again) == _png(picture) and again["ats"] == [str(OP2)]
    # a minute on, with a unit done: the list is sent again, as it now is
    clock.freeze(clock.now() + timedelta(seconds=61))
    await say(app, core, group_msg("/已转发 1", OP1))
    _, refreshed = await say(app, core, group_msg("/统发 进度 1 全部", OP3))
    assert "郑州大学" in whole and "郑州大学" not in "\n".join(refreshed["nodes"])
    # 报送 progress the same way
    await say(app, core, group_msg("/报送 新建 秋季统计表 截止 3天后", ADMIN))
    pic, listed = await say(app, core, group_msg("/报送 进度 1 全部", OP2))
    assert _png(pic).startswith(b"\x89PNG") and "已报送 0/124" in pic["fallback"]
    assert (
        "郑州市第119初级中学" in "\n".join(listed["nodes"])
        and listed["fallback"] == "完整名单：私聊机器人发 /报送 进度 1 全部"
    )
    # asked for text: the text, folded as before; in a private chat, 图片 gives the picture alone
    (text,) = await say(app, core, group_msg("/统发 进度 1 全部 文字", OP4))
    assert text["nodes"] and "另有" in text["fallback"]
    (private,) = await say(app, core, private_msg("/统发 进度 1 全部 图片", ADMIN))
    assert _png(private).startswith(b"\x89PNG") and _png(private) != _png(picture)  # it says: 发 /统发 进度 1 文字
