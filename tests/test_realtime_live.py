"""Sockets against real server processes: origin check, and Redis fan-out between two processes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import socketio

from tests.conftest import REDIS_URL, close_app
from tests.live import LiveServer


def board_client(url: str, **headers: str) -> tuple[Any, list[dict[str, Any]], threading.Event]:
    """A board socket that collects `ticket.called` events."""
    calls: list[dict[str, Any]] = []
    ready = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("snapshot", lambda _data: ready.set())
    client.on("ticket.called", lambda data: calls.append(data))
    client.connect(url, auth={"channel": "board"}, transports=["websocket"],
                   headers=headers or None, wait_timeout=10)
    return client, calls, ready


def test_sockets_from_another_origin_are_refused(live_server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        board_client(live_server.url, Origin="http://evil.example")
    client, _calls, ready = board_client(live_server.url)  # its own origin: welcome
    try:
        assert ready.wait(10)
    finally:
        client.disconnect()


@pytest.mark.slow
def test_a_call_made_on_one_process_reaches_a_board_on_another(tmp_path):
    if not REDIS_URL:
        pytest.skip("needs Redis: set LAYSO_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    env = {"LAYSO_MESSAGE_QUEUE": REDIS_URL, "LAYSO_SECRET_KEY": "two-process-test"}
    data = tmp_path / "shared"
    a = LiveServer(data, env=env)
    b = LiveServer(data, env=env)
    a.init()
    a.start()
    b.start()
    try:
        client, calls, ready = board_client(b.url)
        try:
            assert ready.wait(10)
            kiosk = a.device("Kiosk", "kiosk")
            sup = a.login("lanhdao", "layso-demo")
            assert a.api("POST", "/tickets", kiosk, json={"service": "land"}).status_code == 201
            assert a.api("POST", "/counters/3/open", sup).status_code == 200
            assert a.api("POST", "/counters/3/call-next", sup).status_code == 200
            deadline = time.monotonic() + 10
            while not calls and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [c["ticket"]["label"] for c in calls] == ["C001"]
            assert calls[0]["counter"]["number"] == 3
            assert calls[0]["speech"]["vi"] == "Mời công dân có số C một đến quầy số ba"
        finally:
            client.disconnect()
    finally:
        a.kill()
        b.kill()


def test_each_center_on_a_shared_redis_publishes_on_a_channel_of_its_own(tmp_path, clock):
    """Redis pub/sub ignores the db number, so two centers (or two test runs) on one Redis
    would hear each other's calls on Flask-SocketIO's default channel."""
    if not REDIS_URL:
        pytest.skip("needs Redis: set LAYSO_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    import redis

    from layso import auth, create_app
    from layso.cli import init_db
    from layso.config import center_key, load

    apps = []
    for name in ("one", "two"):
        cfg = {"DATA_DIR": str(tmp_path / name), "CLOCK": clock, "SECRET_KEY": "test-secret",
               "MESSAGE_QUEUE": REDIS_URL}
        init_db(load(cfg), demo=True)
        apps.append(create_app(cfg))
    channels = ["layso:" + center_key(a.config["DATABASE_URL"]) for a in apps]
    assert channels[0] != channels[1]
    listener = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(*channels)
    try:
        with apps[0].extensions["layso"].db.write() as conn:
            kiosk = auth.add_device(conn, "Kiosk 1", "kiosk")
        r = apps[0].test_client().post("/api/v1/tickets", json={"service": "land"},
                                       headers={"Authorization": f"Bearer {kiosk}"})
        assert r.status_code == 201
        heard: list[str] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not heard:
            m = listener.get_message(timeout=0.2)
            if m is not None:
                heard.append(m["channel"].decode())
        time.sleep(0.5)  # anything the other center would (wrongly) have heard
        while (m := listener.get_message(timeout=0.1)) is not None:
            heard.append(m["channel"].decode())
        assert heard and set(heard) == {channels[0]}
    finally:
        listener.close()
        for a in apps:
            close_app(a)


def test_websockets_open_without_per_message_compression(live_server):
    """A browser offers permessage-deflate; the server opens the socket without it, so no
    frame is compressed (and no compressor kept) per board or phone."""
    import base64
    import os
    import socket

    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as s:
        s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{live_server.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                   "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < 2:
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk
    head, _, frame = data.partition(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n", 1)[0]
    assert b"sec-websocket-extensions" not in head.lower()
    assert frame[0] & 0x0F == 1 and not frame[0] & 0x40  # Engine.IO's open: text, not deflated
