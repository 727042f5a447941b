"""The production server: gunicorn, one worker process, gevent (or threads) for the sockets.

`layso run` serves with gunicorn's gevent worker and Flask-SocketIO in gevent mode (the
Flask-SocketIO deployment docs: `gunicorn -k gevent -w 1`, WebSockets by simple-websocket):
every socket and request is a greenlet on one loop, so a thousand boards and phones cost two
OS threads (docs/benchmarks.md, "Board latency"). gevent must patch the standard library
before anything else is imported, or the modules imported before keep real locks and
blocking calls (psycopg, for one, chooses its wait function when it is imported). So
`layso run`, once it has read its arguments (and nothing else: Flask, SQLAlchemy and the queue
are not imported yet), replaces its process with a fresh interpreter whose first statement is
gevent's `monkey.patch_all()` and which then runs the same command (`BOOT`): its checks, the
database's upgrade, the banner and `serve`, every one of them once. gunicorn's worker patches
again after the fork (a no-op by then). `LAYSO_WORKER=gthread` serves with gunicorn's
threaded worker instead, unpatched (one thread per open socket, `LAYSO_THREADS`).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from layso import concurrency

#: the server models `layso run` knows (`LAYSO_WORKER`)
WORKERS = ("gevent", "gthread")

#: the serving process's first statements (`python -P -c BOOT run ARGS`): patch, then the
#: `layso` command itself
BOOT = ("from gevent import monkey\n"
        "monkey.patch_all()\n"
        "import sys\n"
        "from layso.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any], app_config: dict[str, Any] | None = None) -> None:
        self.options = options
        self.app_config = app_config or {}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # built in the worker, after the fork: no connection or thread crosses it
        from layso import create_app

        app = create_app(self.app_config or None)
        tune_gc()
        return app


def tune_gc() -> None:
    """Keep the garbage collector's pauses out of a call's way.

    With 500 boards and phones connected (about 2,000 threads under gthread), a full
    collection took 120–145 ms, long enough to hold a call back from every board. The objects
    made at start-up are frozen (never traversed again: a full collection then took about
    40 ms), and the young generation is collected less often, so full collections are rare.
    Cyclic garbage (a refused request's traceback, say) still goes, just in larger, rarer
    sweeps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)


def options(host: str, port: int, worker: str = "gevent", threads: int = 600,
            connections: int = 2000) -> dict[str, Any]:
    """gunicorn's settings for `layso run`."""
    if worker not in WORKERS:
        raise ValueError(f"LAYSO_WORKER must be one of {', '.join(WORKERS)}, not {worker!r}")
    opts: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": 1,  # one process; scale out with more processes and the Redis queue
        "timeout": 0,  # websockets live long; liveness is the socket's own ping
        "graceful_timeout": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    if worker == "gevent":
        # every open socket and request is one greenlet; past this many, new connections wait
        # in the listen backlog. A request's header must arrive within gunicorn's keepalive
        # (2 s) or the connection is closed: a phone that sends one byte holds nothing long
        opts.update(worker_class="gevent", worker_connections=max(100, connections))
    else:
        # gunicorn's default (1,000) would cap the open sockets below the threads meant for them
        opts.update(worker_class="gthread", threads=threads,
                    worker_connections=max(1000, threads + 400))
    return opts


def become_patched(argv: list[str]) -> None:
    """Replace this process with a fresh interpreter, gevent-patched first, running the
    `layso` command `argv` (os.execve: same pid, same standard streams); never returns."""
    if importlib.util.find_spec("gevent") is None:
        raise SystemExit("error: gevent is not installed (an older install: run `make setup` "
                         "or pip install the package again), or set LAYSO_WORKER=gthread")
    root = str(Path(__file__).resolve().parent.parent)  # this very layso, installed or not
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the working directory is not put on the path (a queue.py there would shadow)
    os.execve(sys.executable, [sys.executable, "-P", "-c", BOOT, *argv], env)


def serve(host: str, port: int, threads: int = 600, public_url: str | None = None,
          worker: str = "gevent", connections: int = 2000) -> None:
    """Serve the app with gunicorn, one worker: gevent (`connections` open at most) or
    gthread (`threads`); `public_url` overrides the configured base of the QR links. gevent
    only in a process patched first (`become_patched`)."""
    opts = options(host, port, worker, threads, connections)
    if worker == "gevent" and not concurrency.gevent_patched():
        raise SystemExit("the gevent server must be started by `layso run` (layso.server.BOOT)")
    _Server(opts, {"PUBLIC_URL": public_url} if public_url else None).run()
