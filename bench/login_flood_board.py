"""A board's call and health during a login flood (measures, never asserts): does the
password hashing hold gevent's loop?

A real `layso run` on 127.0.0.1 (SQLite) with the login limits raised, so every attempt is a
real Argon2id verification; FLOODERS threads post wrong logins without pause while an
official makes CALLS calls at counter 3, each preceded by a GET /api/v1/health. Printed: the
seconds from each `call-next` to the board's `ticket.called`, each health's answer time, and
the flood's answers.

Run: .venv/bin/python bench/login_flood_board.py [FLOODERS] [CALLS]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live import LiveServer  # noqa: E402


def main() -> None:
    """Start a server, flood it, call, print."""
    flooders = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    calls_n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with open("/proc/loadavg") as fh:
        print("load average before:", " ".join(fh.read().split()[:3]))
    server = LiveServer(Path(tempfile.mkdtemp(prefix="layso-flood-board-")) / "live", env={
        "LAYSO_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "LAYSO_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": "100000"})
    server.init()
    server.start()
    stop = threading.Event()
    answers: Counter[int] = Counter()

    def flood() -> None:
        s = requests.Session()
        while not stop.is_set():
            try:
                code = s.post(server.url + "/api/v1/auth/login", timeout=30, json={
                    "username": "lanhdao", "password": "not-the-password"}).status_code
            except requests.RequestException:
                code = 0
            answers[code] += 1

    heard: list[str] = []
    board = socketio.Client(reconnection=False)
    board.on("ticket.called", lambda data: heard.append(data["ticket"]["label"]))
    threads = [threading.Thread(target=flood) for _ in range(flooders)]
    try:
        sup = server.login("lanhdao", "layso-demo")
        for _ in range(calls_n):
            server.api("POST", "/tickets", sup, json={"service": "land"})
        server.api("POST", "/counters/3/open", sup)
        board.connect(server.url, auth={"channel": "board"}, transports=["websocket"])
        time.sleep(0.5)
        for t in threads:
            t.start()
        time.sleep(1.0)
        call_s, health_s = [], []
        for _ in range(calls_n):
            t0 = time.monotonic()
            requests.get(server.url + "/api/v1/health", timeout=30)
            health_s.append(time.monotonic() - t0)
            t0 = time.monotonic()
            label = server.api("POST", "/counters/3/call-next", sup).json()["label"]
            while label not in heard and time.monotonic() - t0 < 30:
                time.sleep(0.01)
            call_s.append(time.monotonic() - t0)
            server.api("POST", "/counters/3/start", sup)
            server.api("POST", "/counters/3/complete", sup, json={"outcome": "done"})
    finally:
        stop.set()
        for t in threads:
            if t.is_alive():
                t.join(40)
        board.disconnect()
        server.kill()
    print(f"{flooders} flooders: call -> board s {[round(x, 2) for x in call_s]}; "
          f"health s {[round(x, 2) for x in health_s]}; answers "
          + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
    with open("/proc/loadavg") as fh:
        print("load average after:", " ".join(fh.read().split()[:3]))


if __name__ == "__main__":
    main()
