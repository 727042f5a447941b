"""Which server model this process runs, and CPU-bound work kept off gevent's loop.

`layso run` serves with gunicorn's gevent worker: the standard library is monkey-patched
before anything else is imported (`layso.server`), so threads, locks, sockets and sleeps are
greenlets on one loop. Everything else (tests with Flask's test client, the CLI, the
`LAYSO_WORKER=gthread` fallback) runs unpatched, with ordinary threads.

On the loop, a call that holds the CPU for tens of milliseconds (an Argon2 hash) holds every
socket and request still; `run_off_loop` and `ThreadPool` run such a call on a real OS thread
(gevent's thread pools, `gevent.threadpool`) while the loop goes on. The call must not touch
anything shared with the loop (the database, a lock, a socket): it gets its arguments and
answers a value. With threads (unpatched) the caller is a real thread already.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

GEVENT = "gevent"
THREADING = "threading"


def gevent_patched() -> bool:
    """Whether gevent monkey-patched this process's threads and sockets (`layso run`)."""
    monkey = sys.modules.get("gevent.monkey")  # never imported by an unpatched process
    return bool(monkey is not None and monkey.is_module_patched("threading")
                and monkey.is_module_patched("socket"))


def server_model() -> str:
    """`gevent` (greenlets on one loop) or `threading` (one OS thread per request)."""
    return GEVENT if gevent_patched() else THREADING


def _outcome(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[bool, Any]:
    # on the pool's thread: gevent would print an exception's traceback there as well as
    # raise it in the caller; here it is only raised, in the caller, by `_answer`
    try:
        return True, fn(*args)
    except Exception as exc:  # noqa: BLE001 - handed to the caller
        return False, exc


def _answer(outcome: tuple[bool, Any]) -> Any:
    ok, value = outcome
    if not ok:
        raise value
    return value


def let_others_run() -> None:
    """Between the steps of a long computation on the loop (a year's report): every other
    greenlet gets its turn first, so each step holds sockets back, not the whole. A no-op
    with threads (the interpreter switches them itself)."""
    if gevent_patched():
        import gevent

        gevent.sleep(0)


def run_off_loop(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a real thread of gevent's hub pool when on the loop; else right here.

    Only the calling greenlet waits; an exception is raised in the caller."""
    if not gevent_patched():
        return fn(*args)
    import gevent

    return _answer(gevent.get_hub().threadpool.apply(_outcome, (fn, args)))


class ThreadPool:
    """`n` real OS threads of this pool's own for a CPU-bound call (a password hash).

    Under gevent, gevent's `ThreadPool` (its threads are not greenlets: the loop goes on
    meanwhile); with threads, the standard library's executor. A fixed set of threads also
    keeps the C allocator's per-thread arenas few (`layso.auth.HashSlots`)."""

    def __init__(self, n: int, name: str) -> None:
        self.n = max(1, n)
        self._gevent: Any = None
        self._executor: Any = None
        if gevent_patched():
            from gevent.threadpool import ThreadPool as GeventThreadPool

            self._gevent = GeventThreadPool(self.n)
        else:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(self.n, thread_name_prefix=name)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on one of the pool's threads; the caller waits for its answer."""
        if self._gevent is not None:
            return _answer(self._gevent.apply(_outcome, (fn, args)))
        return self._executor.submit(fn, *args).result()
