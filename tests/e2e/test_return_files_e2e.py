"""Returns as files end-to-end (issue 16): the real bot process, the simulated client uploading files (group
notice, file segment, private file) served from a local HTTP server, and the merged workbook read back."""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.returns.files.layouts import DATE, STATS
from sim import samples
from sim.qqsim import QQClient
from sim.qqsim_files import FileServer, SimFiles
from tests.e2e.bots import ADMIN, GROUP, answer_to, command, enrol, running, settings

pytestmark = pytest.mark.asyncio

ZZU, HENU, LY = 20001, 20002, 20003


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[QQClient, SimFiles, FileServer]]:
    async with FileServer() as server:
        env = settings(
            tmp_path,
            ALLIANCE_FILE_MAX_MB="1",
            ALLIANCE_FILE_TIMEOUT="10",
            # the simulated client serves its files on this machine, where a real one points at QQ's servers
            ALLIANCE_CLIENT_FILE_HOSTS=f'["127.0.0.1:{server.port}"]',
        )
        async with running(tmp_path, env) as (_, client):
            yield client, SimFiles(client, server), server


async def test_units_hand_in_their_forms_as_files_and_the_office_gets_one_workbook(
    world: tuple[QQClient, SimFiles, FileServer],
) -> None:
    client, files, server = world
    await enrol(
        client,
        ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封", "洛阳市教育局 市教育局 洛阳"),
        ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")),
    )
    await command(client, ADMIN, "/报送 新建 2026年新媒体统计 截止 3天后 表格 统计表,扫描件", "已记录：报送 #1")

    # a good file, announced by the group_upload notice
    zzu_rows = samples.stats_rows("郑州大学", 20)
    for row, typed in zip(zzu_rows, TYPED, strict=False):  # issue 20.3: phones typed in text cells pass the checks
        row[11] = row[13] = row[14] = typed  # 账号负责人姓名, 微信号, 备注
    client.mark()
    await files.group_upload(GROUP, ZZU, "20261030郑州大学新媒体统计.xlsx", samples.xlsx(zzu_rows))
    said = await answer_to(client, ZZU)
    assert "收到 郑州大学 的统计表：20 个账号，已记为已报送；还请上传首页盖章的扫描件（PDF）。" in said.text
    assert server.requests, "the file was fetched from the client's URL"

    # a file with mistakes (.xls, a message with a file segment), then its correction (notice and segment both)
    client.mark()
    bad = samples.stats_rows("河南大学", 18, {4: "date", 6: "platform"})
    bad[0][10] = "138.1234.5678"  # issue 20.4: quoted back in the group
    await files.group_upload(GROUP, HENU, "河南大学统计表.xls", samples.xls(bad), via="segment", card="李四")
    said = await answer_to(client, HENU)
    assert "收到 河南大学 的统计表：18 个账号，有 3 处要改：第5行 年度信息发布数量“138****5678”不是数字" in said.text
    assert "1234" not in said.text
    assert "第9行 开通时间“2020.13.01”不是日期" in said.text
    assert "第11行 类型“微信号”不在平台列表（可写：微信公众号、微博" in said.text
    reply = await command(client, HENU, "/查询", "进行中的报送")
    assert "需修改" in reply.text
    reply = await command(client, ADMIN, "/报送 进度 1", "已报送 1/3")
    assert "其中需修改（1，已交文件但有问题）：河南大学" in reply.text
    client.mark()
    henu_rows = samples.stats_rows("河南大学", 18)
    await files.group_upload(GROUP, HENU, "河南大学统计表(改).xls", samples.xls(henu_rows), via="both")
    said = await answer_to(client, HENU)
    assert "收到 河南大学 的统计表：18 个账号，已记为已报送" in said.text
    extra = await client.quiet(1.0, since_mark=True)
    assert [s for s in extra if str(HENU) in s.ats] == [said], "one upload announced twice is answered once"

    # an admin sends a file named for another unit, privately
    client.mark()
    ly_rows = samples.stats_rows("洛阳市教育局", 5)
    await files.private_file(ADMIN, "20261030洛阳市教育局新媒体统计.xlsx", samples.xlsx(ly_rows))
    said = await answer_to(client, ADMIN, private=True)
    assert said.text.startswith("收到 洛阳市教育局 的统计表：5 个账号，已记为已报送")

    # a PDF is the stamped scan; a file too big and a renamed binary get a clear answer
    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学盖章扫描件.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n")
    assert (await answer_to(client, ZZU)).text.endswith("收到 郑州大学 的盖章扫描件（PDF），已保存。")
    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", b"PK\x03\x04" + bytes(1_600_000))
    assert "文件太大（1.5 MB），上限是 1.0 MB" in (await answer_to(client, ZZU)).text
    client.mark()
    files.group_url_fails = True  # the bot falls back to get_file, and the client lies about the size
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", bytes(1_600_000), size=1000)
    assert "文件太大" in (await answer_to(client, ZZU)).text
    files.group_url_fails = False
    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xls", b"\x7fELF\x02\x01\x01" + bytes(3000))
    assert "不是能读取的表格或扫描件" in (await answer_to(client, ZZU)).text

    await command(client, ADMIN, "/报送 进度 1", "已报送 3/3")

    # the merged workbook, read back cell by cell
    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 汇总 1")
    up = (await client.wait_sent(lambda s: s.action == "upload_group_file", timeout=30))[0]
    said = await answer_to(client, ADMIN)
    assert said.text.endswith("已汇总 #1《2026年新媒体统计》：43 行，已上传到群文件：" + Path(up.params["file"]).name)
    wb = load_workbook(up.params["file"], read_only=True)
    got = [list(r) for r in wb.worksheets[0].iter_rows(min_row=5, values_only=True)]
    expected = []
    for unit, rows in (("郑州大学", zzu_rows), ("河南大学", henu_rows), ("洛阳市教育局", ly_rows)):
        for r in rows:
            expected.append([*_expected_row(["" if v is None else str(v) for v in r]), unit])
    assert [g[: len(STATS.names) + 1] for g in got] == expected
    assert all(g[-1] for g in got), "提交时间 filled"
    missing = list(wb.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert missing == []

    # the originals, zipped and named by unit: to the admin privately, never to the group (issue 20.2)
    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 打包 1")
    up = (await client.wait_sent(lambda s: s.action == "upload_private_file", timeout=30))[0]
    said = await answer_to(client, ADMIN)
    assert said.text.endswith(
        "已打包 #1《2026年新媒体统计》 的原件：4 个文件，已私聊发给你：" + Path(up.params["file"]).name
    )
    assert up.params["user_id"] == ADMIN
    assert not [s for s in await client.quiet(1.0, since_mark=True) if s.action == "upload_group_file"]
    with zipfile.ZipFile(up.params["file"]) as zf:
        assert sorted(zf.namelist()) == [
            "河南大学_河南大学统计表(改).xls",
            "洛阳市教育局_20261030洛阳市教育局新媒体统计.xlsx",
            "郑州大学_20261030郑州大学新媒体统计.xlsx",
            "郑州大学_郑州大学盖章扫描件.pdf",
        ]


TYPED = ["张老师 138 1234 5678", "联系电话：139-8765-4321", "wx 137 1111 2222"]
SHOWN = dict(zip(TYPED, ["张老师 138****5678", "联系电话：139****4321", "wx 137****2222"], strict=True))


def _expected_row(cells: list[str]) -> list[str | int | None]:
    """A sample row as the merge writes it: layout order, phone masked, empty cells empty."""
    assert len(cells) == len(
        STATS.names
    )  # samples write 附件1's columns, then 账号ID, 开通时间, 粉丝数: the layout's order
    by_header: dict[str, str | int] = dict(zip(STATS.names, cells, strict=True))
    phone = str(by_header["联系电话"])
    by_header["联系电话"] = f"{phone[:3]}****{phone[-4:]}"
    for name in ("账号负责人姓名", "微信号", "备注"):  # what reaches the group is masked (issue 20.3)
        by_header[name] = SHOWN.get(str(by_header[name]), by_header[name])
    for name in ("序号", "年度信息发布数量", "粉丝数"):  # counts as numbers
        by_header[name] = int(by_header[name])
    for column in STATS.columns:  # dates as dates (issue 23: typed cells)
        if column.check == DATE and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(by_header[column.name])):
            by_header[column.name] = datetime.fromisoformat(str(by_header[column.name]))
    return [v if v != "" else None for v in by_header.values()]


async def test_a_unit_is_done_only_when_both_forms_of_the_return_are_in(
    world: tuple[QQClient, SimFiles, FileServer],
) -> None:
    """Issue 21 item 2: a return asking for 统计表 and 汇总表 (and the scan) counts a unit only when both are in."""
    client, files, _ = world
    await enrol(client, ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封"), ((ZZU, "郑州大学", "张三"),))
    client.mark()
    await client.group_message(
        GROUP, ADMIN, "/报送 新建 新媒体（网站）基本情况统计 截止 3天后 表格 统计表,汇总表,扫描件"
    )
    notice = (await client.wait_sent(lambda s: s.group_id == GROUP and s.text.startswith("【报送】"), timeout=20))[0]
    assert "统计表、汇总表（.xlsx 或 .xls，按官方格式，每张表一个文件）和首页加盖单位公章的扫描件" in notice.text

    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学附件1.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 6)))
    said = await answer_to(client, ZZU)
    assert "收到 郑州大学 的统计表：6 个账号，已收好。还差：汇总表，交齐后记为已报送。" in said.text
    reply = await command(client, ADMIN, "/报送 进度 1", "已报送 0/2")
    assert "其中已交一部分（1）：郑州大学（还差汇总表）" in reply.text
    reply = await command(client, ZZU, "/我的单位", "你是")
    assert "未交齐（已交统计表），请把汇总表和盖章扫描件上传到群文件或私聊发给机器人" in reply.text

    client.mark()
    summary = samples.summary_xlsx([("郑州大学", "本科高校", "郑州")])
    await files.group_upload(GROUP, ZZU, "郑州大学附件2.xlsx", summary, via="segment", card="张三")
    said = await answer_to(client, ZZU)
    assert "收到 郑州大学 的汇总表：1 个单位，已记为已报送；还请上传首页盖章的扫描件（PDF）。" in said.text
    await command(client, ADMIN, "/报送 进度 1", "已报送 1/2")

    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 汇总 1")
    up = (await client.wait_sent(lambda s: s.action == "upload_group_file", timeout=30))[0]
    said = await answer_to(client, ADMIN)
    assert "：7 行（统计表、汇总表各一张工作表）" in said.text
    wb = load_workbook(up.params["file"], read_only=True)
    assert wb.sheetnames == ["统计表汇总", "汇总表汇总", "未报送及需修改"]
    assert len(list(wb["统计表汇总"].iter_rows(min_row=5, values_only=True))) == 6
    assert [r[1] for r in wb["汇总表汇总"].iter_rows(min_row=5, values_only=True)] == ["郑州大学"]
