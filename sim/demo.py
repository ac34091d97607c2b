"""`python -m bot demo`: the real bot on a throw-away database, and a terminal chat that talks to it like a QQ client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import dashboard_url
from bot.roster import SAMPLE_NAME, sample_roster
from sim.qqsim import BotProcess, Disconnected, QQClient, Sent
from sim.qqsim_files import FileServer, SimFiles

GROUP_ID = 100100
ADMIN_ID = 10001
BOT_ID = 10000
BOT_NAME = "联盟助手"
# The alliance group as the demo's QQ client reports it (get_group_member_list / get_group_member_info).
MEMBERS: list[dict] = [
    {"user_id": 10001, "nickname": "小王", "card": "新闻办小王", "role": "admin"},
    {"user_id": 20001, "nickname": "张老师", "card": "郑大-张老师", "role": "member"},
    {"user_id": 20002, "nickname": "李老师", "card": "河大-李老师", "role": "member"},
    {"user_id": 20003, "nickname": "王老师", "card": "河科大-王老师", "role": "member"},
    {"user_id": 20004, "nickname": "赵老师", "card": "洛阳市教育局-赵老师", "role": "member"},
    {"user_id": 20005, "nickname": "刘老师", "card": "河师大-刘老师", "role": "member"},
]
FIRST_PERSON = 20001
CITY_ID, CITY_UNIT = 20010, "郑州市教育局"  # who `:city` makes 郑州's city admin
ROSTER_NAME = SAMPLE_NAME

HELP = f"""演示命令（其余输入都作为当前身份的消息发给机器人）：
  :as <QQ号> [群名片]   换一个人，如 :as 20002 河大-李老师（新 QQ 号会加入群成员）
  :admin               换成新闻办管理员（{ADMIN_ID}）
  :city                管理员任命 {CITY_ID} 为{CITY_UNIT}的市级管理员，再换成他（试市级管理员）
  :group / :private    切换到联盟群 {GROUP_ID} / 和机器人的私聊
  :reply <n> <文字>    引用机器人的第 n 条消息回复（和 QQ 一样：引用 + @机器人）
  :react <n>          给机器人的第 n 条消息点 👍（表情回应），如给统发通知点赞即确认
  :file <路径>         以当前身份上传文件（群里：群文件；私聊：发文件），如交报送的表格
  :who                 我是谁、在哪里聊天
  :help                显示这段说明
  :quit                结束演示（Ctrl-C 也可以）
群成员：{"、".join(f"{m['card']}({m['user_id']})" for m in MEMBERS)}
机器人自己的说明：发送 /帮助"""


# A terminal in canonical mode hands over at most this many bytes of one line; a longer paste is cut there.
TERMINAL_LINE_BYTES = 4095
FILE_MAX = 20 * 1024 * 1024  # the largest file :file uploads
PASTE_GAP = 0.05  # lines read within this many seconds of each other were pasted together


def clean_input(line: str) -> tuple[str, bool]:
    """What the terminal gave as text that can be sent, and whether it was cut or had bytes that are no text.

    Python keeps undecodable input bytes as lone surrogates (`'\udce6'`); a paste cut by the terminal ends in
    half a character. Both become U+FFFD (a half character at the end is dropped), never an encoding error.
    """
    try:
        raw = line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = line.encode("utf-8", "replace")
    text = raw.decode("utf-8", "replace")
    damaged = text != line or len(raw) >= TERMINAL_LINE_BYTES
    if damaged:
        text = text.rstrip("\ufffd")
    return text, damaged


class DemoError(Exception):
    """The demo could not start; the message says why (and where the bot's log is)."""


@dataclass
class Demo:
    """A running demo: the bot subprocess and the simulated QQ client connected to it."""

    workdir: Path
    bot: BotProcess
    client: QQClient
    imported: str


def demo_env(workdir: Path, token: str) -> dict[str, str]:
    """The bot's settings for the demo: embedded defaults plus a fixed admin, group and a quick send rate."""
    return {
        "ONEBOT_ACCESS_TOKEN": token,
        "ALLIANCE_ADMINS": f'["{ADMIN_ID}"]',
        "ALLIANCE_GROUPS": f'["{GROUP_ID}"]',
        "ALLIANCE_DATA_DIR": str(workdir / "data"),
        "ALLIANCE_SEND_INTERVAL": "0.3",
        "ALLIANCE_ACK_WINDOW": "1",  # a merged acknowledgement (e.g. /粉丝) shows before the prompt comes back
        "ALLIANCE_QUIET_HOURS": "",
        "ALLIANCE_CLIENT_FILE_HOSTS": '["127.0.0.1"]',  # the demo's client serves its files on this machine
        "LOG_LEVEL": "INFO",
    }


async def start_demo(workdir: Path, roster: Path | None = None) -> Demo:
    """Import the roster into `workdir/data`, start the bot (log: `workdir/bot.log`) and connect a QQ client.

    Raises:
        DemoError: the roster import failed, or the bot did not start or accept the client.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / ROSTER_NAME
    shutil.copyfile(roster or sample_roster(), copy)
    token = secrets.token_hex(12)
    bot = BotProcess(workdir, demo_env(workdir, token))
    env = bot.build_env()  # the same environment (PYTHONPATH, settings) the bot itself gets
    proc = await asyncio.create_subprocess_exec(
        bot.python,
        "-m",
        "bot",
        "import-units",
        str(copy),
        cwd=str(workdir),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise DemoError("导入名册超时（2 分钟），演示没有开始。") from None
    imported = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise DemoError(f"导入名册失败：\n{imported}")
    client = QQClient(bot.url, self_id=BOT_ID, token=token, group_members={GROUP_ID: MEMBERS}, bot_nickname=BOT_NAME)
    client.group_names[GROUP_ID] = "河南教育新媒体联盟"
    try:
        await bot.start()
        await client.connect(timeout=15)
    except BaseException as e:
        await client.close()
        await stop_bot(bot)
        if isinstance(e, Exception):
            raise DemoError(f"机器人没能启动：{e}\n日志：{bot.log_path}") from e
        raise
    summary = imported.splitlines()[-1].replace(str(copy), copy.name) if imported else ""
    return Demo(workdir, bot, client, summary)


async def stop_bot(bot: BotProcess, *, grace: float = 0) -> None:
    """Stop the bot; after a Ctrl-C (which reaches the bot too) first give it `grace` seconds to exit on its own."""
    proc = bot.proc
    if proc is not None and proc.returncode is None and grace > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace)
    await bot.stop()


async def stop_demo(demo: Demo, *, grace: float = 0) -> None:
    """Disconnect the client and stop the bot. Safe to call more than once."""
    await demo.client.close()
    await stop_bot(demo.bot, grace=grace)


class DemoSession:
    """The chat's state and commands; `handle_line` is all a terminal (or a test) needs to drive it."""

    def __init__(self, client: QQClient, echo: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.echo = echo
        self.group_id = GROUP_ID
        self.user_id = FIRST_PERSON
        self.in_group = True
        self.done = False
        self.busy = False
        self.reply_timeout = 1.5  # how long to wait for the bot's first answer to a message
        self.settle = 1.0  # then how long it must stay quiet before the prompt comes back
        self._shown = 0
        self._reactions_shown = 0
        self._out: list[str] = []
        self._files: SimFiles | None = None
        self.recalled: set[str] = set()
        client.handlers.setdefault("delete_msg", self._recall)  # QQ lets the bot recall its own messages

    def _recall(self, params: dict) -> None:
        """`delete_msg`: a message of the bot's is recalled (shown as 已撤回 from then on); an unknown id fails."""
        mid = str(params.get("message_id"))
        if not any(str(m.message_id) == mid for m in self.client.sent):
            raise ValueError("消息不存在")
        self.recalled.add(mid)
        self.say(f"    （联盟助手撤回了 [{self.number_of(mid)}]）")

    # ------------------------------------------------------------------ who and where

    @property
    def members(self) -> list[dict]:
        return self.client.group_members.setdefault(self.group_id, [])

    def member(self, user_id: int) -> dict | None:
        return next((m for m in self.members if int(m["user_id"]) == user_id), None)

    def name_of(self, user_id: int | str) -> str:
        """How QQ shows a person: group card, else nickname, else the QQ id."""
        if str(user_id) == str(self.client.self_id):
            return self.client.bot_nickname
        with contextlib.suppress(ValueError):
            m = self.member(int(user_id))
            if m is not None:
                return str(m.get("card") or m.get("nickname") or user_id)
        return self.client.friends.get(int(user_id), str(user_id)) if str(user_id).isdigit() else str(user_id)

    @property
    def me(self) -> str:
        return f"{self.name_of(self.user_id)}({self.user_id})"

    @property
    def where(self) -> str:
        return f"群 {self.group_id}" if self.in_group else "私聊"

    @property
    def where_long(self) -> str:
        return f"联盟群 {self.group_id} 里" if self.in_group else "和机器人的私聊里"

    @property
    def prompt(self) -> str:
        return f"[{self.where} | {self.me}] > "

    # ------------------------------------------------------------------ output

    def say(self, text: str) -> None:
        self._out.append(text)
        if self.echo is not None:
            self.echo(text)

    def render(self, segments: list[dict]) -> str:
        """A message as a reader sees it: @名片, [回复 [n]], [文件] <path>."""
        parts: list[str] = []
        for seg in segments:
            kind, data = seg.get("type"), seg.get("data") or {}
            if kind == "text":
                parts.append(str(data.get("text", "")))
            elif kind == "at":
                qq = str(data.get("qq"))
                parts.append("@全体成员" if qq == "all" else f"@{self.name_of(qq)}")
            elif kind == "reply":
                n = self.number_of(data.get("id"))
                parts.append(f"[回复 [{n}]] " if n else "[回复] ")
            elif kind == "file":
                parts.append(f"[文件] {data.get('file') or data.get('name')}")
            elif kind == "image":
                parts.append("[图片]")
            elif kind == "node":  # a folded list (merged forward): QQ shows each node's text when it is opened
                content = data.get("content")
                body = self.render(content) if isinstance(content, list) else str(content or "")
                parts.append("\n  · " + body.replace("\n", "\n    "))
            else:
                parts.append(f"[{kind}]")
        return "".join(parts)

    def number_of(self, message_id: object) -> int | None:
        """The [n] under which a bot message was shown, from its message id."""
        for i, s in enumerate(self.client.sent, 1):
            if str(s.message_id) == str(message_id):
                return i
        return None

    def format_sent(self, n: int, s: Sent) -> str:
        if str(s.message_id) in self.recalled:
            return f"[{n}] {BOT_NAME}：（已撤回）"
        if s.group_id is not None:
            head = f"[{n}] {BOT_NAME}" + ("" if s.group_id == self.group_id else f" → 群 {s.group_id}")
        else:
            head = f"[{n}] {BOT_NAME} → {self.name_of(s.user_id or 0)}（私聊）"
        return f"{head}：" + self.render(s.message).replace("\n", "\n    ")

    @property
    def unshown(self) -> int:
        """How many of the bot's messages have not been printed yet."""
        return len(self.client.sent) - self._shown

    def show_new(self) -> list[str]:
        """Print the bot's messages that have not been shown yet, numbered from [1], and its reactions."""
        shown: list[str] = []
        while self._reactions_shown < len(self.client.bot_reactions):
            mid = self.client.bot_reactions[self._reactions_shown][0]
            self._reactions_shown += 1
            msg = self.client.get_message(mid) or {}
            text = "".join(str(x["data"].get("text", "")) for x in msg.get("message", []) if x.get("type") == "text")
            line = f"    （联盟助手给“{text.strip()[:20]}”点了 OK 表情：已确认）"
            self.say(line)
            shown.append(line)
        while self._shown < len(self.client.sent):
            self._shown += 1
            text = self.format_sent(self._shown, self.client.sent[self._shown - 1])
            self.say(text)
            shown.append(text)
        return shown

    async def wait_answers(self, before: int) -> None:
        """Wait for the bot's first answer (up to `reply_timeout`), then until it has been quiet for `settle`."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        reactions = len(self.client.bot_reactions)
        while len(self.client.sent) == before:
            if len(self.client.bot_reactions) != reactions:
                return
            if loop.time() - start > self.reply_timeout or not self.client.connected:
                return
            await asyncio.sleep(0.05)
        count, last = len(self.client.sent), loop.time()
        while loop.time() - last < self.settle and loop.time() - start < 30:
            await asyncio.sleep(0.05)
            if len(self.client.sent) != count:
                count, last = len(self.client.sent), loop.time()

    # ------------------------------------------------------------------ input

    async def handle_line(self, line: str) -> list[str]:
        """Run one line typed by the user (a `:command`, or a message to send); return what was printed."""
        return await self.handle_lines([line])

    async def handle_lines(self, lines: list[str]) -> list[str]:
        """Run what the user typed or pasted: several lines pasted at once are one message, as in QQ."""
        self._out = []
        self.busy = True
        try:
            self.show_new()
            cleaned = [clean_input(line) for line in lines]
            text = "\n".join(t for t, _ in cleaned).strip()
            damaged = any(d for _, d in cleaned)
            if damaged:
                self.say(
                    f"（这一行有 {len(text.encode())} 字节，或含有不是文字的字节：终端一次最多读入 {TERMINAL_LINE_BYTES} 字节，"
                    "超出的部分和半个字已去掉，照剩下的内容发送。长文字请分几次发。）"
                )
            if text.startswith("："):
                text = ":" + text[1:]
            if text.startswith(":"):
                await self.command(text)
            elif text:
                await self.send(text)
        except Disconnected:
            self.say("与机器人的连接已断开，演示结束。")
            self.done = True
        except Exception as e:  # whatever a line does, the chat and the bot go on
            self.say(f"（这一行没能发出：{type(e).__name__}: {e}。机器人还在运行，可以继续输入。）")
        finally:
            self.busy = False
        return self._out

    async def command(self, text: str) -> None:
        name, _, rest = text[1:].strip().partition(" ")
        rest = rest.strip()
        if name == "as":
            self.cmd_as(rest)
        elif name == "admin":
            self.user_id = ADMIN_ID
            self.say(f"现在你是管理员 {self.me}。")
        elif name == "city":
            await self.cmd_city()
        elif name in ("private", "group"):
            self.in_group = name == "group"
            self.say(f"现在在{self.where_long}。")
        elif name == "reply":
            await self.cmd_reply(rest)
        elif name == "react":
            await self.cmd_react(rest)
        elif name == "file":
            await self.cmd_file(rest)
        elif name == "who":
            admin = "，是管理员" if self.user_id == ADMIN_ID else ""
            self.say(f"你是 {self.name_of(self.user_id)}（QQ {self.user_id}{admin}），在{self.where_long}。")
        elif name in ("help", "h", "?"):
            self.say(HELP)
        elif name in ("quit", "exit", "q"):
            self.done = True
            self.say("再见。")
        else:
            self.say(f"没有 :{name} 这个演示命令。输入 :help 查看演示命令。")

    async def cmd_city(self) -> None:
        """`:city`: the admin appoints CITY_ID city admin of CITY_UNIT (`/管理员 任命`), then you are them."""
        self.user_id = ADMIN_ID
        self.say(f"（以管理员身份发送 /管理员 任命 {CITY_ID} {CITY_UNIT}）")
        await self.send(f"/管理员 任命 {CITY_ID} {CITY_UNIT}")
        self.cmd_as(f"{CITY_ID} {CITY_UNIT}-周老师")
        self.say("你现在是市级管理员：/帮助 看你能用的命令，它们只作用于你管理范围内的单位。")

    def cmd_as(self, rest: str) -> None:
        qq, _, card = rest.partition(" ")
        if not qq.isdigit() or int(qq) == self.client.self_id:
            self.say("用法：:as <QQ号> [群名片]，如 :as 20002 河大-李老师")
            return
        user_id, card = int(qq), card.strip()
        member = self.member(user_id)
        if member is None:
            member = {"user_id": user_id, "nickname": f"用户{user_id}", "card": card, "role": "member"}
            self.members.append(member)
        elif card:
            member["card"] = card
        self.user_id = user_id
        self.say(f"现在你是 {self.me}。")

    async def cmd_file(self, rest: str) -> None:
        """`:file PATH`: upload a file as the current person (to the group's files, or in the private chat), as a
        QQ client announces it (a group_upload notice, or a message with a file segment)."""
        path = Path(rest.strip().strip("\"'“”")).expanduser()
        if not rest.strip() or not path.is_file():
            self.say("用法：:file <文件路径>，如 :file ~/郑州大学统计表.xlsx（要先有这个文件）")
            return
        if path.stat().st_size > FILE_MAX:
            self.say(
                f"文件太大（{path.stat().st_size // 1024 // 1024} MB），演示里最多 {FILE_MAX // 1024 // 1024} MB。"
            )
            return
        if self._files is None:
            self._files = SimFiles(self.client, await FileServer().start())
        before = len(self.client.sent)
        data = path.read_bytes()
        if self.in_group:
            await self._files.group_upload(self.group_id, self.user_id, path.name, data)
            self.say(f"你把“{path.name}”上传到了群文件。")
        else:
            await self._files.private_file(self.user_id, path.name, data)
            self.say(f"你私聊发送了文件“{path.name}”。")
        await self.wait_answers(before)
        self.show_new()

    async def cmd_react(self, rest: str) -> None:
        n = rest.strip()
        if not n.isdigit() or not 1 <= int(n) <= len(self.client.sent):
            self.say(f"用法：:react <n>，n 是机器人消息的编号（目前有 {len(self.client.sent)} 条）")
            return
        s = self.client.sent[int(n) - 1]
        if s.group_id is None or not self.in_group:
            self.say("表情回应只能给群里的消息；先用 :group 回到群里。")
            return
        before = len(self.client.sent)
        await self.client.react(s.group_id, self.user_id, s.message_id, "76")
        self.say(f"你给 [{n}] 点了 👍。")
        await self.wait_answers(before)
        self.show_new()

    async def cmd_reply(self, rest: str) -> None:
        n, _, body = rest.partition(" ")
        body = body.strip()
        if not n.isdigit() or not body:
            self.say("用法：:reply <n> <文字>，如 :reply 3 已转发")
            return
        index = int(n)
        if not 1 <= index <= len(self.client.sent):
            self.say(f"没有第 {index} 条机器人消息（目前有 {len(self.client.sent)} 条）。")
            return
        s = self.client.sent[index - 1]
        here = s.group_id == self.group_id if self.in_group else s.user_id == self.user_id
        if not here:
            self.say(f"[{index}] 不在当前聊天（{self.where}）中，不能引用；先用 :group 或 :private 切换。")
            return
        await self.send(body, reply_to=s.message_id)

    async def send(self, text: str, reply_to: int | None = None) -> None:
        """Send `text` as the current person, to the group or privately, and show the bot's answers."""
        before = len(self.client.sent)
        if self.in_group:
            m = self.member(self.user_id) or {}
            await self.client.group_message(
                self.group_id,
                self.user_id,
                text,
                card=str(m.get("card") or ""),
                nickname=str(m.get("nickname") or f"用户{self.user_id}"),
                role=str(m.get("role") or "member"),
                reply_to=reply_to,
                at_bot=reply_to is not None,
            )
        else:
            await self.client.private_message(
                self.user_id, text, nickname=self.name_of(self.user_id), reply_to=reply_to
            )
        await self.wait_answers(before)
        shown = self.show_new()
        if not shown and not self.in_group and text.startswith(("/", "／")):
            self.say("（机器人没有回应：私聊只回应管理员和已注册的联络员；先在群里 /注册。）")


# ---------------------------------------------------------------------- the terminal


def _read_line(prompt: str) -> asyncio.Future[str]:
    """`input(prompt)` in a daemon thread, so a pending read never holds up the exit (unlike asyncio.to_thread)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def deliver(line: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(line or "")

    def work() -> None:
        try:
            line = input(prompt)
        except BaseException as e:  # EOFError at end of input, KeyboardInterrupt on some consoles
            loop.call_soon_threadsafe(deliver, None, EOFError(str(e)))
        else:
            loop.call_soon_threadsafe(deliver, line, None)

    threading.Thread(target=work, name="demo-input", daemon=True).start()
    return future


def _print(text: str) -> None:
    print(text, flush=True)


async def _watch(demo: Demo, session: DemoSession) -> None:
    """Show messages the bot sends while the user is typing; return when the bot goes away."""
    while demo.bot.running and demo.client.connected:
        if not session.busy and session.unshown:
            print()
            session.show_new()
            print(session.prompt, end="", flush=True)
        await asyncio.sleep(0.2)
    print(f"\n机器人已停止或断开连接（日志：{demo.bot.log_path}），演示结束。", flush=True)


def _is_demo_command(line: str) -> bool:
    return line.lstrip().startswith((":", "："))


async def chat(demo: Demo, session: DemoSession) -> bool:
    """Read lines until :quit, end of input, or the bot going away (then return False)."""
    watcher = asyncio.create_task(_watch(demo, session))
    try:
        pending: asyncio.Future[str] | None = None  # a read already started (its prompt printed by us)
        carry: str | None = None  # a :command read while gathering a paste: the next thing to run
        while not session.done:
            if carry is not None:
                lines, carry = [carry], None
            else:
                if pending is None:
                    reader = _read_line(session.prompt)
                else:
                    reader, pending = pending, None
                    print(session.prompt, end="", flush=True)
                await asyncio.wait({reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if watcher.done():
                    reader.cancel()
                    return False
                try:
                    lines = [reader.result()]
                except EOFError:
                    print()
                    break
            ended = False
            # lines that arrive right behind it were pasted with it: one message, as QQ sends a pasted text
            while not _is_demo_command(lines[0]):
                nxt = _read_line("")
                done, _ = await asyncio.wait({nxt}, timeout=PASTE_GAP)
                if not done:
                    pending = nxt
                    break
                try:
                    line = nxt.result()
                except EOFError:
                    ended = True
                    break
                if _is_demo_command(line):
                    carry = line
                    break
                lines.append(line)
            await session.handle_lines(lines)
            if ended:
                print()
                break
        return True
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def banner(demo: Demo, session: DemoSession, *, keep: bool) -> str:
    """What the demo says once the bot is up: where it runs, where its data is (kept or not), the dashboard."""
    data = f"数据保存在 {demo.workdir}（演示结束后保留）" if keep else f"临时数据 {demo.workdir}（演示结束后删除）"
    lines = [f"机器人已启动：127.0.0.1:{demo.bot.port}，{data}，日志 {demo.bot.log_path}"]
    if demo.bot.build_env().get("DASHBOARD_TOKEN", "").strip():
        lines.append(
            f"管理后台：{dashboard_url('127.0.0.1', demo.bot.port)}（登录令牌是环境变量 DASHBOARD_TOKEN 的值）"
        )
    lines.append(f"名册：{demo.imported}")
    lines.append(
        f"身份分四级：省级管理员（{ADMIN_ID}，管全省）、市级管理员（管一个市教育局及其下级单位）、联络员（管自己的单位）、群成员。"
    )
    lines.append(
        f"试市级管理员：输入 :city（等于 :admin 后发 /管理员 任命 {CITY_ID} {CITY_UNIT}，再 :as {CITY_ID}）；"
        "每种身份发 /帮助 看能用的命令。"
    )
    lines.append(f"你在联盟群 {GROUP_ID} 里，身份是 {session.me}。直接输入文字就是发消息；:help 看演示命令。\n")
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> int:
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.dir:
        workdir = Path(args.dir).resolve()
    else:
        tmp = tempfile.TemporaryDirectory(prefix="alliance-demo-", ignore_cleanup_errors=True)
        workdir = Path(tmp.name)
    demo: Demo | None = None
    interrupted = False
    try:
        print("正在启动联盟助手（演示）……", flush=True)
        demo = await start_demo(workdir, Path(args.roster) if args.roster else None)
        session = DemoSession(demo.client, echo=_print)
        print(banner(demo, session, keep=tmp is None), flush=True)
        if not await chat(demo, session):
            return 1
    except DemoError as e:
        print(e, file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        interrupted = True
        raise
    finally:
        if demo is not None:
            await stop_demo(demo, grace=5 if interrupted else 0)
        if tmp is not None:
            tmp.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bot demo [--dir DIR] [--roster FILE]`: try the bot in a terminal, no QQ needed.

    Starts the bot (a subprocess on a free port, with a random access token) on a throw-away database
    seeded from the sample roster, connects a simulated QQ client to it over OneBot v11 reverse WebSocket
    and lets the user chat as group members. Returns the exit code; Ctrl-C stops the chat and the bot.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bot demo", description="联盟助手演示：不用 QQ，在终端里和机器人聊天"
    )
    parser.add_argument("--dir", help="数据和日志放在这个目录并保留（默认用临时目录，结束后删除）")
    parser.add_argument("--roster", help=f"导入的名册 CSV/XLSX（默认示例名册 {ROSTER_NAME}）")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("\n已结束演示，机器人已停止。", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
