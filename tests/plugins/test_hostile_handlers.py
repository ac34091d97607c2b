"""Random and hostile text into every command the bot has, from an admin, an operator and a plain member, in the
group and in private: every answer is non-empty plain text (no traceback, no apology for an internal error),
nothing becomes an @全体成员, nothing is logged as an error, and the database stays intact.

The commands are read from the loaded matchers, so commands added later are covered without a change here.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loguru import logger
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment
from nonebug import App as NBApp

from bot.app import App
from tests.bot.test_hostile import hostile_text
from tests.conftest import sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

OPERATOR = 20001
MEMBER = 20999
APOLOGY = "处理这条命令时出了问题"
SUBS = (
    "",
    "列表",
    "添加",
    "别名",
    "改名",
    "删除",
    "通过",
    "驳回",
    "登记",
    "变更",
    "注销",
    "查看",
    "进度",
    "催办",
    "代确认",
    "结束",
    "撤回",
    "统计",
    "新建",
    "目标",
    "排行",
    "统计表",
    "汇总表",
    "备案表",
    "统发",
    "报送",
)
PLAUSIBLE = (
    "1",
    "#1",
    "2",
    "郑州大学",
    "郑大",
    "微信",
    "微博",
    "明天18点",
    "截止",
    "要求",
    "范围",
    "https://example.com/a",
    "1.2万",
    "名称=新名",
)


def command_words() -> list[str]:
    """Every command word (and alias) the bot answers: those routed by the plugins' one command table
    (`plugins._registry.COMMANDS`), and any registered with NoneBot's own command trie (`on_command`)."""
    from nonebot.rule import TrieRule

    import plugins._registry as kit

    words = set(getattr(kit, "COMMANDS", {}))
    words.update("".join(value.command) for value in TrieRule.prefix.values() if value.command)
    return sorted(words)


class TolerantBot(Bot):
    """Answers the few API calls handlers make themselves (member lists, uploads, recalls) like a quiet client."""

    async def call_api(self, api: str, **data: Any) -> Any:
        if api.endswith("_list"):
            return []
        if api == "get_login_info":
            return {"user_id": 10000, "nickname": "联盟助手"}
        return None


async def run_event(nb: NBApp, app: App, event: object) -> list[dict]:
    async with nb.test_api() as ctx:
        bot = ctx.create_bot(base=TolerantBot, self_id="10000")
        await bot.handle_event(event)  # type: ignore[arg-type]
    return await sent(app)


async def prepare(nb: NBApp, core: App) -> None:
    """Units, an operator with an account, and (where the commands exist) an open 统发 task and a return."""
    if await core.units.find("郑州大学") is not None:
        return
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    application, _ = await core.units.registrations.apply(str(OPERATOR), "张三", str(GROUP), "郑州大学")
    await core.units.registrations.approve([application.id], actor=str(ADMIN))
    await core.accounts.file_opening(str(OPERATOR), "张三", "微信", "郑州大学")
    words = command_words()
    if "统发" in words:
        await run_event(nb, core, group_msg("/统发 测试标题 https://example.com/a 截止 明天18点", ADMIN))
    if "报送" in words:
        await run_event(nb, core, group_msg("/报送 新建 测试报送 截止 明天18点", ADMIN))
    await sent(core)


def build_message(data: st.DataObject, text: str) -> Message:
    """The command as text, or as text among other segments a client may send (an @全体成员, a face, an image)."""
    shape = data.draw(st.sampled_from(["text", "segments", "cq-string"]))
    if shape == "text":
        return Message(MessageSegment.text(text))
    if shape == "cq-string":  # what a user typed that looks like CQ code stays text
        return Message(
            MessageSegment.text(text + data.draw(st.sampled_from(["[CQ:at,qq=all]", "&#91;CQ:at,qq=all&#93;"])))
        )
    extra = data.draw(
        st.lists(
            st.sampled_from(
                [
                    MessageSegment.at("all"),
                    MessageSegment.at(OPERATOR),
                    MessageSegment.face(1),
                    MessageSegment.image("http://127.0.0.1/x.png"),
                    MessageSegment.text("[CQ:at,qq=all]"),
                ]
            ),
            max_size=3,
        )
    )
    return Message([MessageSegment.text(text), *extra])


def check_replies(out: list[dict], what: str) -> None:
    for o in out:
        types = {s["type"] for s in o["segments"]}
        assert types <= {"text", "at"}, f"{what}: {o['segments']}"
        assert all(str(q).isdigit() for q in o["ats"]), f"{what}: @{o['ats']}"
        assert o["text"].strip(), f"{what}: empty reply"
        assert "Traceback" not in o["text"] and APOLOGY not in o["text"], f"{what}: {o['text'][:300]}"


HANDLER_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@HANDLER_SETTINGS
@given(data=st.data())
async def test_every_command_takes_hostile_arguments(app: NBApp, core: App, data: st.DataObject) -> None:
    await prepare(app, core)
    words = command_words()
    assert {"注册", "审核", "单位", "帮助"} <= set(words)
    word = data.draw(st.sampled_from(words), label="command")
    sub = data.draw(st.sampled_from(SUBS), label="sub")
    args = data.draw(st.lists(st.one_of(hostile_text(200), st.sampled_from(PLAUSIBLE)), max_size=4), label="args")
    slash = data.draw(st.sampled_from(["/", "／"]))
    text = f"{slash}{word}" + (f" {sub}" if sub else "") + "".join(f" {a}" for a in args)
    who = data.draw(st.sampled_from([ADMIN, OPERATOR, MEMBER]), label="who")
    in_group = data.draw(st.booleans(), label="in group")
    if in_group:
        event = group_msg(
            build_message(data, text), who, card=data.draw(st.sampled_from(["", "张三", "[CQ:at,qq=all]"]))
        )
    else:
        event = private_msg(text, who)

    errors: list[str] = []
    sink = logger.add(lambda m: errors.append(str(m)), level="ERROR")
    try:
        out = await run_event(app, core, event)
    finally:
        logger.remove(sink)
    what = f"{who} {'group' if in_group else 'private'} {text[:200]!r}"
    assert not errors, f"{what}: logged an error:\n{errors[0][:2000]}"
    check_replies(out, what)
    async with core.db.read() as tx:
        assert await tx.value("PRAGMA integrity_check") == "ok"
        assert await tx.all("PRAGMA foreign_key_check") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text(300), who=st.sampled_from([ADMIN, OPERATOR, MEMBER]), quoted=st.integers(-(2**40), 2**40))
async def test_replies_and_plain_messages_take_hostile_text(
    app: NBApp, core: App, text: str, who: int, quoted: int
) -> None:
    """Messages that are not commands (a quoted announcement answered with anything) never crash a matcher."""
    await prepare(app, core)
    errors: list[str] = []
    sink = logger.add(lambda m: errors.append(str(m)), level="ERROR")
    try:
        out = await run_event(app, core, group_msg(text, who, reply_to=quoted))
        out += await run_event(app, core, group_msg("已转发 " + text, who, reply_to=quoted))
    finally:
        logger.remove(sink)
    assert not errors, errors[0][:2000]
    check_replies(out, f"{who} {text[:100]!r}")


SUPERSCRIPTS = ("²", "³", "¹", "⁵", "①", "Ⅻ")
NUMBERED = (
    "/审核 通过 {n}",
    "/审核 驳回 {n} 原因",
    "/备案 通过 {n}",
    "/统发 进度 {n}",
    "/统发 催办 {n}",
    "/已转发 {n}",
    "/报送 进度 {n}",
    "/已报送 {n}",
    "/导出 统发 {n}",
    "/导出 报送 {n}",
    "/僵尸号 {n}",
)


async def test_digits_that_int_cannot_read_are_refused_with_a_message(app: NBApp, core: App) -> None:
    """`"²".isdigit()` is True but `int("²")` raises: numbers must be checked with isdecimal()."""
    await prepare(app, core)
    words = set(command_words())
    for template in NUMBERED:
        if template[1:].split()[0] not in words:
            continue
        for n in SUPERSCRIPTS:
            for who in (ADMIN, OPERATOR):
                out = await run_event(app, core, group_msg(template.format(n=n), who))
                check_replies(out, f"{who} {template.format(n=n)!r}")
