"""/统发 进度 and /报送 进度 by level (issue 24.3): the province sees a line per city and per direct category and
drills down; a city admin sees their units; an operator the overall figure and their own city's line."""

from __future__ import annotations

from pathlib import Path

from nonebug import App as NBApp
from PIL import Image

import plugins._rollup
from bot.app import App
from bot.pictures import Pictures
from bot.roster import import_file
from tests.conftest import NEEDS_FONT, ROSTER, say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

CITY, OP_JINSHUI, OP_ZZU = 30001, 30002, 30003
LINK = "https://mp.weixin.qq.com/s/abc"


async def _alliance(app: NBApp, core: App) -> None:
    await import_file(core.units, ROSTER)
    for uid, unit in ((OP_JINSHUI, "郑州市金水区教育局"), (OP_ZZU, "郑州大学")):
        a, _ = await core.units.registrations.apply(uid, f"联络员{uid}", str(GROUP), unit)
        await core.units.registrations.approve([a.id], actor=str(ADMIN))
    await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
    out = await say(app, core, group_msg(f"/统发 学习大会精神 {LINK} 截止 3天后", ADMIN))
    assert any("已发布统发 #1" in o["text"] and "163 个单位需完成" in o["text"] for o in out)
    await say(app, core, group_msg("/已转发 1", OP_JINSHUI))


async def test_the_province_sees_a_line_per_city_and_per_direct_category(app: NBApp, core: App) -> None:
    await _alliance(app, core)
    (out,) = await say(app, core, private_msg("/统发 进度 1", ADMIN))
    text = out["text"]
    assert "已完成 1/163（0.6%）" in text and "按城市（市教育局及其下级单位）：" in text
    lines = text.splitlines()
    cities = [ln for ln in lines if ln.split(" ")[0].endswith("市") and "/" in ln.split(" ")[1]]
    assert len(cities) == 18
    assert "郑州市 1/13（7.7%），未完成 12 个：郑州市教育局、郑州市中原区教育局" in text
    assert "省直属单位（按类别）：" in text and "本科高校 0/36（0.0%），未完成 36 个：郑州大学" in text
    assert "高职高专 0/30" in text and "省直单位 0/1" in text
    assert "看某个城市的全部未完成单位：/统发 进度 1 " in text
    # in the group: three names a line, the whole roll-up folded one tap away
    (grp,) = await say(app, core, group_msg("/统发 进度 1", ADMIN))
    assert (
        "郑州市 1/13（7.7%），未完成 12 个：郑州市教育局、郑州市中原区教育局、郑州市二七区教育局 等" in grp["fallback"]
    )
    assert "郑州市登封市教育局" in "\n".join(grp["nodes"]) and "郑州市登封市教育局" not in grp["fallback"]


async def test_the_province_drills_down_to_a_city(app: NBApp, core: App) -> None:
    await _alliance(app, core)
    (out,) = await say(app, core, private_msg("/统发 进度 1 郑州", ADMIN))
    text = out["text"]
    assert text.startswith("【郑州市教育局及其下级单位】") and "已完成 1/13（7.7%）" in text
    assert "【市教育局】1 个：郑州市教育局" in text and "【县区教育局】11 个：郑州市中原区教育局" in text
    assert "开封" not in text and "郑州大学" not in text and "郑州市金水区教育局" not in text
    (cat,) = await say(app, core, private_msg("/统发 进度 1 本科高校", ADMIN))
    assert "已完成 0/36" in cat["text"] and "郑州大学" in cat["text"] and "郑州市教育局" not in cat["text"]
    (bad,) = await say(app, core, private_msg("/统发 进度 1 不存在市", ADMIN))
    assert "不存在市" in bad["text"] and "Traceback" not in bad["text"]


async def test_a_city_admin_sees_only_their_units(app: NBApp, core: App) -> None:
    await _alliance(app, core)
    (out,) = await say(app, core, group_msg("/统发 进度 1", CITY))
    text = out["text"]
    assert "【郑州市教育局及其下级单位】" in text and "已完成 1/13（7.7%）" in text
    assert "郑州市中原区教育局" in text and "开封" not in text and "郑州大学" not in text
    (other,) = await say(app, core, group_msg("/统发 进度 1 开封", CITY))
    assert "“开封市教育局”不在你的管理范围内" in other["text"] and "郑州市教育局及其下级单位" in other["text"]
    (county,) = await say(app, core, group_msg("/统发 进度 1 郑州市二七区教育局", CITY))
    assert "已完成 0/1" in county["text"] and "郑州市二七区教育局" in county["text"]


async def test_an_operator_sees_the_overall_figure_and_their_own_city(app: NBApp, core: App) -> None:
    await _alliance(app, core)
    (out,) = await say(app, core, group_msg("/统发 进度 1", OP_JINSHUI))
    text = out["text"]
    assert "已完成 1/163（0.6%）" in text and "本市：郑州市 1/13（7.7%），未完成 12 个：郑州市教育局" in text
    assert "开封市" not in text and "按城市" not in text
    (zzu,) = await say(app, core, group_msg("/统发 进度 1", OP_ZZU))
    assert "本类（省直属）：本科高校 0/36" in zzu["text"]
    (city,) = await say(app, core, group_msg("/统发 进度 1 开封", OP_ZZU))  # progress is public: any city
    assert "【开封市教育局及其下级单位】" in city["text"] and "已完成 0/10" in city["text"]


async def test_returns_roll_up_the_same_way(app: NBApp, core: App) -> None:
    await _alliance(app, core)
    await say(app, core, group_msg("/报送 新建 秋季统计 截止 3天后", ADMIN))
    await say(app, core, group_msg("/已报送 1", OP_JINSHUI))
    (out,) = await say(app, core, private_msg("/报送 进度 1", ADMIN))
    assert "已报送 1/163" in out["text"] and "郑州市 1/13（7.7%），未报送 12 个：郑州市教育局" in out["text"]
    (mine,) = await say(app, core, group_msg("/报送 进度 1", CITY))
    assert "已报送 1/13" in mine["text"] and "开封" not in mine["text"]
    (drill,) = await say(app, core, private_msg("/报送 进度 1 开封", ADMIN))
    assert "【开封市教育局及其下级单位】" in drill["text"] and "已报送 0/10" in drill["text"]


@NEEDS_FONT
async def test_the_roll_up_picture_fits_a_phone_with_the_text_alongside(app: NBApp, core: App, tmp_path: Path) -> None:
    await _alliance(app, core)
    core.pictures = Pictures(tmp_path / "data")  # the tests' settings turn pictures off; here they are on
    picture, *rest = await say(app, core, group_msg("/统发 进度 1", ADMIN))
    (image,) = [s for s in picture["segments"] if s["type"] == "image"]
    with Image.open(image["data"]["file"].removeprefix("file://")) as im:
        assert im.width == 760 and im.height <= 1600
    assert "郑州市 1/13（7.7%）" in picture["fallback"] and "本科高校 0/36" in picture["fallback"]
    assert rest and "郑州市登封市教育局" in "\n".join(rest[0]["nodes"])  # the whole roll-up, one tap away


async def test_units_without_an_operator_are_marked_in_the_roll_up_and_named_in_the_drill_down(
    app: NBApp, core: App
) -> None:
    """Nobody bound to a unit, nobody can confirm for it: each roll-up line counts those units (统发 and 报送, the text
    and the picture's text version); a city's drill-down names them (*)."""
    await _alliance(app, core)  # operators: 金水 (done) and 郑州大学
    a, _ = await core.units.registrations.apply(30004, "联络员30004", str(GROUP), "郑州市中原区教育局")
    await core.units.registrations.approve([a.id], actor=str(ADMIN))
    (out,) = await say(app, core, private_msg("/统发 进度 1", ADMIN))
    text = out["text"]
    assert "郑州市 1/13（7.7%），未完成 12 个：" in text
    zz = next(ln for ln in text.splitlines() if ln.startswith("郑州市 "))
    assert zz.endswith("；其中 11 个单位无联络员"), zz  # 中原 has an operator; the other 11 have none
    kf = next(ln for ln in text.splitlines() if ln.startswith("开封市 "))
    assert kf.endswith("；其中 10 个单位无联络员"), kf
    colleges = next(ln for ln in text.splitlines() if ln.startswith("本科高校 "))
    assert colleges.endswith("；其中 35 个单位无联络员"), colleges  # 郑州大学 has one
    (grp,) = await say(app, core, group_msg("/统发 进度 1", ADMIN))  # the group's folded text alike
    assert "等；其中 11 个单位无联络员" in grp["fallback"]
    (mine,) = await say(app, core, group_msg("/统发 进度 1", OP_ZZU))
    assert "本类（省直属）：本科高校 0/36" in mine["text"] and "其中 35 个单位无联络员" in mine["text"]

    (drill,) = await say(app, core, private_msg("/统发 进度 1 郑州", ADMIN))
    assert "郑州市教育局*" in drill["text"] and "郑州市中原区教育局*" not in drill["text"]
    assert "带 * 的 11 个单位没有联络员" in drill["text"]

    await say(app, core, group_msg("/报送 新建 秋季统计 截止 3天后", ADMIN))
    await say(app, core, group_msg("/已报送 1", OP_JINSHUI))
    (ret,) = await say(app, core, private_msg("/报送 进度 1", ADMIN))
    zz = next(ln for ln in ret["text"].splitlines() if ln.startswith("郑州市 "))
    assert zz.startswith("郑州市 1/13（7.7%），未报送 12 个：") and zz.endswith("；其中 11 个单位无联络员"), zz
    (drill,) = await say(app, core, private_msg("/报送 进度 1 郑州", ADMIN))
    assert "郑州市教育局*" in drill["text"] and "郑州市中原区教育局*" not in drill["text"]
    assert "带 * 的 11 个单位没有联络员" in drill["text"]
    (city,) = await say(app, core, group_msg("/报送 进度 1", CITY))  # the city admin's own list alike
    assert "郑州市二七区教育局*" in city["text"] and "带 * 的 11 个单位没有联络员" in city["text"]


@NEEDS_FONT
async def test_the_roll_up_picture_is_made_once_for_many_askers_and_anew_after_a_confirmation(
    app: NBApp, core: App, tmp_path: Path, monkeypatch
) -> None:
    await _alliance(app, core)
    core.pictures = Pictures(tmp_path / "data")
    made: list[int] = []
    real = plugins._rollup.rollup_card

    def counting(*args, **kw):
        made.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(plugins._rollup, "rollup_card", counting)

    def picture_of(answer: list[dict]) -> tuple[str, str]:
        (image,) = [s for s in answer[0]["segments"] if s["type"] == "image"]
        return image["data"]["file"], answer[0]["fallback"]

    first = picture_of(await say(app, core, group_msg("/统发 进度 1", ADMIN)))
    again = picture_of(await say(app, core, group_msg("/统发 进度 1 图片", ADMIN)))  # not a repeat: answered
    assert again == first and len(made) == 1 and "已完成 1/163（0.6%）" in first[1]
    await say(app, core, group_msg("/已转发 1", OP_ZZU))
    after = picture_of(await say(app, core, group_msg("/统发 进度 1", ADMIN)))
    assert len(made) == 2 and after[0] != first[0]
    assert "已完成 2/163（1.2%）" in after[1] and "本科高校 1/36" in after[1]
