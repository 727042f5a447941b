"""The production server: gunicorn, one worker process, threads for the sockets."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication


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

    With 500 boards and phones connected (about 2,000 threads), a full collection took
    120–145 ms, long enough to hold a call back from every board. The objects made at start-up
    are frozen (never traversed again: a full collection then took about 40 ms), and the young
    generation is collected less often, so full collections are rare. Cyclic garbage (a
    refused request's traceback, say) still goes, just in larger, rarer sweeps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)


def serve(host: str, port: int, threads: int = 600, public_url: str | None = None) -> None:
    """Serve the app with gunicorn's threaded worker (Flask-SocketIO threading mode);
    `public_url` overrides the configured base of the QR links."""
    _Server({
        "bind": f"{host}:{port}",
        "workers": 1,  # one process; scale out with more processes and the Redis queue
        "worker_class": "gthread",
        "threads": threads,
        # gunicorn's default (1,000) would cap the open sockets below the threads meant for them
        "worker_connections": max(1000, threads + 400),
        "timeout": 0,  # websockets live long; liveness is the socket's own ping
        "graceful_timeout": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }, {"PUBLIC_URL": public_url} if public_url else None).run()
