"""A return collected by level end to end (issue 24.3), with the sample roster: the real bot process, the simulated
client uploading the units' files, a 郑州 city admin checking them (退回, 接受) and handing one merged file up, and
the province's progress and merged workbook read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sim import samples
from sim.qqsim import BotProcess, QQClient, Sent
from sim.qqsim_files import FileServer, SimFiles
from tests.conftest import ROSTER
from tests.e2e.bots import ADMIN, GROUP, cli, command, connected, settings, started

pytestmark = pytest.mark.asyncio

CITY = 30001
JINSHUI, ERQI, ZZU = 21001, 21002, 20001


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[QQClient, SimFiles]]:
    async with FileServer() as server:
        env = settings(tmp_path, ALLIANCE_CLIENT_FILE_HOSTS=f'["127.0.0.1:{server.port}"]')
        proc = BotProcess(tmp_path, env)
        # the sample roster: 郑州市教育局 and its 12 county bureaus, 郑州大学 under the province
        code, printed = await cli(proc, "import-units", str(ROSTER))
        assert code == 0, printed
        async with started(proc), connected(proc) as client:
            yield client, SimFiles(client, server)


async def private(client: QQClient, user: int, text: str, expect: str) -> Sent:
    client.mark()
    await client.private_message(user, text)
    found = await client.wait_sent(lambda s: s.group_id is None and s.user_id == user and expect in s.text, timeout=20)
    return found[0]


async def upload(files: SimFiles, client: QQClient, user: int, unit: str, rows: list, expect: str) -> Sent:
    client.mark()
    await files.group_upload(GROUP, user, f"{unit}统计表.xlsx", samples.xlsx(rows))
    return (await client.wait_sent(lambda s: str(user) in s.ats and expect in s.text, timeout=20))[0]


async def test_units_hand_in_to_zhengzhou_which_checks_and_hands_one_signed_file_up(
    world: tuple[QQClient, SimFiles],
) -> None:
    client, files = world
    for qq, unit in ((JINSHUI, "郑州市金水区教育局"), (ERQI, "郑州市二七区教育局"), (ZZU, "郑州大学")):
        await command(client, qq, f"/注册 {unit}", "已记录", card=f"联络员{qq}")
    await command(client, ADMIN, "/审核 通过 1 2 3", "已通过")
    await command(client, ADMIN, f"/管理员 任命 {CITY} 郑州市教育局", "已任命")
    await command(client, ADMIN, "/报送 新建 新媒体统计 截止 3天后 逐级汇总 表格 统计表", "已记录：报送 #1")

    jinshui = samples.stats_rows("郑州市金水区教育局", 4)
    await upload(files, client, JINSHUI, "郑州市金水区教育局", jinshui, "已记为已报送")
    erqi = samples.stats_rows("郑州市二七区教育局", 3, {0: "date"})
    await upload(files, client, ERQI, "郑州市二七区教育局", erqi, "有 1 处要改")

    said = await private(client, CITY, "/报送 进度 1", "已交 1/13")
    assert "需修改（1）：郑州市二七区教育局" in said.text and "郑州大学" not in said.text

    # sent back: the unit's operator is told privately; the city admin accepts the other one as it is
    client.mark()
    await client.private_message(CITY, "/报送 退回 1 郑州市金水区教育局 粉丝数填错了")
    told = await client.wait_sent(lambda s: s.group_id is None and s.user_id == JINSHUI, timeout=20)
    assert "被退回，需修改" in told[0].text and "原因：粉丝数填错了" in told[0].text
    await private(client, CITY, "/报送 接受 1 郑州市二七区教育局", "已接受")
    await upload(files, client, JINSHUI, "郑州市金水区教育局", jinshui, "已记为已报送")

    # the bureau itself and ten county bureaus have handed in nothing: say so, then hand up anyway
    said = await private(client, CITY, "/报送 上报 1", "没交")
    assert "还有 11 个单位没交：郑州市教育局" in said.text and "/报送 上报 1 确认" in said.text, said.text
    client.mark()
    await client.private_message(CITY, "/报送 上报 1 确认")
    up = (await client.wait_sent(lambda s: s.action == "upload_private_file", timeout=30))[0]
    assert str(up.params["user_id"]) == str(CITY) and "郑州市教育局汇总" in up.params["name"]
    said = (await client.wait_sent(lambda s: s.user_id == CITY and "已上报" in s.text, timeout=20))[0]
    assert "郑州市教育局汇总的报送 #1《新媒体统计》（2/13 个单位，7 行" in said.text, said.text

    await upload(files, client, ZZU, "郑州大学", samples.stats_rows("郑州大学", 5), "已记为已报送")
    said = await command(client, ADMIN, "/报送 进度 1", "逐级汇总")
    assert "郑州市教育局：已上报（" in said.text and "签收，2/13 个单位）" in said.text, said.text
    assert "开封市教育局：未开始（0/10 个单位已交" in said.text, said.text
    assert "直接报省的单位：已报送 1/67" in said.text, said.text  # 省直单位 1, 本科高校 36, 高职高专 30

    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 汇总 1")
    up = (await client.wait_sent(lambda s: s.action == "upload_group_file", timeout=30))[0]
    rows = list(load_workbook(up.params["file"], read_only=True).worksheets[0].iter_rows(min_row=5, values_only=True))
    signed = {}
    for r in rows:
        signed.setdefault(r[-3], []).append(r[-1])
    assert {k: len(v) for k, v in signed.items()} == {"郑州市金水区教育局": 4, "郑州市二七区教育局": 3, "郑州大学": 5}
    assert all(s.startswith("郑州市教育局 ") for s in signed["郑州市金水区教育局"] + signed["郑州市二七区教育局"])
    assert signed["郑州大学"] == ["直接报省"] * 5
