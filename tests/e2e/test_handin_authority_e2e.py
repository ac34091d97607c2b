"""Issue 20 item 1 end to end: a group member bound to no unit uploads `郑州大学统计表(更正).xlsx` with one made-up
row after 郑州大学's operator handed in a good form. The real bot keeps it aside (待确认): not counted, the operator's
file still the one merged, the admin told privately, once."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from sim import samples
from sim.qqsim import QQClient
from sim.qqsim_files import FileServer, SimFiles
from tests.e2e.bots import ADMIN, GROUP, answer_to, command, enrol
from tests.e2e.test_return_files_e2e import HENU, ZZU, world  # noqa: F401

pytestmark = pytest.mark.asyncio

STRANGER = 30001


async def test_a_strangers_upload_named_for_a_unit_is_kept_aside_for_the_admin(
    world: tuple[QQClient, SimFiles, FileServer],  # noqa: F811
) -> None:
    client, files, _ = world
    await enrol(
        client,
        ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封", "洛阳市教育局 市教育局 洛阳"),
        ((ZZU, "郑州大学", "张三"),),
    )
    await command(client, ADMIN, "/报送 新建 2026年新媒体统计 截止 3天后 表格 统计表", "已记录：报送 #1")

    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 20)))
    assert "收到 郑州大学 的统计表：20 个账号，已记为已报送" in (await answer_to(client, ZZU)).text

    # a member bound to no unit, known to the client by the card 王五, uploads a forged correction
    client.group_members.setdefault(GROUP, []).append({"user_id": STRANGER, "nickname": "ww", "card": "王五"})
    client.mark()
    forged = samples.stats_rows("郑州大学", 1)
    forged[0][1] = "编造的账号"
    await files.group_upload(GROUP, STRANGER, "郑州大学统计表(更正).xlsx", samples.xlsx(forged))
    said = await answer_to(client, STRANGER)
    assert "只有郑州大学的联络员和管理员可以替它交文件：这个文件先交管理员确认，不计入报送" in said.text
    assert "已替换" not in said.text and "进度" not in said.text
    told = await answer_to(client, ADMIN, private=True)
    assert told.text.startswith("【待确认文件 #2】“郑州大学统计表(更正).xlsx”：上传人 王五（30001）没有绑定单位")
    assert "收下：/报送 文件 1 郑州大学 #2" in told.text
    later = await client.quiet(1.0, since_mark=True)
    assert [s for s in later if s.group_id == GROUP and str(ADMIN) in s.ats] == []  # nothing about it in the group
    assert len([s for s in later if s.user_id == ADMIN and s.group_id is None]) == 1  # told once

    # still 郑州大学's own file: progress, and the merged workbook holds its 20 rows and no made-up one
    await command(client, ADMIN, "/报送 进度 1", "已报送 1/3")
    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 汇总 1")
    up = (await client.wait_sent(lambda s: s.action in ("upload_group_file", "upload_private_file"), timeout=30))[0]
    wb = load_workbook(up.params["file"], read_only=True)
    names = [r[1] for r in wb.worksheets[0].iter_rows(min_row=5, values_only=True) if r and r[1]]
    assert len(names) == 20 and "编造的账号" not in names

    # the stranger cannot take it in by command; the admin lists it privately and drops it
    await command(client, STRANGER, "/报送 文件 1 郑州大学", "只有郑州大学的联络员和管理员可以替它交文件")
    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 待确认")
    listed = await answer_to(client, ADMIN, private=True)
    assert listed.text.startswith("待确认的文件（1）：\n#2“郑州大学统计表(更正).xlsx”王五（30001）")
    await command(client, ADMIN, "/报送 丢弃 2", "已丢弃 1 个待确认文件：#2“郑州大学统计表(更正).xlsx”。")
