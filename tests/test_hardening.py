"""Headers on every answer, private files, a CLI that never prints a traceback, and text
that reads as what it is (issue 16, points 11 and 12)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from layso import auth
from layso.queue import Invalid
from tests.conftest import close_app

SECURITY = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def code(r: Any) -> str:
    return r.get_json()["error"]["code"]


# -- point 11: headers and files -------------------------------------------------------------

@pytest.mark.parametrize("method,path,status", [
    ("get", "/display/", 200), ("get", "/login", 200), ("get", "/kiosk/", 200),
    ("get", "/api/v1/board", 200), ("get", "/api/v1/health", 200),
    ("get", "/api/v1/nothing-here", 404), ("get", "/nothing-here", 404),
    ("get", "/static/layso/base.css", 200), ("get", "/static/layso/login.js", 200),
    ("delete", "/api/v1/board", 405), ("get", "/api/v1/auth/me", 401),
    ("post", "/api/v1/tickets", 401), ("get", "/", 302),
])
def test_every_answer_carries_the_security_headers(client: Any, method: str, path: str,
                                                   status: int) -> None:
    r = getattr(client, method)(path)
    assert r.status_code == status
    for key, value in SECURITY.items():
        assert r.headers.get(key) == value, (path, key)
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_a_server_error_carries_the_headers_too(app: Any) -> None:
    @app.get("/boom-for-test")
    def boom() -> Any:
        raise RuntimeError("boom")

    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = app.test_client().get("/boom-for-test")
    assert r.status_code == 500
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Content-Security-Policy" in r.headers


def test_no_page_has_an_inline_script_or_style_the_csp_would_block(client: Any) -> None:
    import re

    for path in ("/login", "/display/", "/kiosk/", "/counter/feedback"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path


def login_cookie(app: Any, **headers: str) -> Any:
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"username": "o1", "password": "password-o1"},
               headers=headers)
    assert r.status_code == 200
    return [h for h in r.headers.getlist("Set-Cookie") if h.startswith("layso_session=")][0]


def make_app(tmp_path: Path, **cfg: Any) -> Any:
    from layso import create_app
    from layso.cli import init_db
    from layso.config import load

    base = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "test-secret", **cfg}
    init_db(load(base), demo=False)
    application = create_app(base)
    with application.extensions["layso"].db.write() as conn:
        auth.add_user(conn, "o1", "password-o1", "officer")
    return application


def test_the_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    https = make_app(tmp_path / "a", PUBLIC_URL="https://tiepnhan.example")
    assert "Secure" in login_cookie(https)
    proxied = make_app(tmp_path / "b", PROXY_HOPS=1)
    assert "Secure" in login_cookie(proxied, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in login_cookie(proxied)
    # without a trusted proxy, a client's own header changes nothing
    plain = make_app(tmp_path / "c")
    assert "Secure" not in login_cookie(plain, **{"X-Forwarded-Proto": "https"})
    for a in (https, proxied, plain):
        close_app(a)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_backups_are_private(app: Any, tmp_path: Path,
                                                  api: dict[str, Any]) -> None:
    from layso.cli import main

    assert api["kiosk"].post("/tickets", {"service": "civil-status"}).status_code == 201
    db_file = tmp_path / "layso.db"
    assert mode(db_file) == 0o600
    wal = tmp_path / "layso.db-wal"
    if wal.exists():
        assert mode(wal) == 0o600
    os.environ["LAYSO_DATA_DIR"] = str(tmp_path)
    try:
        assert main(["backup", str(tmp_path / "backup.db")]) == 0
    finally:
        del os.environ["LAYSO_DATA_DIR"]
    assert mode(tmp_path / "backup.db") == 0o600


def test_an_old_world_readable_database_is_made_private(tmp_path: Path) -> None:
    from layso.db import Database

    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_user_add_never_prints_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import DataError

    from layso.cli import main

    monkeypatch.setenv("LAYSO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LAYSO_PASSWORD", "a-long-password")
    assert main(["user", "add", "lan", "--role", "officer", "--name", "x" * 5000]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "argon2" not in err and "name" in err

    class Orig(Exception):
        pass

    def refuse(*_a: Any, **_k: Any) -> int:
        raise DataError("INSERT INTO users ... password_hash=$argon2id$v=19$secret",
                        {"password_hash": "$argon2id$v=19$secret"},
                        Orig("value too long for type character varying(200)"))

    monkeypatch.setattr(auth, "add_user", refuse)
    assert main(["user", "add", "lan", "--role", "officer"]) == 1
    err = capsys.readouterr().err
    assert "argon2" not in err and "Traceback" not in err and "value too long" in err


# -- point 12: text ----------------------------------------------------------------------------

BAD_TEXT = ["\u200b\u200b", "\u200b \u2060", "Nghỉ\ntrưa", "\u202eayưrt ỉhgN", "a\u2066b",
            "a\rb", "\x1b[31mred"]


@pytest.mark.parametrize("reason", BAD_TEXT)
def test_a_pause_reason_must_read_as_typed(api: dict[str, Any], reason: str) -> None:
    assert api["o1"].post("/counters/1/open").status_code == 200
    r = api["o1"].post("/counters/1/pause", {"reason": reason})
    assert r.status_code == 422, reason
    assert api["o1"].get("/counters/1").get_json()["state"] == "open"


def test_a_plain_vietnamese_reason_is_kept(api: dict[str, Any]) -> None:
    api["o1"].post("/counters/1/open")
    r = api["o1"].post("/counters/1/pause", {"reason": "  Nghỉ trưa  "})
    assert r.status_code == 200 and r.get_json()["pause_reason"] == "Nghỉ trưa"


@pytest.mark.parametrize("name", BAD_TEXT)
def test_a_user_name_must_read_as_typed(center: Any, name: str) -> None:
    with center.db.write() as conn, pytest.raises(Invalid):
        auth.add_user(conn, "lan", "a-long-password", "officer", name)


@pytest.mark.parametrize("username", ["\u0430dmin", "adm\u0456n", "ad min", "ad\u200bmin",
                                      "", "a" * 81, "-lead", "admin\n"])
def test_a_username_is_plain_ascii(center: Any, username: str) -> None:
    with center.db.write() as conn, pytest.raises(Invalid):
        auth.add_user(conn, username, "a-long-password", "officer")


def test_a_username_differing_only_in_case_is_the_same_user(center: Any) -> None:
    from layso.queue import Conflict

    with center.db.write() as conn:
        auth.add_user(conn, "Lan.Nguyen", "a-long-password", "officer")
    with center.db.write() as conn, pytest.raises(Conflict):
        auth.add_user(conn, "lan.nguyen", "a-long-password", "officer")
    with center.db.read() as conn:
        assert auth.check_password(conn, "LAN.nguyen", "a-long-password") is not None


def test_a_comment_keeps_its_line_breaks_but_no_direction_override(
        api: dict[str, Any]) -> None:
    ticket = api["kiosk"].post("/tickets", {"service": "civil-status"}).get_json()
    api["o1"].post("/counters/1/open")
    api["o1"].post("/counters/1/call-next")
    api["o1"].post("/counters/1/start")
    assert api["o1"].post("/counters/1/complete", {"outcome": "done"}).status_code == 200
    bad = api["feedback"].post("/ratings", {"ticket": ticket["id"], "score": 2,
                                            "reason": "long_wait", "comment": "a\u202eb"})
    assert bad.status_code == 422
    ok = api["feedback"].post("/ratings", {"ticket": ticket["id"], "score": 2,
                                           "reason": "long_wait", "comment": "Chờ lâu\nquá"})
    assert ok.status_code == 201, ok.get_json()


# -- point 10: restore --------------------------------------------------------------------------

def test_restore_refuses_while_a_server_holds_the_data_directory(live_server: Any,
                                                                 tmp_path: Path) -> None:
    import subprocess
    import sys

    kiosk = live_server.device("Kiosk", "kiosk")
    backup = tmp_path / "before.db"
    live_server.cli("backup", str(backup))
    for _ in range(3):
        assert live_server.api("POST", "/tickets", kiosk,
                               json={"service": "land"}).status_code == 201
    out = subprocess.run([sys.executable, "-m", "layso.cli", "restore", str(backup)],
                         env=live_server.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "server is running" in out.stderr
    # nothing was restored: the next number follows the three given
    r = live_server.api("POST", "/tickets", kiosk, json={"service": "land"})
    assert r.json()["label"] == "C004"
    live_server.stop()
    assert "Restored" in live_server.cli("restore", str(backup))
    # and a server does not start while a restore holds the directory
    from layso.db import hold_data_dir

    fd = hold_data_dir(live_server.data_dir, exclusive=True)
    try:
        out = subprocess.run([sys.executable, "-m", "layso.cli", "run", "--port", "1"],
                             env=live_server.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 1 and "restore is running" in out.stderr
    finally:
        os.close(fd)


def test_restore_new_epoch_works_on_postgresql(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import PG_URL, _pg_database

    if not PG_URL:
        pytest.skip("needs LAYSO_TEST_DATABASE_URL")
    from layso import events
    from layso.cli import init_db, main
    from layso.config import load
    from layso.db import Database

    for url in _pg_database(PG_URL):
        cfg = {"DATA_DIR": str(tmp_path), "DATABASE_URL": url}
        init_db(load(cfg), demo=True)
        database = Database(url)
        with database.read() as conn:
            before = events.current(conn)[0]
        env = {"LAYSO_DATA_DIR": str(tmp_path), "LAYSO_DATABASE_URL": url}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            assert main(["restore", "--new-epoch"]) == 0
            assert main(["restore", str(tmp_path / "x.db")]) == 2  # a file is for SQLite
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with database.read() as conn:
            after = events.current(conn)[0]
        database.dispose()
        assert after != before and "restore" in after
