"""A real Lấy Số server process on 127.0.0.1 for browser, socket and crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`layso init --demo` then `layso run` in a subprocess, with its own data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LAYSO_DATA_DIR": str(data_dir), "LAYSO_PUBLIC_URL": self.url,
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"server-{self.port}.log"

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a `layso` command against this server's data directory; returns stdout."""
        out = subprocess.run([sys.executable, "-m", "layso.cli", *args], env={**self.env,
                             **(env or {})}, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"layso {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def init(self) -> None:
        """Create the demo database."""
        self.cli("init", "--demo")

    def start(self, timeout: float = 30) -> LiveServer:
        """Start the server and wait until /api/v1/health answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "layso.cli", "run", "--port", str(self.port)],
            env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

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
        """Enrol a device and return its token."""
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
