"""Several numbered tasks in one command (`/已转发 2，5`, `/已报送 1，3`): each done, one acknowledgement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.errors import UserError
from bot.render import Ack


async def each_number(numbers: list[int], one: Callable[[int], Awaitable[Ack]]) -> Ack:
    """`one` for each of several task numbers (`/已转发 2，5`), answered as one acknowledgement, a line each; a number
    that fails says why on its line. All failing: the first failure is the answer.

    Raises:
        UserError: every number failed.
    """
    lines: list[str] = []
    failed: list[UserError] = []
    react = True
    for n in numbers:
        try:
            ack = await one(n)
        except UserError as e:
            failed.append(e)
            lines.append(f"#{n}：{e}")
            continue
        react = react and ack.react
        lines.append(ack.plain())
    if len(failed) == len(numbers):
        raise failed[0]
    return Ack("\n".join(lines), react=react and not failed)
