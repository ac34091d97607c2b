"""Listing who reacted as the real clients answer (plugins/system/reactions.py, issue 22 item 1).

LLOneBot/LuckyLilliaBot `src/onebot11/action/llbot/msg/FetchEmojiLike.ts`: one page of `count` (default 20) from
`cookie`, answering `cookie` and `isLastPage`. NapNeko/NapCatQQ `packages/napcat-onebot/action/extends/
FetchEmojiLike.ts` answers the same shape.
"""

from __future__ import annotations


class PagingBot:
    """fetch_emoji_like over `people`, `page` at a time; `stuck` answers the same cookie forever (a broken client)."""

    def __init__(self, people: int, *, stuck: bool = False, last_flag: bool = True) -> None:
        self.people = [str(30000000 + i) for i in range(people)]
        self.calls: list[dict] = []
        self.stuck = stuck
        self.last_flag = last_flag

    async def call_api(self, api: str, **params: object) -> dict:
        assert api == "fetch_emoji_like"
        self.calls.append(params)
        start = 0 if self.stuck else int(str(params.get("cookie") or 0))
        count = int(str(params["count"]))
        page = self.people[start : start + count]
        end = start + len(page)
        out: dict = {"emojiLikesList": [{"tinyId": u, "nickName": "", "headUrl": ""} for u in page]}
        out["cookie"] = "20" if self.stuck else (str(end) if end < len(self.people) else "")
        if self.last_flag:
            out["isLastPage"] = False if self.stuck else end >= len(self.people)
        return out


async def test_every_page_is_read_with_count_and_cookie() -> None:
    from plugins.system.reactions import _fetch_all

    bot = PagingBot(205)
    got = await _fetch_all(bot, "-2000014956", "76")
    assert got == bot.people  # all 205, not the first 20
    assert bot.calls[0]["cookie"] == "" and bot.calls[1]["cookie"] == "20"
    assert all(c["count"] == 20 and c["emojiId"] == "76" and c["emojiType"] == "1" for c in bot.calls)
    assert len(bot.calls) == 11


async def test_a_client_that_repeats_its_cookie_or_says_nothing_of_pages_is_read_once_more_at_most() -> None:
    from plugins.system.reactions import _fetch_all

    stuck = PagingBot(100, stuck=True)
    assert await _fetch_all(stuck, "1", "76") == stuck.people[:20]
    assert len(stuck.calls) == 2  # the repeated cookie ends it, no endless loop

    old = PagingBot(100, last_flag=False)  # an older client without isLastPage: one page, as before
    assert await _fetch_all(old, "1", "128077") == old.people[:20]
    assert len(old.calls) == 1 and old.calls[0]["emojiType"] == "2"
