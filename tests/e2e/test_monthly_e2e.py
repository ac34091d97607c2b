"""The monthly list end to end: with the bot's clock moved to the first working day, last month's ranking picture
and its .xlsx reach the group exactly once, although the bot was down when it came due and restarts again after."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import clock
from bot.app import App
from bot.workdays import first_working_day
from sim.qqsim import PNG_SIGNATURE, BotProcess, QQClient
from tests.bot.test_followers import make_unit
from tests.conftest import NEEDS_FONT, make_settings
from tests.e2e.bots import ADMIN, GROUP, settings

TZ = ZoneInfo("Asia/Shanghai")
SHIM = Path(__file__).resolve().parent / "clockshim"


async def _seed(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path))
    await app.open()
    try:
        for i in range(3):
            op = str(20001 + i)
            await make_unit(app, f"第{i + 1}大学", "本科高校", "郑州", op, (("抖音", f"大学{i + 1}号"),))
            await app.followers.report(op, ["抖音"], str(5000 * (i + 1)))
    finally:
        clock.reset()
        await app.db.close()


@NEEDS_FONT
async def test_the_monthly_list_goes_out_once_across_restarts(tmp_path: Path) -> None:
    await _seed(tmp_path)  # counts reported this month: next month's list is about them
    today = datetime.now(TZ).date()
    nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    day = first_working_day(nxt.year, nxt.month)
    env = settings(
        tmp_path,
        ALLIANCE_QUIET_HOURS=None,
        ALLIANCE_SEND_JITTER="0",
        ALLIANCE_REMINDER_TICK="0.5",
        ALLIANCE_FOLLOWER_REMINDER="",
        ALLIANCE_MONTHLY_LIST_TIME="10:00",
        PYTHONPATH=str(SHIM),
        LOG_LEVEL="INFO",
    )

    def at(hh: int, mm: int) -> str:
        return datetime.combine(day, time(hh, mm), tzinfo=TZ).isoformat()

    # the bot ran before: it owes the list at 10:00 on that day (in the ledger), and is down when it comes due
    app = App(make_settings(tmp_path))
    await app.open()
    try:
        clock.freeze(datetime.combine(day, time(9, 0), tzinfo=TZ))
        await app.monthly.start()
    finally:
        clock.reset()
        await app.db.close()

    # 1) it comes back at 10:05: what came due while it was down goes out, once
    proc = BotProcess(tmp_path, {**env, "ALLIANCE_TEST_NOW": at(10, 5)})
    client = QQClient(proc.url)
    try:
        await proc.start(timeout=30)
        client.mark()
        await client.connect(timeout=15)
        picture, upload = await client.wait_sent(count=2, timeout=20)
        assert picture.group_id == GROUP and picture.images and picture.images[0].startswith(PNG_SIGNATURE)
        month = today.month
        assert f"{today.year}年{month}月粉丝排行月报" in picture.text
        assert upload.is_file and upload.params["name"] == f"粉丝月报-{today:%Y-%m}.xlsx"
        assert Path(upload.params["file"]).is_file()
        assert len(await client.quiet(1, since_mark=True)) == 2
    finally:
        await client.close()
        await proc.stop()

    # 2) a restart minutes later sends nothing again
    proc = BotProcess(tmp_path, {**env, "ALLIANCE_TEST_NOW": at(10, 7)}, port=proc.port)
    try:
        await proc.start(timeout=30)
        client.mark()
        await client.connect(timeout=15)
        assert await client.quiet(1.5) == []
        reply = await client.ask(GROUP, ADMIN, "/粉丝 月报", timeout=15)  # on demand, any time
        assert reply.images and reply.ats == [str(ADMIN)]
    finally:
        await client.close()
        await proc.stop()
    assert "月度粉丝榜单：下一次" in proc.log_text()
