"""Confirming a 报送 by a reaction through NoneBot's handlers (NapCat and Lagrange notices as clients send them):
a return without files is confirmed, one with files is not and the person is told privately, once; /报送 进度
catches up reactions given while away; a 统发's reactions still confirm the 统发."""

from __future__ import annotations

from nonebug import App as NBApp

from bot.app import App
from bot.refs import Ref
from bot.returns.records import BY_REACTION
from tests.conftest import say, sent
from tests.fake import ADMIN, group_msg
from tests.plugins.test_broadcast_cmds import OP1, OP2, OP3, OP4, STRANGER, announce, deliver, seed
from tests.plugins.test_quiet_group import counted, lagrange_reaction, napcat_like


async def new_return(app: NBApp, core: App, extra: str = "") -> str:
    """`/报送 新建 …` as the admin, delivered; the message id of its notice in the group."""
    out = await say(app, core, group_msg(f"/报送 新建 秋季自查表 截止 3天后 {extra}".strip(), ADMIN))
    assert [o for o in out if o["text"].startswith("【报送】")]
    await deliver(core)
    (rid,) = [r.id for r, _, _ in await core.returns.listing()][-1:]
    (mid,) = await core.outbox.reading.message_ids(Ref("return", rid))
    return mid


async def submitted(core: App) -> list[tuple[str, str]]:
    (ret, _, _) = (await core.returns.listing(include_closed=True))[-1]
    return [(s.unit.name, s.note) for s in (await core.returns.progress(ret.id)).done]


async def test_the_notice_of_a_return_without_files_says_a_reaction_confirms(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/报送 新建 秋季自查表 截止 3天后", ADMIN))
    (notice,) = [o for o in out if o["text"].startswith("【报送】")]
    assert "报送后请联络员给本条消息点个 👍 或 OK 表情，或回复（引用）本条“已报送”，或发送：/已报送 1" in notice["text"]
    out = await say(app, core, group_msg("/报送 新建 统计表 截止 3天后 表格 统计表", ADMIN))
    (files,) = [o for o in out if o["text"].startswith("【报送】")]
    assert "👍" not in files["text"] and "上传" in files["text"]


async def test_a_reaction_on_a_return_without_files_confirms_it_silently(app: NBApp, core: App) -> None:
    await seed(core)
    mid = await new_return(app, core)
    for event in (
        napcat_like(OP1, mid, "76"),  # 郑州大学
        napcat_like(OP2, mid, "124"),  # 郑州大学 again: counted once
        napcat_like(OP3, mid, "66"),  # a heart does not confirm
        lagrange_reaction(OP4, mid, "124"),  # 郑州市教育局, by Lagrange's notice
    ):
        assert await say(app, core, event) == []  # never a message, in the group or privately
    assert await submitted(core) == [("郑州大学", BY_REACTION), ("郑州市教育局", BY_REACTION)]
    out = await say(app, core, group_msg("/报送 进度 1", ADMIN))
    assert "已报送 2/4" in out[0]["text"]


async def test_an_unbound_person_reacting_to_a_return_is_told_privately_once(app: NBApp, core: App) -> None:
    await seed(core)
    mid = await new_return(app, core)
    (told,) = await say(app, core, napcat_like(STRANGER, mid))
    assert told["target"] == ("private", str(STRANGER)) and "/注册" in told["text"]
    assert await say(app, core, napcat_like(STRANGER, mid, "124")) == []
    assert await submitted(core) == []


async def test_a_reaction_on_a_return_with_files_tells_the_person_to_upload_once(app: NBApp, core: App) -> None:
    await seed(core)
    mid = await new_return(app, core, "表格 统计表")
    (told,) = await say(app, core, napcat_like(OP1, mid))
    assert told["target"] == ("private", str(OP1))
    assert told["text"].startswith("报送 #1《秋季自查表》要交文件，表情回应不算报送：请把填好的统计表上传到群文件")
    assert await say(app, core, napcat_like(OP1, mid, "124")) == []
    assert await submitted(core) == []


async def test_return_progress_and_nudge_catch_up_reactions_given_while_away(app: NBApp, core: App) -> None:
    await seed(core)
    mid = await new_return(app, core)
    reacted = {str(OP3)}

    async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
        return sorted(reacted) if (message_id, emoji) == (mid, "76") else []

    core.returns.reactions.away.lister = lister
    out = await say(app, core, group_msg("/报送 进度 1", ADMIN))
    assert "已报送 1/4" in out[0]["text"] and await submitted(core) == [("河南大学", BY_REACTION)]
    reacted.add(str(OP4))
    core.returns.reactions.away.catch_up_due()  # as at a reconnect
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    assert all(str(OP4) not in o["ats"] for o in out) and any(str(OP1) in o["ats"] for o in out)


async def test_a_reaction_on_a_broadcast_still_confirms_the_broadcast(app: NBApp, core: App) -> None:
    await seed(core)
    await new_return(app, core)
    (mid,) = await announce(app, core)
    assert await say(app, core, napcat_like(OP1, mid)) == []
    assert await counted(core) == [(str(OP1), "reaction")]
    assert await submitted(core) == []
    await sent(core)
