"""Confirming a 统发: /已转发, a reply to the task's own messages, a bare 已转发 typed in the group, a reaction."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from nonebot.adapters.onebot.v11 import Message, MessageEvent, MessageSegment, NoticeEvent

from bot import clock
from bot.app import current_app
from bot.broadcasts.parse import bare_confirmation, check_url, confirmation_rest
from bot.broadcasts.records import Confirmation, NotBound
from bot.errors import UserError
from bot.parse import numbers_among, reads_as_numbers
from bot.recent import RecentSet
from bot.render import Ack, Msg, person_name
from bot.roles import Role
from bot.tasks import NOT_BOUND
from plugins._client import reaction_of
from plugins._ctx import Ctx
from plugins._notices import notice
from plugins._registry import Command, command, reply_saying, trigger
from plugins._reply import Reply
from plugins._several import each_number

# ---------------------------------------------------------------- confirming


def ack(c: Confirmation, user_id: str) -> Ack:
    """The acknowledgement of a confirmation (a reaction where the client can): 已记录 only when it counted."""
    t = c.task
    proof = "，证明已保存" if c.proof else ""
    if c.counted:
        late = f"（逾期：截止是 {clock.show(t.deadline)}）" if c.late else ""
        return Ack(f"已记录：{c.unit.name} 完成统发 #{t.id}「{t.title}」{late}{proof}。")
    when = clock.show(c.first_at) if c.first_at else ""
    if c.first_user == user_id:
        return Ack(f"你已在 {when} 确认过统发 #{t.id}，{c.unit.name}只计一次{proof}。")
    who = person_name(c.first_name, "其他联络员")
    return Ack(f"已收到。{c.unit.name}已由 {who} 在 {when} 确认过统发 #{t.id}，本单位只计一次{proof}。")


def confirm_handler(default_task: int | None = None, via: str = "command") -> Callable[[Ctx], Awaitable[Ack]]:
    async def handler(ctx: Ctx) -> Ack:
        numbers, words = numbers_among(ctx.args)  # 3, #3, 二, 2，5, 2、5
        proof: str | None = None
        note: list[str] = []
        for a in words:
            if a.lower().startswith(("http://", "https://")):
                proof = check_url(a, "证明链接")
            else:
                note.append(a)
        if ctx.is_admin and await ctx.app.units.registrations.operator(ctx.user_id) is None:
            raise UserError(
                "你是管理员，没有绑定单位。替单位确认请用：/统发 代确认 <编号> <单位…>，如：/统发 代确认 3 郑州大学"
            )

        async def one(task_id: int | None) -> Ack:
            c = await ctx.app.broadcasts.confirm(
                ctx.user_id,
                ctx.name,
                task_id if task_id is not None else default_task,
                reply_to=ctx.reply_to if task_id is None and default_task is None else None,
                proof_url=proof,
                images=ctx.images,
                note=" ".join(note) or None,
                via=via,
            )
            return ack(c, ctx.user_id)

        if len(numbers) > 1:  # /已转发 2，5: each of them, one acknowledgement
            return await each_number(numbers, one)
        return await one(numbers[0] if numbers else None)

    return handler


command("已转发", may=Role.MEMBER)(confirm_handler())  # the handler says how to bind to a unit


# ---------------------------------------------------------------- reply confirmation

# Text only the task's own messages carry: the announcement, the group nudges and the private reminder.
_QUOTED_TASK = re.compile(
    r"^\s*(?:【(?:一键统发|统发提醒|统发催办) #(\d{1,9})】|统发 #(\d{1,9})「[^」\n]*」你的单位还没有确认)"
)


def _task_in_quoted_bot_message(event: MessageEvent) -> int | None:
    """The task a quoted message of the bot announced or nudged, read from the text only those messages carry,
    when its id is not on file (its send timed out, so the client's id never came back) but the client could
    show the message. Any other message of the bot (an answer to /我的单位, the /帮助 text) is no task's."""
    quoted = event.reply
    if quoted is None or str(quoted.sender.user_id) != str(event.self_id):
        return None
    m = _QUOTED_TASK.match(quoted.message.extract_plain_text())
    return int(m.group(1) or m.group(2)) if m else None


@trigger
async def reply_confirmation(event: MessageEvent) -> tuple[Command, Message] | None:
    """A reply (引用) to an announcement or nudge of a task, saying 已转发 / 已完成 / 已发 / 转发了 (not 收到).

    Looks at the original message, so it works whether or not the client resolved the reply
    (`get_msg`), and whatever @bot segments surround it. Costs nothing for messages without a reply.
    """
    said = reply_saying(event, confirmation_rest)
    if said is None:
        return None
    app, reply, rest = said
    task_id = await app.broadcasts.posts.task_of_message(reply.data.get("id"))
    if task_id is None:
        task_id = _task_in_quoted_bot_message(event)
    if task_id is None:
        return None
    images = [seg for seg in event.original_message if seg.type == "image"]
    return Command(confirm_handler(default_task=task_id, via="reply")), Message([MessageSegment.text(rest), *images])


# ---------------------------------------------------------------- 已转发 typed without quoting

_OWN_UNIT_WORDS = ("", "我", "我们", "我单位", "本单位", "我校", "我局", "我院", "收到", "好的", "好", "ok", "嗯")


@trigger
async def bare_confirmation_trigger(event: MessageEvent) -> tuple[Command, Message] | None:
    """`已转发` or `郑州大学已转发` typed in the group without quoting, by a bound operator whose unit owes an open task.

    One owed task: it is confirmed. Several: the person is asked which (privately when private messages are
    enabled). Anyone else, or a unit name that is not the sender's own: left alone, as ordinary chat.
    """
    for seg in event.original_message:  # text, pictures and an @ of the bot; a reply or an @ of others is not this
        if seg.type not in ("text", "image") and not (
            seg.type == "at" and str(seg.data.get("qq")) == str(event.self_id)
        ):
            return None
    found = bare_confirmation(event.original_message.extract_plain_text())
    app = current_app()
    if found is None or app is None:
        return None
    named, rest = found
    owed = await app.broadcasts.owed_by(event.user_id)
    if owed is None:
        return None
    unit, tasks = owed
    if named not in _OWN_UNIT_WORDS:
        try:
            if (await app.units.resolve(named)).id != unit.id:
                return None
        except UserError:
            return None
    if rest.split() and any(reads_as_numbers(w) for w in rest.split()):
        handler = confirm_handler(via="command")  # a number was written: that task
    elif len(tasks) == 1:
        handler = confirm_handler(default_task=tasks[0].id, via="command")
    elif tasks:
        handler = _ask_which(tasks)
    else:
        return None
    images = [seg for seg in event.original_message if seg.type == "image"]
    return Command(handler), Message([MessageSegment.text(rest), *images])


def _ask_which(tasks: list) -> Callable[[Ctx], Awaitable[Reply]]:
    async def handler(ctx: Ctx) -> Reply:
        listed = "、".join(t.label for t in tasks[:5])
        text = f"你的单位有 {len(tasks)} 个统发还没确认：{listed}。请发 /已转发 <编号>，如：/已转发 {tasks[-1].id}"
        if ctx.in_group and ctx.app.settings.alliance_private_reminders:
            await ctx.app.outbox.send("private", ctx.user_id, Msg(text))
            return None
        return Msg(text)

    return handler


# ---------------------------------------------------------------- reaction confirmation


async def _is_confirming_reaction(bot: object, event: NoticeEvent) -> bool:
    """A confirming reaction on an announcement or nudge of a 统发 (a 报送's: plugins/returns)."""
    found = reaction_of(event)
    app = current_app()
    return found is not None and app is not None and await app.broadcasts.posts.task_of_message(found[2]) is not None


# unbound people already told (privately) how to register, per task: the latest few thousand, never all of them
_told = RecentSet(4096)


@notice(_is_confirming_reaction, block=True, first=True)
async def _reaction(bot: object, event: NoticeEvent) -> None:
    found = reaction_of(event)
    app = current_app()
    if found is None or app is None:
        return
    _group, user, message_id = found
    try:
        await app.broadcasts.reactions.confirm_by_reaction(user, message_id)
    except NotBound:
        task_id = await app.broadcasts.posts.task_of_message(message_id)
        if task_id is None or (user, task_id) in _told:
            return
        _told.add((user, task_id))
        async with app.db.tx() as tx:  # told privately, never by a message in the group
            await app.outbox.put(tx, "private", user, Msg(NOT_BOUND), account=str(event.self_id))
