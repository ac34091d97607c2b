"""One member cannot hold up everyone (issue 20): the router runs every command through the person's budget, and
a repeat that would get the same answer gets a reaction (or nothing) instead; see `bot/flood.py`."""

from __future__ import annotations

import json
from typing import Any

from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message, MessageEvent

from bot.app import get_app
from bot.flood import Admit, over_budget_note
from bot.render import Msg
from plugins._ctx import Ctx
from plugins._registry import Command, run
from plugins._reply import Reply, To


def shown(result: Reply) -> str | None:
    """What a person sees of an answer, to tell a repeat from a new answer (a picture by its text, which says the
    same); None for an answer that is never the same twice (a file upload)."""
    out = []
    for m in result if isinstance(result, list) else [result]:
        if isinstance(m, To):
            out.append(f"{m.target_type}:{m.target_id}")
            m = m.msg
        msg = Msg(m) if isinstance(m, str) else m
        if msg is None:
            continue
        if msg.kind == "upload":
            return None
        seen = msg.fallback if msg.kind == "image" and msg.fallback is not None else msg
        out.append(type(m).__name__ + json.dumps(seen.segments, ensure_ascii=False, sort_keys=True))
    return "\n".join(out)


def what_was_said(event: MessageEvent) -> str:
    """The message as one command: `/帮助`, `／帮助`, `@机器人 /帮助 ` are the same; a reply names what it quotes."""
    text = " ".join("".join(str(s.data.get("text", "")) for s in event.original_message if s.type == "text").split())
    quoted = next((str(s.data.get("id")) for s in event.original_message if s.type == "reply"), "")
    others = [  # @-mentions of others, pictures, files
        str(s)
        for s in event.original_message
        if s.type not in ("text", "reply") and not (s.type == "at" and str(s.data.get("qq")) == str(event.self_id))
    ]
    return "\n".join([text.replace("／", "/", 1) if text.startswith("／") else text, quoted, *others])


async def guarded(event: MessageEvent, arg: Message, cmd: Command, bot: Any = None) -> None:
    """Run a routed command within the person's budget; a repeat with the same answer is not answered again."""
    app = get_app()
    who = str(event.user_id)
    in_group = isinstance(event, GroupMessageEvent)
    chat = f"group:{event.group_id}" if in_group else f"private:{who}"
    said = what_was_said(event)
    admit = app.flood.admit(who, chat, said, exempt=app.is_admin(who))
    if admit is Admit.QUIET:
        return
    if admit is Admit.NOTE:
        note = Msg(over_budget_note(app.flood.window, app.flood.budget))

        async def tell(ctx: Ctx) -> Msg:
            return note

        await run(event, Message(), tell, bot=bot)
        return

    async def seen(result: Reply) -> bool:
        text = shown(result)
        if text is None or not app.flood.answered(who, chat, said, text):
            return False
        if in_group:  # "seen, answered above": a reaction where the client has them, else nothing
            async with app.db.tx() as tx:
                await app.outbox.nod(tx, str(event.group_id), str(event.message_id), account=str(event.self_id))
        return True

    await run(event, arg, cmd.fn, at_sender=cmd.at_sender, bot=bot, seen=seen, cmd=cmd)
