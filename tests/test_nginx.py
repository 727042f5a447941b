"""The documented nginx in front of a real server: slow and idle sockets from one address must
not starve it (health and issuing still answer), and each address has a cap."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import LiveServer, free_port

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: threads of the server behind nginx: fewer than the sockets the test opens
THREADS = 48
SLOW_SOCKETS = 120


def documented_block() -> str:
    """The nginx block of docs/operations.md, as written there."""
    m = re.search(r"```nginx\n(.*?)```", DOC.read_text(), re.S)
    assert m, "docs/operations.md has no nginx block"
    return m.group(1)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A server with few threads, and nginx with the documented settings in front of it."""
    if not Path(NGINX).exists():
        pytest.skip("needs nginx (Debian package nginx-light)")
    server = LiveServer(tmp_path / "live", env={"LAYSO_THREADS": str(THREADS)})
    port = free_port()
    server.env["LAYSO_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server.init()
    server.start()
    block = documented_block()
    assert "server 127.0.0.1:8000;" in block and "listen 80;" in block
    block = (block.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{server.port};")
             .replace("listen 80;", f"listen 127.0.0.1:{port};"))
    conf = tmp_path / "nginx.conf"
    t = tmp_path / "nginx"
    t.mkdir()
    conf.write_text(f"""daemon off;
master_process off;
pid {t}/nginx.pid;
error_log {t}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {t}/body; proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi; uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
{block}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(t)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(url + "/api/v1/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "nginx did not come up"
        time.sleep(0.1)
    try:
        yield server, url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        server.kill()


def from_address(addr: str, port: int) -> socket.socket:
    """A TCP connection to nginx from one loopback address (each is a client of its own)."""
    s = socket.socket()
    s.bind((addr, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_server(s: socket.socket) -> bool:
    """Whether the server has closed this connection (EOF, or a reset)."""
    s.settimeout(0.5)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def served(fn: Any) -> None:
    """fn's request is answered; a starved server would let its 5 s timeout raise."""
    r = fn()
    assert r.status_code in (200, 201), r.text


@pytest.mark.slow
def test_one_byte_sockets_do_not_starve_the_server_behind_nginx(proxied):
    server, url = proxied
    port = int(url.rsplit(":", 1)[1])
    sup = server.login("lanhdao", "layso-demo")
    slow = []
    for i in range(SLOW_SOCKETS):  # more than the server has threads, from 127.0.0.2
        s = from_address("127.0.0.2", port)
        s.sendall(b"G" if i % 2 else b"")  # half send one byte, half nothing at all
        slow.append(s)
    time.sleep(1)
    # another client (127.0.0.1) is served at once: nginx holds the slow ones, not the server
    served(lambda: requests.get(url + "/api/v1/health", timeout=5))
    served(lambda: requests.post(url + "/api/v1/tickets", json={"service": "land"},
                                       headers={"Authorization": f"Bearer {sup}"},
                                       timeout=5))
    # the header timeout (10 s) closes them
    time.sleep(11)
    assert sum(closed_by_server(s) for s in slow) == SLOW_SOCKETS
    for s in slow:
        s.close()


@pytest.mark.slow
def test_each_address_has_a_cap_on_open_sockets(proxied):
    server, url = proxied
    port = int(url.rsplit(":", 1)[1])
    cap = int(re.search(r"limit_conn layso_per_client (\d+);", documented_block()).group(1))
    assert cap < THREADS
    held, refused = [], 0
    for _ in range(cap + 10):  # open WebSockets (each holds a server thread) from one address
        s = from_address("127.0.0.3", port)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = s.recv(4096).split(b"\r\n", 1)[0]
        if b" 101 " in head:
            held.append(s)
        else:
            assert b" 429 " in head, head
            refused += 1
            s.close()
    assert len(held) == cap and refused == 10
    # the server still has threads for everyone else
    served(lambda: requests.get(url + "/api/v1/health", timeout=5))
    for s in held:
        s.close()
