"""`layso run` serves with gevent (issue 10): greenlets on one loop, CPU work on real threads."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.live import LiveServer

#: what `layso.server.BOOT` does before anything else: patch, then import
PATCHED = "from gevent import monkey\nmonkey.patch_all()\n"


def patched_python(code: str) -> Any:
    """Run `code` in a fresh interpreter patched first, as `layso run` serves; its JSON."""
    out = subprocess.run([sys.executable, "-P", "-c", PATCHED + code], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_off_loop_work_runs_on_real_threads_under_gevent() -> None:
    """A password hash, a ticket's rendering, the SQLite write-lock wait: each runs on an OS
    thread that is not the loop's, so the loop (every socket) goes on meanwhile."""
    seen = patched_python("""
import json, gevent
from gevent import monkey
from layso import auth, concurrency
get_ident = monkey.get_original("_thread", "get_ident")
loop = gevent.get_hub().thread_ident
slots = auth.HashSlots(2, 3.0)
def where(): return get_ident()
def fails(): raise ValueError("on the pool")
try:
    concurrency.run_off_loop(fails)
    raised = False
except ValueError:
    raised = True
print(json.dumps({"model": concurrency.server_model(), "loop": loop, "here": get_ident(),
                  "slots": [slots.run(where) for _ in range(3)],
                  "off_loop": concurrency.run_off_loop(where), "raised": raised}))
""")
    assert seen["model"] == "gevent"
    assert seen["here"] == seen["loop"]
    assert seen["loop"] not in seen["slots"] and seen["off_loop"] != seen["loop"]
    assert seen["raised"]


def test_without_gevent_the_same_calls_run_on_threads() -> None:
    """The test client, the CLI and LAYSO_WORKER=gthread run unpatched: threads as before."""
    from layso import auth, concurrency

    assert concurrency.server_model() == "threading"
    here = threading.get_ident()
    assert concurrency.run_off_loop(threading.get_ident) == here  # already a real thread
    assert auth.HashSlots(1, 1.0).run(threading.get_ident) != here  # the slots' own thread


def test_psycopg_waits_cooperatively_in_the_patched_server() -> None:
    """psycopg picks its wait function when it is first imported: patched first (as BOOT
    does) it waits through gevent, not in C holding the loop."""
    seen = patched_python("""
import json
import layso, layso.server
from layso import create_app
import psycopg.waiting
print(json.dumps({"wait": psycopg.waiting.wait.__name__}))
""")
    assert seen["wait"] != "wait_c"


def server_threads(server: LiveServer) -> int:
    """OS threads of every process of the server (gunicorn master and worker)."""
    assert server.proc is not None
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == server.proc.pid:  # its process group
                total += len(list((stat.parent / "task").iterdir()))
        except (OSError, IndexError, ValueError):
            continue
    return total


def closed_by_server(s: socket.socket) -> bool:
    """Whether the server closed this socket (EOF waiting on it)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_layso_run_is_gevent_and_slow_sockets_hold_nothing(tmp_path: Path) -> None:
    """More one-byte sockets than the threaded model's 600 threads (which they stopped cold,
    docs/benchmarks.md) leave health and issuing answering, on a handful of OS threads; the
    server closes each one-byte socket itself after gunicorn's 2 s header wait."""
    server = LiveServer(tmp_path / "live")
    server.init()
    server.start()
    socks: list[socket.socket] = []
    try:
        assert requests.get(server.url + "/api/v1/health", timeout=10).json()["server"] == "gevent"
        sup = server.login("lanhdao", "layso-demo")
        for i in range(900):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if i % 3:
                s.sendall(b"G")
            socks.append(s)
        health = requests.get(server.url + "/api/v1/health", timeout=10)
        assert health.status_code == 200
        issued = server.api("POST", "/tickets", sup, json={"service": "land"})
        assert issued.status_code == 201
        assert server_threads(server) < 20  # not one per socket
        one_byte = [s for i, s in enumerate(socks) if i % 3]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(closed_by_server(s) for s in one_byte):
            time.sleep(0.2)
        assert all(closed_by_server(s) for s in one_byte)
    finally:
        for s in socks:
            s.close()
        server.kill()


@pytest.mark.slow
def test_the_gthread_fallback_serves_with_threads(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "live", env={"LAYSO_WORKER": "gthread"})
    server.init()
    server.start()
    try:
        health = requests.get(server.url + "/api/v1/health", timeout=10).json()
        assert health["ok"] and health["server"] == "threading"
    finally:
        server.kill()


@pytest.mark.slow
def test_a_login_flood_does_not_hold_back_a_boards_call(tmp_path: Path) -> None:
    """Eight clients post wrong logins without pause (the limits raised, so every one is a
    real Argon2id verification) while an official calls three tickets: each call reaches a
    board, and every login is answered."""
    server = LiveServer(tmp_path / "live", env={
        "LAYSO_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "LAYSO_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": "100000"})
    server.init()
    server.start()
    stop = threading.Event()
    answers: list[int] = []

    def flood() -> None:
        s = requests.Session()
        while not stop.is_set():
            try:
                code = s.post(server.url + "/api/v1/auth/login", timeout=30,
                              json={"username": "lanhdao", "password": "not-the-password"}
                              ).status_code
            except requests.RequestException:
                code = 0
            answers.append(code)

    board = socketio.Client(reconnection=False)
    calls: list[tuple[float, str]] = []
    ready = threading.Event()
    board.on("snapshot", lambda _data: ready.set())
    board.on("ticket.called",
             lambda data: calls.append((time.monotonic(), data["ticket"]["label"])))
    flooders = [threading.Thread(target=flood) for _ in range(8)]
    try:
        sup = server.login("lanhdao", "layso-demo")
        for _ in range(3):
            assert server.api("POST", "/tickets", sup, json={"service": "land"}
                              ).status_code == 201
        assert server.api("POST", "/counters/3/open", sup).status_code == 200
        board.connect(server.url, auth={"channel": "board"}, transports=["websocket"],
                      wait_timeout=10)
        assert ready.wait(10)
        for t in flooders:
            t.start()
        time.sleep(1.0)  # the flood under way
        for _ in range(3):
            made = time.monotonic()
            r = server.api("POST", "/counters/3/call-next", sup)
            assert r.status_code == 200
            label = r.json()["label"]
            deadline = made + 10
            while time.monotonic() < deadline and label not in [c[1] for c in calls]:
                time.sleep(0.02)
            assert label in [c[1] for c in calls], f"{label} never reached the board"
            assert server.api("POST", "/counters/3/start", sup).status_code == 200
            assert server.api("POST", "/counters/3/complete", sup,
                              json={"outcome": "done"}).status_code == 200
    finally:
        stop.set()
        for t in flooders:
            if t.is_alive():
                t.join(40)
        board.disconnect()
        server.kill()
    assert answers.count(401) >= 10  # the flood did hash
    assert set(answers) <= {401, 429}  # every login answered, none failed
