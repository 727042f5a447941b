"""A real Lấy Số server process on 127.0.0.1 for browser, socket and crash tests."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port` (and not another
    test worker's server that took the port first). Linux's /proc; elsewhere assumed."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    inodes = set()
    for table in tables:
        for line in table.read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":  # 0A: LISTEN
                inodes.add(f[9])
    try:
        fds = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(fd == f"socket:[{inode}]" for fd in fds for inode in inodes)


class LiveServer:
    """`layso init --demo` then `layso run` in a subprocess, with its own data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        #: a port of our choosing may be taken by another process before the server binds it
        #: (another test worker's server, any socket's ephemeral port): then start() picks again
        self._port_chosen = port is None
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LAYSO_DATA_DIR": str(data_dir), "LAYSO_PUBLIC_URL": self.url,
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"server-{self.port}.log"
        #: the demo administrator's token on this server, once device() needed it
        self._admin: str | None = None

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a `layso` command against this server's data directory; returns stdout."""
        out = subprocess.run([sys.executable, "-m", "layso.cli", *args], env={**self.env,
                             **(env or {})}, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"layso {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def init(self) -> None:
        """Create the demo database: what `layso init --demo` made, once per test process and
        kind of environment, copied into this server's new data directory (the command takes
        0.8 s: a Python start, the migrations and five real Argon2id hashes). A data directory
        that has anything in it, or a database elsewhere (LAYSO_DATABASE_URL), runs the command
        itself."""
        if "LAYSO_DATABASE_URL" in self.env or (self.data_dir.exists()
                                                and any(self.data_dir.iterdir())):
            self.cli("init", "--demo")
            return
        made = _demo_data(self.env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for f in made.iterdir():
            shutil.copy2(f, self.data_dir / f.name)

    def start(self, timeout: float = 30) -> LiveServer:
        """Start the server and wait until /api/v1/health answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "layso.cli", "run", "--port", str(self.port)],
            env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._port_chosen and "Connection in use" in self.log.read_text():
                self.kill()  # someone took the port between free_port() and the bind
                self._move_to(free_port())
                return self.start(timeout)
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if (requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200
                        and listens_on(self.proc.pid, self.port)):
                    self._port_chosen = False  # it listens: restarts keep this port
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def _move_to(self, port: int) -> None:
        """Listen on another port (before the first start only: nothing knows the URL yet)."""
        old = self.url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        if self.env.get("LAYSO_PUBLIC_URL") == old:
            self.env["LAYSO_PUBLIC_URL"] = self.url
        self.log = self.data_dir / f"server-{port}.log"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server (SIGKILL by default: no clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)
        self.proc = None

    def stop(self) -> None:
        """Stop the server gracefully."""
        self.kill(signal.SIGTERM)

    def device(self, name: str, kind: str, counter: int | None = None) -> str:
        """Enrol a device and return its token: by the running server's API as the demo's
        administrator (a request), else by `layso device add` (a Python start, about 0.9 s)."""
        if self.proc is not None and self.proc.poll() is None:
            if self._admin is None:
                self._admin = self.login("admin", "layso-demo")
            body: dict[str, Any] = {"name": name, "kind": kind}
            if counter is not None:
                body["counter"] = counter
            r = self.api("POST", "/devices", self._admin, json=body)
            if r.status_code == 401:  # the data was restored or its sessions ended since
                self._admin = self.login("admin", "layso-demo")
                r = self.api("POST", "/devices", self._admin, json=body)
            assert r.status_code == 201, r.text
            return str(r.json()["token"])
        args = ["device", "add", name, "--kind", kind]
        if counter is not None:
            args += ["--counter", str(counter)]
        return self.cli(*args).strip().splitlines()[-1]

    def user(self, username: str, role: str, password: str = "password-123",
             name: str = "") -> str:
        """Add a user and return a bearer token for it."""
        self.cli("user", "add", username, "--role", role, "--name", name or username,
                 env={"LAYSO_PASSWORD": password})
        return self.login(username, password)

    def login(self, username: str, password: str) -> str:
        """A bearer token for a user."""
        r = requests.post(self.url + "/api/v1/auth/login",
                          json={"username": username, "password": password}, timeout=10)
        r.raise_for_status()
        return str(r.json()["token"])

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """Call the API with a bearer token."""
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + "/api/v1" + path, headers=headers,
                                timeout=10, **kw)


#: `layso init --demo` data directories made in this process, by the environment init read
_DEMO_DATA: dict[tuple[tuple[str, str], ...], Path] = {}


def _demo_data(env: dict[str, str]) -> Path:
    """A data directory `layso init --demo` made under `env` (all of its LAYSO_ settings but
    the data directory and the public address, which init does not read), made at first use."""
    key = tuple(sorted((k, v) for k, v in env.items() if k.startswith("LAYSO_")
                       and k not in ("LAYSO_DATA_DIR", "LAYSO_PUBLIC_URL")))
    if key not in _DEMO_DATA:
        if not _DEMO_DATA:
            atexit.register(_drop_demo_data)
        made = Path(tempfile.mkdtemp(prefix="layso-live-demo-"))
        out = subprocess.run([sys.executable, "-m", "layso.cli", "init", "--demo"],
                             env={**env, "LAYSO_DATA_DIR": str(made)}, capture_output=True,
                             text=True, timeout=120)
        if out.returncode != 0:
            shutil.rmtree(made, ignore_errors=True)
            raise RuntimeError(f"layso init --demo failed: {out.stderr}")
        _DEMO_DATA[key] = made
    return _DEMO_DATA[key]


def _drop_demo_data() -> None:
    for made in _DEMO_DATA.values():
        shutil.rmtree(made, ignore_errors=True)
