"""Untrusted files are parsed in a child process with a memory and a time limit, never in the bot's own process.
(The /粉丝 pictures drawn ahead at a start are drawn in one too, so the bot keeps none of that memory:
bot/readouts/drawn_ahead.py.)

How the promises hold:
- A crash, a runaway allocation or a parse that never ends costs that child, never the bot: native readers
  (python-calamine) abort the whole process when an allocation fails, which no `try` can catch.
- Each job runs in a fresh process forked from one small server process started at first use
  (multiprocessing's forkserver, preloading only the parsing modules), so it inherits none of the bot's
  threads, sockets or database handles and costs a fork, not an interpreter start.
- The child caps its own address space (RLIMIT_AS: `MEMORY_MB` above what it holds when it starts, the file
  included) and its CPU time before it touches the bytes; the parent waits at most `SECONDS` and kills it then.
- At most `WORKERS` jobs run at once (a caller's thread waits for a slot), so a burst of hostile uploads costs
  at most `WORKERS` limits' worth of memory, and the event loop never waits: callers run `run` in a thread.
- A `UserError` raised by the job (a clear refusal) comes back as itself; any other failure of the child
  comes back as `Overrun`, whose `kind` says whether it ran out of memory, of time, or crashed.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from bot.errors import UserError

T = TypeVar("T")

MEMORY_MB = 512
"""Address space a job may add to what it holds at start (the file's bytes included)."""
SECONDS = 20.0
"""Wall-clock time a job may take (a 5,000-row form reads in well under a second)."""
WORKERS = 2
PRELOAD = ["bot.sheets"]
"""Imported once by the fork server, so a job's child starts with the readers loaded."""

MEMORY, TIME, CRASH = "memory", "time", "crash"

_slots = threading.BoundedSemaphore(WORKERS)
_ctx_lock = threading.Lock()
_ctx: Any = None
jobs_run = 0
"""How many jobs ran in a child (tests read it to see a file was parsed there)."""


class Overrun(Exception):
    """The child ran out of memory or time, or died; `kind` is MEMORY, TIME or CRASH."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def _context() -> Any:
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _ctx = ctx
        return _ctx


def _vm_bytes() -> int:
    """The process's current address space (VmSize), in bytes; 0 where /proc cannot tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(
    conn: multiprocessing.connection.Connection, fn: Callable[..., Any], args: tuple, memory: int, cpu: int, token: str
) -> None:
    """In the child: limit memory and CPU, run the job, send back (token, "ok", value), (token, "refused", UserError)
    or (token, a failure, detail)."""
    os.environ["RUST_BACKTRACE"] = "0"  # a native allocation failure says one line in the log, not a page
    base = _vm_bytes()
    if base:
        resource.setrlimit(resource.RLIMIT_AS, (base + memory, base + memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        out: tuple[str, Any] = ("ok", fn(*args))
    except UserError as e:
        out = ("refused", UserError(str(e)) if type(e).__module__ == "__main__" else e)
    except MemoryError:
        out = (MEMORY, "")
    except RecursionError:
        out = (CRASH, "RecursionError")
    except Exception as e:  # any other failure of the reader is the file's, reported by its kind
        out = (CRASH, type(e).__name__)
    try:
        conn.send((token, *out))
    except MemoryError:
        conn.send((token, MEMORY, "result"))
    conn.close()
    os._exit(0)  # no atexit handlers, no flushing of what the fork server left behind


def run(fn: Callable[..., T], *args: Any, memory_mb: int = MEMORY_MB, seconds: float = SECONDS) -> T:
    """Run `fn(*args)` in a limited child and return its value; blocking, so call it from a worker thread.

    `fn` must be importable by name (a module-level function) and its arguments and value picklable. A child that
    died before it ran the job (exit 0 or 1 with no answer: the files bench saw the fork server's child fail to read
    its launch data, 1 job in ~2,000 with uploads in flight) is started once more: the job has no side effects. An
    answer that does not carry this job's token is never taken for its result.

    Raises:
        UserError: what the job raised to refuse the input.
        Overrun: the child ran out of memory or time, or died.
    """
    for attempt in (1, 2):
        try:
            kind, value = _once(fn, args, memory_mb, seconds)
        except _NotLaunched as e:
            if attempt == 2:
                raise Overrun(CRASH, str(e)) from None
            continue
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "refused":
            raise value
        raise Overrun(kind, value)
    raise AssertionError("unreachable")


class _NotLaunched(Exception):
    """The child gave no answer of this job and died as a child that never ran it does."""


def _once(fn: Callable[..., Any], args: tuple, memory_mb: int, seconds: float) -> tuple[str, Any]:
    """One child for the job: (kind, value) as `_child` sends it."""
    global jobs_run
    ctx = _context()
    token = secrets.token_hex(8)
    with _slots:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child, args=(send, fn, args, memory_mb * 1024 * 1024, int(seconds) + 1, token), daemon=True
        )
        proc.start()
        send.close()
        with _ctx_lock:
            jobs_run += 1
        try:
            if not recv.poll(seconds):
                proc.kill()
                raise Overrun(TIME, f"{seconds:g} s")
            try:
                got = recv.recv()
            except (EOFError, OSError):
                proc.join(1)
                code = proc.exitcode
                # A native allocation failure aborts (SIGABRT); the CPU limit sends SIGXCPU; the kernel's OOM SIGKILL.
                if code in (-6, -9):
                    raise Overrun(MEMORY, f"exit {code}") from None
                if code == -24:
                    raise Overrun(TIME, "cpu") from None
                if code in (0, 1):
                    raise _NotLaunched(f"exit {code}") from None
                raise Overrun(CRASH, f"exit {code}") from None
            answer = _answer(got, token)
            if answer is None:
                raise _NotLaunched("an answer of another job")
            return answer
        finally:
            recv.close()
            if proc.is_alive():
                proc.join(1)
            if proc.is_alive():
                proc.kill()
                proc.join()
            proc.close()


def _answer(got: Any, token: str) -> tuple[str, Any] | None:
    """(kind, value) of a child's answer, if it is this job's (carries `token`); None otherwise."""
    if isinstance(got, tuple) and len(got) == 3 and got[0] == token:
        return got[1], got[2]
    return None
