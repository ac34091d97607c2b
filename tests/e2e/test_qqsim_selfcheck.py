"""Self-check of sim.qqsim against a throwaway NoneBot2 echo bot (not the real bot)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.qqsim import (  # noqa: E402
    BotProcess,
    Disconnected,
    HandshakeRefused,
    QQClient,
    free_port,
    parse_cq,
    to_cq,
)

pytestmark = pytest.mark.asyncio

ECHO_BOT = textwrap.dedent(
    """
    import nonebot
    from nonebot import on_command
    from nonebot.adapters.onebot.v11 import Adapter, Bot, GroupMessageEvent, Message
    from nonebot.adapters.onebot.v11.exception import ActionFailed
    from nonebot.params import CommandArg

    nonebot.init(driver="~fastapi+~websockets")
    nonebot.get_driver().register_adapter(Adapter)

    echo = on_command("echo")

    @echo.handle()
    async def _(arg: Message = CommandArg()):
        await echo.send(arg)

    info = on_command("info")

    @info.handle()
    async def _(bot: Bot, event: GroupMessageEvent):
        members = await bot.get_group_member_list(group_id=event.group_id)
        login = await bot.get_login_info()
        me = await bot.get_group_member_info(group_id=event.group_id, user_id=event.user_id)
        try:
            await bot.call_api("no_such_action")
            unknown = "ok"
        except ActionFailed as e:
            unknown = str(e.info.get("retcode"))
        await info.send(f"{len(members)}|{login['nickname']}|{me['card'] or me['nickname']}|{unknown}")

    upload = on_command("upload")

    @upload.handle()
    async def _(bot: Bot, event: GroupMessageEvent):
        try:
            await bot.upload_group_file(group_id=event.group_id, file="/tmp/report.xlsx", name="report.xlsx")
        except ActionFailed:
            await upload.send("upload failed")
        else:
            await upload.send("uploaded")

    nonebot.run()
    """
)

GROUP = 123456
USER = 2001
MEMBERS = {
    GROUP: [
        {"user_id": USER, "nickname": "张三", "card": "张三-宣传部", "role": "member"},
        {"user_id": 2002, "nickname": "李四", "card": "", "role": "admin"},
    ]
}


async def _wait_port(port: int, proc: asyncio.subprocess.Process, log: Path, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if proc.returncode is not None:
            raise RuntimeError(f"echo bot exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"echo bot did not listen:\n{log.read_text(errors='replace')[-3000:]}") from None
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return


@contextlib.asynccontextmanager
async def echo_bot(tmp_path: Path, **env: str) -> AsyncIterator[tuple[str, Path]]:
    script = tmp_path / "echo_bot.py"
    script.write_text(ECHO_BOT, encoding="utf-8")
    port = free_port()
    log = tmp_path / "echo_bot.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", **env}
    with open(log, "ab") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            cwd=str(tmp_path),
            env=full_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await _wait_port(port, proc, log)
            yield f"ws://127.0.0.1:{port}/onebot/v11/ws", log
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def test_cq_helpers_roundtrip() -> None:
    segs = [{"type": "text", "data": {"text": "a&b [x], y"}}, {"type": "at", "data": {"qq": "all"}}]
    raw = to_cq(segs)
    assert raw == "a&amp;b &#91;x&#93;, y[CQ:at,qq=all]"
    assert parse_cq(raw) == segs
    assert parse_cq("[CQ:image,file=a&#44;b.png,url=http://x/y?a=1&amp;b=2]hi") == [
        {"type": "image", "data": {"file": "a,b.png", "url": "http://x/y?a=1&b=2"}},
        {"type": "text", "data": {"text": "hi"}},
    ]


async def test_echo_roundtrip(tmp_path: Path) -> None:
    async with echo_bot(tmp_path) as (url, _log):
        client = QQClient(url, self_id=10001, group_members=MEMBERS)
        try:
            await client.connect(timeout=10)
            assert client.connected

            reply = await client.ask(GROUP, USER, "/echo hi", card="张三-宣传部")
            assert reply.text == "hi"
            assert reply.action == "send_msg" and reply.group_id == GROUP and reply.user_id is None
            assert reply.message_id < 0

            # CQ code typed by a user is literal text: it must not become a real @全体成员.
            reply = await client.ask(GROUP, USER, "/echo [CQ:at,qq=all]")
            assert "all" not in reply.ats
            assert reply.text == "[CQ:at,qq=all]"

            # The same as a CQ string message (escaped the way clients do) stays literal too.
            reply = await client.ask(GROUP, USER, "/echo [CQ:at,qq=all] & co", as_string=True)
            assert reply.ats == [] and reply.text == "[CQ:at,qq=all] & co"

            # Quoting a bot message: reply + @bot + text; the adapter resolves it through get_msg.
            quoted = reply.message_id
            reply = await client.ask(GROUP, USER, "/echo quoted", reply_to=quoted, at_bot=True)
            assert reply.text == "quoted"
            assert ("get_msg", {"message_id": quoted}) in client.api_calls

            # get_msg failing leaves the reply segment in place, so the command does not match.
            client.get_msg_fails = True
            client.mark()
            await client.group_message(GROUP, USER, "/echo again", reply_to=quoted, at_bot=True)
            assert await client.quiet(1.0, since_mark=True) == []
            client.get_msg_fails = False

            reply = await client.ask(GROUP, USER, "/info")
            assert reply.text == "2|联盟助手|张三-宣传部|1404"

            upload = await client.ask(GROUP, USER, "/upload")  # file uploads are recorded like messages
            assert upload.is_file and upload.params["name"] == "report.xlsx" and upload.text == ""
            assert (await client.expect_reply(group_id=GROUP)).text == "uploaded"
            client.upload_fails = True
            reply = await client.ask(GROUP, USER, "/upload")
            assert reply.text == "upload failed"
            assert client.attempts[-2].action == "upload_group_file"

            reply = await client.ask_private(USER, "/echo private")
            assert reply.text == "private" and reply.user_id == USER and reply.group_id is None

            assert len(client.sent) == len(set(s.message_id for s in client.sent))
        finally:
            await client.close()
            await client.close()
        assert not client.connected


async def test_wrong_token_refused(tmp_path: Path) -> None:
    async with echo_bot(tmp_path, ONEBOT_ACCESS_TOKEN="secret") as (url, _log):
        bad = QQClient(url, token="wrong")
        with pytest.raises(HandshakeRefused) as info:
            await bad.connect(timeout=5)
        assert info.value.status == 403
        with pytest.raises(HandshakeRefused):
            await QQClient(url).connect(timeout=5)

        good = QQClient(url, token="secret")
        try:
            await good.connect(timeout=5)
            assert (await good.ask(GROUP, USER, "/echo ok")).text == "ok"
        finally:
            await good.close()


async def test_silent_and_fail_modes(tmp_path: Path) -> None:
    async with echo_bot(tmp_path, API_TIMEOUT="2") as (url, log):
        client = QQClient(url)
        try:
            await client.connect(timeout=10)
            client.send_mode = "silent"
            client.mark()
            await client.group_message(GROUP, USER, "/echo lost")
            attempt = (await client.wait_sent(attempts=True, timeout=5))[0]
            assert attempt.text == "lost"
            with pytest.raises(TimeoutError, match="attempts since mark: 1"):
                await client.expect_reply(group_id=GROUP, timeout=0.5)
            await asyncio.sleep(2.0)  # the bot's API call times out after API_TIMEOUT=2
            assert client.connected
            assert "timeout" in log.read_text(errors="replace").lower()

            client.send_mode = "fail"
            client.mark()
            await client.group_message(GROUP, USER, "/echo failing")
            await client.wait_sent(lambda s: s.text == "failing", attempts=True, timeout=5)
            assert client.sent == []

            client.send_mode = "ok"
            assert (await client.ask(GROUP, USER, "/echo back")).text == "back"
        finally:
            await client.close()


async def test_botprocess_and_crash(tmp_path: Path) -> None:
    # `python -m bot` resolves to tmp_path/bot first (cwd precedes PYTHONPATH), so this runs the echo bot.
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "bot" / "__main__.py").write_text(ECHO_BOT, encoding="utf-8")
    proc = BotProcess(tmp_path, {"LOG_LEVEL": "INFO"})
    client = QQClient(proc.url)
    try:
        await proc.start(timeout=15)
        await client.connect(timeout=10)
        assert (await client.ask(GROUP, USER, "/echo via BotProcess")).text == "via BotProcess"
        proc.kill9()
        with pytest.raises(Disconnected):
            await client.wait_sent(timeout=5)
        assert not client.connected
        await proc.stop()
        await proc.start(timeout=15)
        await client.connect(timeout=10)
        assert (await client.ask(GROUP, USER, "/echo again")).text == "again"
    finally:
        await client.close()
        await proc.stop()
    assert proc.log_text().count("qqsim: starting bot") == 2


async def test_each_xdist_worker_hands_out_ports_of_its_own_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers once could both be handed the same free port (one bot then talked to the other's client)."""
    from sim import qqsim

    bands = [qqsim.port_band(f"gw{i}") for i in range(8)]
    assert all(b is not None and b[1] <= 32768 for b in bands)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(bands))  # type: ignore[index]
    assert qqsim.port_band("") is None and qqsim.port_band("master") is None
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        low, high = qqsim.port_band()  # type: ignore[misc]
        ports = [free_port() for _ in range(50)]
        assert len(set(ports)) == 50 and all(low <= p < high for p in ports)
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert len({free_port() for _ in range(20)}) == 20  # outside xdist: any free port, never the same twice
