"""Configuration: defaults, then the instance config file, then LAYSO_* environment variables."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

#: Keys a center may set, with their defaults. The file and the environment use the LAYSO_ prefix.
DEFAULTS: dict[str, Any] = {
    "DATA_DIR": "./instance",
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "PUBLIC_URL": "http://127.0.0.1:8000",
    "PRINTER": "none",
    "MESSAGE_QUEUE": None,
    "LANG": "vi",
    "MAX_BODY_BYTES": 64 * 1024,
    "KIOSK_RATE_PER_MINUTE": 60,
    "SESSION_HOURS": 12,
    "TOKEN_HOURS": 12,
    "LOGIN_ATTEMPTS_PER_MINUTE": 10,  # per client address and username (or known browser)
    "LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": 30,  # per client address, whatever the username
    "LOGIN_CONCURRENT_HASHES": 2,  # password verifications at once (one per core)
    "LOGIN_HASH_WAIT_SECONDS": 3,
    "KNOWN_BROWSER_DAYS": 180,
    # reverse proxies in front of the server: their X-Forwarded-For/-Proto/-Host are trusted
    # (0: none; the client address is the socket's)
    "PROXY_HOPS": 0,
    # days a citizen's rating comment (free text) is kept, and a spent login token (0: keep)
    "RETENTION_COMMENT_DAYS": 90,
    "RETENTION_TOKEN_DAYS": 30,
    # the server model of `layso run`: gevent (one loop, a greenlet per connection), or
    # gthread (a thread per connection, LAYSO_THREADS of them)
    "WORKER": "gevent",
    "CONNECTIONS": 2000,  # gevent: connections (sockets and requests) open at once at most
    "THREADS": 600,  # gthread only
}

CONFIG_FILE_NAME = "layso.cfg"


def _coerce(key: str, value: Any) -> Any:
    default = DEFAULTS.get(key)
    if isinstance(default, int) and isinstance(value, str):
        try:
            return int(value)
        except ValueError as exc:
            raise ValueError(f"LAYSO_{key} must be a whole number, not {value!r}") from exc
    return value


def read_file(path: Path) -> dict[str, Any]:
    """Read an instance config file (Python syntax, `KEY = value`, with or without LAYSO_)."""
    scope: dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), scope)  # noqa: S102
    out: dict[str, Any] = {}
    for key, value in scope.items():
        if not key.isupper():
            continue
        out[key.removeprefix("LAYSO_")] = value
    return out


def load(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return the effective configuration; `overrides` (tests, create_app(config)) win over all."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    cfg: dict[str, Any] = dict(DEFAULTS)
    data_dir = overrides.get("DATA_DIR") or env.get("LAYSO_DATA_DIR") or cfg["DATA_DIR"]
    data_path = Path(data_dir).resolve()
    cfg_file = data_path / CONFIG_FILE_NAME
    if cfg_file.is_file():
        cfg.update(read_file(cfg_file))
    for key in DEFAULTS:
        if f"LAYSO_{key}" in env:
            cfg[key] = env[f"LAYSO_{key}"]
    cfg.update(overrides)
    cfg["DATA_DIR"] = str(data_path)
    for key in list(cfg):
        cfg[key] = _coerce(key, cfg[key])
    if not cfg.get("DATABASE_URL"):
        cfg["DATABASE_URL"] = f"sqlite:///{data_path / 'layso.db'}"
    if cfg.get("LANG") not in ("vi", "en"):
        raise ValueError("LAYSO_LANG must be vi or en")
    cfg["PUBLIC_URL"] = str(cfg["PUBLIC_URL"]).rstrip("/")
    return cfg


def public_url_set(environ: dict[str, str] | None = None) -> bool:
    """Whether a center set its public address (environment or instance config file)."""
    env = os.environ if environ is None else environ
    if env.get("LAYSO_PUBLIC_URL"):
        return True
    data_path = Path(env.get("LAYSO_DATA_DIR") or DEFAULTS["DATA_DIR"]).resolve()
    cfg_file = data_path / CONFIG_FILE_NAME
    return cfg_file.is_file() and bool(read_file(cfg_file).get("PUBLIC_URL"))


def lan_address() -> str | None:
    """This box's address on the LAN (the source address of its default route), or None.

    Connecting a UDP socket sends nothing; it only asks the kernel which address it would use.
    """
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith(("0.", "127.")) else address


def derived_public_url(host: str, port: int) -> str:
    """The base of the QR links when LAYSO_PUBLIC_URL is unset: the address and port this
    server listens on, so a ticket's link reaches the server that issued it."""
    if host in ("0.0.0.0", "", "::", "[::]"):
        host = lan_address() or "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL
    return f"http://{host}:{port}"


def ensure_secret_key(cfg: dict[str, Any]) -> str:
    """Return the secret key, generating and keeping one in the data dir when none is set."""
    if cfg.get("SECRET_KEY"):
        return str(cfg["SECRET_KEY"])
    path = Path(cfg["DATA_DIR"]) / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def center_key(database_url: str) -> str:
    """A short name for one center on a shared Redis: the processes of a center share its
    database, so its address names the center's rate-limit keys and its Socket.IO channel, and
    two centers (or two test runs) on one Redis never hear or count each other."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:16]
