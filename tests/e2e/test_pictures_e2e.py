"""What the group sees, end to end over the real WebSocket: ranking pictures (a valid PNG, the same as a rendering
of the same data, reused while the data has not changed), the text fallback when the client refuses images,
folded lists where the client has merged-forward messages, the 10/14-day 僵尸号 lists, and a 统发 link's title
fetched from a local HTTP server (a 404 refused)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from PIL import Image

from bot import clock
from bot.app import App
from bot.pictures import find_font, render_png
from bot.readouts.views import ranking_card
from sim.qqsim import PNG_SIGNATURE, BotProcess, QQClient
from tests.bot.test_followers import make_unit
from tests.conftest import NEEDS_FONT, make_settings
from tests.e2e.bots import ADMIN, GROUP, settings
from tests.pages import serve_pages

OPS = [20001 + i for i in range(20)]
STRANGER = 29999


async def _seed(tmp_path: Path) -> None:
    """20 universities registered 20 days ago, each with one 抖音 account; unit i reported 1000*(i+1) followers
    and last posted i days ago (so units 10–13 are on the warning list, 14 and more are 僵尸号)."""
    app = App(make_settings(tmp_path))
    await app.open()
    try:
        now = clock.now()
        clock.freeze(now - timedelta(days=20))
        for i, op in enumerate(OPS):
            await make_unit(app, f"第{i + 1:02d}大学", "本科高校", "郑州", str(op), (("抖音", f"大学{i + 1}号"),))
        clock.freeze(now)
        for i, op in enumerate(OPS):
            await app.followers.report(str(op), ["抖音"], str(1000 * (i + 1)))
            await app.followers.watch.mark_post(str(op), ["抖音"], (now.date() - timedelta(days=i)).isoformat())
    finally:
        clock.reset()
        await app.db.close()


async def _expected_png(tmp_path: Path) -> bytes:
    app = App(make_settings(tmp_path))
    await app.open()
    try:
        r = await app.followers.rankings.ranking()
        card = ranking_card(r, app.followers.target, limit=app.settings.alliance_picture_rows)
        font = find_font()
        assert font is not None
        return render_png(card, font)
    finally:
        await app.db.close()


@NEEDS_FONT
async def test_pictures_fallbacks_folds_stale_lists_and_titles(tmp_path: Path) -> None:
    await _seed(tmp_path)
    async with serve_pages() as pages:
        env = settings(
            tmp_path,
            ALLIANCE_SEND_JITTER="0",
            ALLIANCE_GROUP_LIST_LIMIT="10",
            ALLIANCE_FETCH_PRIVATE="true",  # the test's pages are on 127.0.0.1
            ALLIANCE_FETCH_TIMEOUT="3",
            LOG_LEVEL="INFO",
        )
        proc = BotProcess(tmp_path, env)
        client = QQClient(proc.url)
        try:
            await proc.start(timeout=30)
            await client.connect(timeout=15)

            # a long ranking is one picture: a PNG, the same as a rendering of the same data
            reply = await client.ask(GROUP, OPS[4], "/粉丝 排行", timeout=15)
            assert reply.ats == [str(OPS[4])] and len(reply.images) == 1, reply
            png = reply.images[0]
            assert png.startswith(PNG_SIGNATURE) and 20_000 < len(png) < 2_000_000
            assert png == await _expected_png(tmp_path)
            (tmp_path / "ranking.png").write_bytes(png)
            with Image.open(tmp_path / "ranking.png") as im:
                assert im.width == 1120 and im.height > 800
            assert "排行" not in reply.text  # the picture carries the list; the text is the asker's own place
            assert reply.text.strip().startswith("你的单位 第05大学：按粉丝数第 16 名（5,000）"), reply.text

            again = await client.ask(GROUP, STRANGER, "/粉丝 排行", timeout=15)  # same data, another asker
            assert again.images == [png] and "你的单位" not in again.text  # the same picture for everyone
            # (said again in other words: the very same command within a minute is answered once, issue 20)
            third = await client.ask(GROUP, OPS[4], "/粉丝 排行 图片", timeout=15)
            assert third.images == [png]  # the same data and asker: the same picture, reused
            drawn = [p.read_bytes() for p in (tmp_path / "data" / "pictures").glob("*.png")]
            assert drawn.count(png) == 1  # one file for the three asks (others are the views drawn ahead at start)

            # asked for text, or the client refuses images: the text (cut as before)
            text = await client.ask(GROUP, OPS[4], "/粉丝 排行 文字", timeout=15)
            assert not text.images and "【按粉丝数】\n1. 第20大学 2万" in text.text
            client.images_refused = True
            fallback = await client.ask(GROUP, OPS[3], "/粉丝 排行", timeout=15)
            assert not fallback.images and fallback.ats == [str(OPS[3])] and "1. 第20大学 2万" in fallback.text
            assert any(a.images for a in client.attempts if a not in client.sent)
            client.images_refused = False

            # progress of a 统发: the article's title read from the page; a dead link refused
            reply = await client.ask(GROUP, ADMIN, f"/统发 大会精神 {pages}/s/gone 截止 3天后", timeout=15)
            assert "链接打不开（网页返回 404" in reply.text and "没有发布" in reply.text
            client.mark()
            await client.group_message(GROUP, ADMIN, f"/统发 大会精神 {pages}/s/moved 截止 3天后")
            sent = await client.wait_sent(count=2, timeout=15)
            note = next(s for s in sent if s.text.startswith("【一键统发 #1】"))
            assert "原文：《学习贯彻全国教育大会精神 & 推进教育强省建设》" in note.text
            answer = next(s for s in sent if "已发布统发 #1" in s.text)
            assert "原文标题：《学习贯彻全国教育大会精神 & 推进教育强省建设》" in answer.text
            progress = await client.ask(GROUP, STRANGER, "/统发 进度 1", timeout=15)
            assert progress.images and progress.images[0].startswith(PNG_SIGNATURE)

            # a long text list is folded into one merged-forward message; cut where forwards are unknown
            client.mark()
            await client.group_message(GROUP, ADMIN, "/单位 列表")
            (folded,) = await client.wait_sent(lambda s: s.is_forward, timeout=15)
            whole = "\n".join(folded.node_texts)
            assert (
                folded.ats == [str(ADMIN)]
                and whole.lstrip().startswith("全部单位共 20 个")
                and "第20大学" in whole
                and "未列出" not in whole
            )
            client.forward_supported = False
            cut = await client.ask(GROUP, OPS[0], "/单位 列表", timeout=15)  # (the admin asked it a moment ago)
            assert not cut.is_forward and "另有 10 条未列出" in cut.text

            # 僵尸号: 14 days and more, and the warning list from 10 days
            stale = await client.ask(GROUP, ADMIN, "/僵尸号 文字", timeout=15)
            assert "【僵尸号：14 天及以上没有更新】6 个单位 6 个账号" in stale.text
            assert "【预警：10–13 天没有更新】4 个单位 4 个账号" in stale.text
            picture = await client.ask(GROUP, ADMIN, "/僵尸号 图片", timeout=15)
            assert picture.images and picture.images[0].startswith(PNG_SIGNATURE)
            assert "图片使用字体" in proc.log_text()
        finally:
            await client.close()
            await proc.stop()
