"""Real clients' file and forward behaviour end-to-end (issue 22.3, 22.4): the real bot process over the real
WebSocket, the simulated client playing what NapCat and LLOneBot do (sim/qqsim.py `_RealClient`).

Sources read:
- NapNeko/NapCatQQ packages/napcat-onebot/action/go-cqhttp/UploadGroupFile.ts: `file` is read as a path only if it
  exists on the client's own disk, else through `uriToLocalFile` (base64://, http(s)://, file://) which fails
  with its errMsg; in Docker the bot's path does not exist there (NapCat #483, #964).
- LLOneBot/LuckyLilliaBot src/onebot11/action/go-cqhttp/UploadGroupFile.ts: `uri2local(payload.file)`, the same.
- NapNeko/NapCatQQ packages/napcat-onebot/action/file/GetGroupFileUrl.ts: `throw new Error('real fileUUID not
  found!')` when it lost the upload (NapCat #1267).
- NapNeko/NapCatQQ packages/napcat-onebot/action/go-cqhttp/GetGroupMsgHistory.ts and LLOneBot
  src/onebot11/action/go-cqhttp/GetGroupMsgHistory.ts: `group_id`, `message_seq` (absent: the newest), `count`.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sim import samples
from sim.qqsim import QQClient, uploaded_bytes
from sim.qqsim_files import FileServer, SimFiles
from tests.e2e.bots import ADMIN, GROUP, command, enrol, running, settings

pytestmark = pytest.mark.asyncio

ZZU, HENU = 20001, 20002


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[QQClient, SimFiles]]:
    env = settings(
        tmp_path,
        ALLIANCE_FILE_TIMEOUT="10",
        ALLIANCE_SEND_TIMEOUT="2",
        ALLIANCE_GROUP_LIST_LIMIT="1",
        ALLIANCE_PICTURES="false",
        ALLIANCE_CLIENT_FILE_HOSTS='["127.0.0.1"]',  # the simulated client serves its files on this machine
    )
    async with FileServer() as server, running(tmp_path, env) as (_, client):
        await enrol(
            client,
            ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封"),
            ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")),
        )
        await command(client, ADMIN, "/报送 新建 2026年新媒体统计 截止 3天后 表格 统计表", "已记录：报送 #1")
        yield client, SimFiles(client, server)


def to_admin(client: QQClient) -> list[str]:
    return [s.text for s in client.sent if s.user_id == ADMIN and s.group_id is None]


async def test_a_merged_workbook_reaches_a_client_that_cannot_see_the_bots_disk(
    world: tuple[QQClient, SimFiles],
) -> None:
    client, files = world
    client.use_profile("napcat-docker")
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    await client.wait_sent(lambda s: str(ZZU) in s.ats, timeout=20)

    said = await command(client, ADMIN, "/报送 汇总 1", "已汇总")
    ups = [s for s in client.sent if s.action == "upload_group_file"]
    assert len(ups) == 1 and str(ups[0].params["file"]).startswith("base64://")
    refused = [a for a in client.attempts if a.action == "upload_group_file" and a not in client.sent]
    assert len(refused) == 1 and not str(refused[0].params["file"]).startswith("base64://"), "the path, refused"
    assert said.text.endswith("：3 行，已上传到群文件：" + ups[0].params["name"])
    wb = load_workbook(io.BytesIO(uploaded_bytes(ups[0])), read_only=True)
    assert len([r for r in wb.worksheets[0].iter_rows(min_row=5, values_only=True) if any(r)]) == 3
    told = await client.wait_sent(lambda s: s.user_id == ADMIN and "ALLIANCE_FILE_SEND=base64" in s.text, timeout=10)
    assert "Docker" in told[0].text

    # learned for the connection: the next one goes as base64 at once, and the admin is not told again
    client.mark()
    await client.group_message(GROUP, ADMIN, "/报送 汇总 1")  # the same words again: the file, no second text
    await client.wait_sent(lambda s: s.action == "upload_group_file", timeout=20)
    assert [
        str(a.params["file"])[:9] for a in client.attempts[client._mark_attempts :] if a.action == "upload_group_file"
    ] == ["base64://"]
    await client.quiet(1.0)
    assert len([t for t in to_admin(client) if "ALLIANCE_FILE_SEND" in t]) == 1


async def test_known_client_failures_get_a_clear_answer(world: tuple[QQClient, SimFiles]) -> None:
    client, files = world
    # the group's file storage is full (NapCat #1466)
    client.upload_error = "群文件空间不足"
    said = await command(client, ADMIN, "/报送 汇总 1", "已汇总")
    assert "群文件空间已满，请群主或管理员在群文件里删掉不用的旧文件后，再发一次命令" in said.text
    client.upload_error = None

    # NapCat lost the upload (real fileUUID not found, #1267): the member is asked to upload again, the admin told once
    client.file_url_error = "real fileUUID not found!"
    for _ in range(2):
        client.mark()
        await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
        (answer,) = await client.wait_sent(lambda s: str(ZZU) in s.ats, timeout=20)
        assert "QQ 客户端找不到刚上传的这个文件" in answer.text and "请重新上传一次" in answer.text
    await client.quiet(1.0)
    assert len([t for t in to_admin(client) if "real fileUUID not found" in t]) == 1
    client.file_url_error = None

    # a folded list in a big group: refused or timed out, the cut text instead; arrived without an answer, nothing more
    for n, (mode, forward, text) in enumerate((("refused", 0, 1), ("timeout", 0, 1), ("arrived", 1, 0))):
        client.forward_mode = mode
        start = len(client.sent)
        client.mark()
        await client.group_message(
            GROUP, 30_300 + n, "/单位 列表"
        )  # another member each time: a repeat is answered once
        await client.wait_sent(lambda s: s.group_id == GROUP, attempts=True, timeout=10)
        await client.quiet(3.0)  # past ALLIANCE_SEND_TIMEOUT: whatever follows the forward is in
        got = [s for s in client.sent[start:] if s.group_id == GROUP]
        assert [s.is_forward for s in got].count(True) == forward, mode
        cut = [s for s in got if not s.is_forward]
        assert len(cut) == text, (mode, [s.text for s in got])
        if cut:
            assert "全部单位共 2 个" in cut[0].text and "另有 1 条未列出" in cut[0].text
