"""Pictures by path where the client sees the bot's disk (issue 23, ALLIANCE_FILE_SEND as for uploads), end to end
over the real WebSocket, the simulated client answering as NapCat and LLOneBot do (sim/qqsim.py
`_RealClient._picture_refusal`).

Sources read (a `send_group_msg` whose image is a `file://` path that does not exist on the client's disk):
- NapNeko/NapCatQQ packages/napcat-onebot/api/msg.ts `handleOb11FileLikeMessage` → packages/napcat-common/src/file.ts
  `checkUriType`/`uriToLocalFile` (a `file:` URI is taken as local without looking) → packages/napcat-onebot/api/
  file.ts `createValidSendPicElement` → packages/napcat-core/apis/file.ts `uploadFile` → `calculateFileMD5`: the read
  stream's "ENOENT: no such file or directory, open '…'"; packages/napcat-onebot/action/OneBotAction.ts
  `websocketHandle` answers it as status failed, retcode 1200. Nothing is sent (the elements are built first).
- LLOneBot/LuckyLilliaBot src/onebot11/transform/message/outgoing.ts `handleOb11RichMedia` → src/common/utils/file.ts
  `uri2local`: `file://` whose path does not exist → "路径不存在"; src/onebot11/action/BaseAction.ts: retcode 1200.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.qqsim import PNG_SIGNATURE, QQClient, Sent
from tests.conftest import NEEDS_FONT
from tests.e2e.bots import ADMIN, GROUP, command, enrol, running, settings

pytestmark = [pytest.mark.asyncio, NEEDS_FONT]

ZZU, HENU = 20001, 20002
ASKERS = (30001, 30002, 30003)


@pytest.fixture(params=["permissive", "napcat-docker", "llonebot-docker"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QQClient]:
    env = settings(tmp_path, ALLIANCE_FETCH_TITLES="false", ALLIANCE_SEND_JITTER="0")
    async with running(tmp_path, env) as (_, client):
        await enrol(
            client,
            ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封"),
            ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")),
        )
        await command(client, ADMIN, "/统发 大会精神 https://example.com/a 截止 3天后", "已发布统发 #1")
        client.use_profile(request.param)
        yield client


def image_file(s: Sent) -> str:
    (image,) = s.segments("image")
    return str(image["data"]["file"])


async def progress_picture(client: QQClient, asker: int) -> tuple[list[Sent], list[Sent]]:
    """`/统发 进度 1 图片` asked by `asker`: (the messages with a picture tried, those delivered) since the ask."""
    client.mark()
    await client.group_message(GROUP, asker, "/统发 进度 1 图片")  # a short list: asked as a picture
    await client.wait_sent(lambda s: s.group_id == GROUP and str(asker) in s.ats and bool(s.images), timeout=20)
    await client.quiet(1.0)
    tried = [a for a in client.attempts[client._mark_attempts :] if a.segments("image")]
    return tried, [s for s in tried if s in client.sent]


def told_to_admin(client: QQClient) -> list[str]:
    return [s.text for s in client.sent if s.user_id == ADMIN and s.group_id is None and "ALLIANCE_FILE_SEND" in s.text]


async def test_a_picture_goes_by_path_where_the_client_sees_it_else_inline_after_one_refusal(world: QQClient) -> None:
    client = world
    tried, sent = await progress_picture(client, ASKERS[0])
    (picture,) = sent
    assert picture.images[0].startswith(PNG_SIGNATURE) and str(ASKERS[0]) in picture.ats
    if client.sees_bot_disk:  # the same machine: the path, read by the client; nothing refused, nobody told
        assert tried == sent and image_file(picture).startswith("file://")
        assert told_to_admin(client) == []
    else:  # in Docker: the path refused once (nothing delivered), the same picture inline at once, delivered once
        refused, delivered = tried
        assert image_file(refused).startswith("file://") and refused not in client.sent
        assert delivered is picture and image_file(picture).startswith("base64://")
        assert refused.text == picture.text and refused.ats == picture.ats
        (told,) = await client.wait_sent(lambda s: s.user_id == ADMIN and "ALLIANCE_FILE_SEND" in s.text, timeout=10)
        assert "这次已改用 base64 发出" in told.text and "Docker" in told.text

    # the next answers: as learned for the connection, at once, and the admin is not told again
    for asker in ASKERS[1:]:
        tried, sent = await progress_picture(client, asker)
        assert tried == sent and len(sent) == 1 and sent[0].images[0].startswith(PNG_SIGNATURE)
        assert image_file(sent[0]).startswith("file://" if client.sees_bot_disk else "base64://")
    assert len(told_to_admin(client)) == (0 if client.sees_bot_disk else 1)


async def test_base64_setting_inlines_pictures_even_on_the_same_machine(tmp_path: Path) -> None:
    env = settings(tmp_path, ALLIANCE_FETCH_TITLES="false", ALLIANCE_FILE_SEND="base64")
    async with running(tmp_path, env) as (_, client):
        await enrol(client, ("郑州大学 本科高校 郑州",), ((ZZU, "郑州大学", "张三"),))
        await command(client, ADMIN, "/统发 大会精神 https://example.com/a 截止 3天后", "已发布统发 #1")
        tried, sent = await progress_picture(client, ASKERS[0])
        assert tried == sent and len(sent) == 1 and image_file(sent[0]).startswith("base64://")


async def test_path_setting_with_a_client_that_cannot_see_it_sends_the_text_and_tells_the_admin(tmp_path: Path) -> None:
    env = settings(tmp_path, ALLIANCE_FETCH_TITLES="false", ALLIANCE_FILE_SEND="path")
    async with running(tmp_path, env, profile="napcat-docker") as (_, client):
        await enrol(client, ("郑州大学 本科高校 郑州",), ((ZZU, "郑州大学", "张三"),))
        await command(client, ADMIN, "/统发 大会精神 https://example.com/a 截止 3天后", "已发布统发 #1")
        client.mark()
        await client.group_message(GROUP, ASKERS[0], "/统发 进度 1 图片")
        (text,) = await client.wait_sent(lambda s: str(ASKERS[0]) in s.ats, timeout=20)
        await client.quiet(1.0)
        tried = [a for a in client.attempts[client._mark_attempts :] if a.segments("image")]
        assert len(tried) == 1 and image_file(tried[0]).startswith("file://") and tried[0] not in client.sent
        assert not text.images and "已完成 0/1" in text.text  # the picture's text alternative, once
        (told,) = await client.wait_sent(lambda s: s.user_id == ADMIN and "ALLIANCE_FILE_SEND" in s.text, timeout=10)
        assert "文件发不出去，图片改发文字" in told.text
