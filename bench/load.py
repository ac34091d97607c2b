"""The load generator: one simulated QQ client, requests pipelined with a bounded window, replies matched back.

A group reply is matched to its request by the @-mention of the asker it starts with (the bot and the echo bot
both answer a group command with an @ of the sender first); a private reply by the chat it goes to. Requests that
would share a key never run at the same time, so every reply has exactly one request it can answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sim.qqsim import QQClient, Sent, normalize_message

ReplyKey = tuple[str, int, int]  # ("g", group, asker) or ("p", 0, user)


def reply_key(sent: Sent) -> ReplyKey | None:
    """Which request a message answers: a group message starting with an @ of one person, or a private chat."""
    if sent.group_id is None:
        return ("p", 0, int(sent.user_id)) if sent.user_id is not None else None
    message = sent.message
    if sent.is_forward and sent.message:  # a folded list answers the @ in its first node
        message = normalize_message(sent.message[0]["data"].get("content"))
    ats = [s for s in message if s.get("type") == "at"]
    if len(ats) != 1 or not message or message[0].get("type") != "at":
        return None  # not a reply (an announcement, a nudge with many @s, …)
    qq = str(ats[0]["data"].get("qq", ""))
    return ("g", int(sent.group_id), int(qq)) if qq.isdigit() else None


MERGED_ACK = "条确认："  # the header of acknowledgements merged into one message (bot.outbox)


class BenchClient(QQClient):
    """The project's simulated QQ client, telling each waiting request when its reply arrives.

    A reply is a message that @-mentions the asker first, a merged acknowledgement that @-mentions them among
    others, or a reaction the bot puts on the request's own message."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("track_members", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.waiting: dict[ReplyKey, asyncio.Future[Sent]] = {}
        self.by_message: dict[int, ReplyKey] = {}  # the request's message id → its key (for reactions)
        self.unmatched = 0

    def _resolve(self, key: ReplyKey | None, sent: Sent) -> bool:
        fut = self.waiting.pop(key, None) if key is not None else None
        if fut is not None and not fut.done():
            fut.set_result(sent)
            return True
        return False

    def _record(self, sent: Sent, ok: bool) -> None:
        super()._record(sent, ok)
        if not ok:
            return
        if self._resolve(reply_key(sent), sent):
            return
        if sent.group_id is not None and MERGED_ACK in sent.text:
            hits = [self._resolve(("g", sent.group_id, int(qq)), sent) for qq in sent.ats if qq.isdigit()]
            if any(hits):
                return
        self.unmatched += 1

    def _api_reaction(self, action: str, params: dict) -> dict:
        answer = super()._api_reaction(action, params)
        if answer.get("status") == "ok" and action in ("set_msg_emoji_like", "set_group_reaction"):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                mid = int(params["message_id"])
                reaction = Sent(action, None, None, [], mid, time.monotonic(), dict(params))
                self._resolve(self.by_message.pop(mid, None), reaction)
        return answer

    async def request(self, req: Request, timeout: float) -> tuple[float, Sent]:
        """Send one request and wait for its reply; returns (latency in seconds, reply)."""
        key = req.key
        if key in self.waiting:
            raise RuntimeError(f"two requests in flight for {key}")
        fut: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        self.waiting[key] = fut
        try:
            started = time.monotonic()
            if req.group_id is not None:
                mid = self.new_message_id()
                self.by_message[mid] = key
                await self.group_message(req.group_id, req.user_id, req.text, card=req.card, message_id=mid)
            else:
                await self.private_message(req.user_id, req.text)
            reply = await asyncio.wait_for(fut, timeout)
        finally:
            if self.waiting.get(key) is fut:
                del self.waiting[key]
            if req.group_id is not None:
                self.by_message.pop(mid, None)
        return reply.time - started, reply


@dataclass(frozen=True)
class Request:
    """One command sent by one person, in a group (group_id) or a private chat (group_id None)."""

    kind: str
    user_id: int
    text: str
    group_id: int | None = None
    card: str = ""

    @property
    def key(self) -> ReplyKey:
        if self.group_id is None:
            return ("p", 0, self.user_id)
        return ("g", self.group_id, self.user_id)


@dataclass
class RunResult:
    """What a batch of requests gave: latencies (seconds) of the answered ones, and the rest."""

    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    replies: list[tuple[Request, Sent]] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Answered requests per second of wall time."""
        return self.answered / self.wall if self.wall > 0 else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "answered": self.answered,
            "timeouts": self.timeouts,
            "errors": self.errors[:10],
            "wall_s": round(self.wall, 3),
            "events_per_s": round(self.rate, 1),
            "p50_ms": ms(percentile(self.latencies, 50)),
            "p99_ms": ms(percentile(self.latencies, 99)),
            "max_ms": ms(max(self.latencies) if self.latencies else None),
            "by_kind": {
                k: {"n": len(v), "p50_ms": ms(percentile(v, 50)), "p99_ms": ms(percentile(v, 99))}
                for k, v in sorted(self.by_kind.items())
            },
        }


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))
    return ordered[int(rank) - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def run_requests(
    client: BenchClient, requests: Iterable[Request], *, window: int = 50, timeout: float = 30, keep: bool = False
) -> RunResult:
    """Send every request, at most `window` awaiting their reply at once; requests with the same reply key wait
    for each other. A request unanswered after `timeout` seconds counts as a timeout, not as a latency."""
    result = RunResult()
    pending = list(requests)
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for r in pending:
        queue.put_nowait(r)
    locks: dict[ReplyKey, asyncio.Lock] = {}

    async def worker() -> None:
        while True:
            try:
                req = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            lock = locks.setdefault(req.key, asyncio.Lock())
            async with lock:
                result.sent += 1
                try:
                    latency, reply = await client.request(req, timeout)
                except TimeoutError:
                    result.timeouts += 1
                    continue
                except Exception as e:  # a lost connection ends the run; report it, don't hide it
                    result.errors.append(f"{req.kind}: {type(e).__name__}: {e}"[:300])
                    if not client.connected:
                        return
                    continue
            result.latencies.append(latency)
            result.by_kind.setdefault(req.kind, []).append(latency)
            if keep:
                result.replies.append((req, reply))

    started = time.monotonic()
    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(window, len(pending))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
        for w in workers:
            with contextlib.suppress(BaseException):
                await w
    result.wall = time.monotonic() - started
    return result


UNKNOWN_COMMAND_WORDS = ("没有命令", "未知命令", "不认识命令", "没有这个命令")


async def probe(client: BenchClient, req: Request, timeout: float = 3.0) -> Sent | None:
    """Send a command once: its reply, or None when nothing answers (the command does not exist) in time."""
    try:
        _, reply = await client.request(req, timeout)
    except TimeoutError:
        return None
    if any(w in reply.text for w in UNKNOWN_COMMAND_WORDS):
        return None
    return reply


async def probe_all(client: BenchClient, reqs: dict[str, Request], timeout: float = 3.0) -> dict[str, Sent | None]:
    """Probe several commands at once (their reply keys must differ); name → reply or None."""
    names = list(reqs)
    replies = await asyncio.gather(*(probe(client, reqs[n], timeout) for n in names))
    return dict(zip(names, replies, strict=True))
