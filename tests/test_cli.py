"""The `layso` command: init, run, user add, device add."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from layso import create_app
from layso.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LAYSO_DATA_DIR for this test, with nothing else configured."""
    for var in ("LAYSO_DATABASE_URL", "LAYSO_PASSWORD", "LAYSO_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAYSO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def layso(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `layso ARGS` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def api_client(data_dir: Path) -> Any:
    """A test client of the app on this data directory."""
    app = create_app({"DATA_DIR": str(data_dir)})
    app.config["TESTING"] = True
    return app.test_client()


def test_init_creates_the_database(data_dir: Path, capsys: Any) -> None:
    code, out, _ = layso(capsys, "init")
    assert code == 0 and "Database ready" in out
    assert (data_dir / "layso.db").is_file()
    r = api_client(data_dir).get("/api/v1/services")
    assert r.status_code == 200 and r.get_json()["items"] == []


def test_init_demo_twice_prints_the_same_tokens(data_dir: Path, capsys: Any) -> None:
    code, first, _ = layso(capsys, "init", "--demo")
    assert code == 0 and "canbo1" in first
    code, second, _ = layso(capsys, "init", "--demo")
    assert code == 0 and second == first
    client = api_client(data_dir)
    assert len(client.get("/api/v1/services").get_json()["items"]) == 6
    kiosk = next(line.split()[-1] for line in first.splitlines()
                 if line.strip().startswith("kiosk"))
    r = client.post("/api/v1/tickets", json={"service": "land"},
                    headers={"Authorization": f"Bearer {kiosk}"})
    assert r.status_code == 201 and r.get_json()["label"] == "C001"


def test_user_add_takes_the_password_from_the_environment(data_dir: Path, capsys: Any,
                                                          monkeypatch: Any) -> None:
    layso(capsys, "init")
    monkeypatch.setenv("LAYSO_PASSWORD", "a-long-password")
    code, out, _ = layso(capsys, "user", "add", "truongquay", "--role", "supervisor",
                         "--name", "Trưởng quầy")
    assert code == 0 and "truongquay" in out
    client = api_client(data_dir)
    r = client.post("/api/v1/auth/login",
                    json={"username": "truongquay", "password": "a-long-password"})
    assert r.status_code == 200
    assert r.get_json()["user"] == {"id": r.get_json()["user"]["id"], "name": "Trưởng quầy",
                                    "role": "supervisor", "username": "truongquay"}
    code, out, err = layso(capsys, "user", "add", "truongquay", "--role", "officer")
    assert code != 0 and "exists already" in err and out == ""


def test_user_add_refuses_weak_or_missing_passwords(data_dir: Path, capsys: Any,
                                                    monkeypatch: Any) -> None:
    layso(capsys, "init")
    monkeypatch.setenv("LAYSO_PASSWORD", "short")
    code, _, err = layso(capsys, "user", "add", "someone", "--role", "officer")
    assert code != 0 and "at least 8" in err
    monkeypatch.delenv("LAYSO_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = layso(capsys, "user", "add", "someone", "--role", "officer")
    assert code != 0 and "LAYSO_PASSWORD" in err
    code, _, err = layso(capsys, "user", "add", "someone", "--role", "boss")
    assert code != 0 and "invalid choice" in err


def test_device_add_prints_a_working_token_last(data_dir: Path, capsys: Any) -> None:
    layso(capsys, "init", "--demo")
    code, out, _ = layso(capsys, "device", "add", "Kiosk cửa chính", "--kind", "kiosk")
    assert code == 0
    token = out.strip().splitlines()[-1]
    client = api_client(data_dir)
    r = client.post("/api/v1/tickets", json={"service": "social"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201 and r.get_json()["label"] == "D001"
    code, out, _ = layso(capsys, "device", "add", "Bảng", "--kind", "display")
    assert code == 0
    board = out.strip().splitlines()[-1]
    r = client.post("/api/v1/tickets", json={"service": "social"},
                    headers={"Authorization": f"Bearer {board}"})
    assert r.status_code == 403


def test_a_feedback_tablet_belongs_to_a_counter(data_dir: Path, capsys: Any) -> None:
    layso(capsys, "init", "--demo")
    code, out, _ = layso(capsys, "device", "add", "Máy đánh giá", "--kind", "feedback",
                         "--counter", "4")
    assert code == 0 and "counter 4" in out
    token = out.strip().splitlines()[-1]
    me = api_client(data_dir).get("/api/v1/auth/me",
                                  headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["role"] == "feedback" and me["counter"]["number"] == 4
    code, _, err = layso(capsys, "device", "add", "Máy", "--kind", "feedback")
    assert code != 0 and "counter" in err
    code, _, err = layso(capsys, "device", "add", "Máy", "--kind", "feedback", "--counter", "99")
    assert code != 0 and "no counter number 99" in err


def everything(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the data directory's database."""
    from sqlalchemy import select

    from layso import db
    from layso.db import Database

    database = Database(f"sqlite:///{data_dir / 'layso.db'}")
    try:
        with database.read() as conn:
            return {t.name: [tuple(r) for r in conn.execute(select(t)).all()]
                    for t in db.metadata.sorted_tables}
    finally:
        database.dispose()


def test_init_demo_twice_changes_nothing_in_the_database(data_dir: Path, capsys: Any) -> None:
    assert layso(capsys, "init", "--demo")[0] == 0
    seeded = everything(data_dir)
    assert len(seeded["services"]) == 6 and len(seeded["counters"]) == 5
    assert len(seeded["users"]) == 5 and len(seeded["devices"]) == 3
    assert layso(capsys, "init", "--demo")[0] == 0
    assert everything(data_dir) == seeded
    assert layso(capsys, "init")[0] == 0  # a plain init (an upgrade) keeps the demo too
    assert everything(data_dir) == seeded


def test_init_twice_without_demo_changes_nothing(data_dir: Path, capsys: Any) -> None:
    assert layso(capsys, "init")[0] == 0
    first = everything(data_dir)
    assert first["services"] == [] and first["users"] == []
    assert layso(capsys, "init")[0] == 0
    assert everything(data_dir) == first


def test_run_serves_on_the_documented_defaults_and_takes_host_and_port(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from layso import server

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(server, "serve",
                        lambda host, port, threads=0: served.append((host, port)))
    code, out, _ = layso(capsys, "run")
    assert code == 0 and served == [("127.0.0.1", 8000)]
    assert (data_dir / "layso.db").is_file()  # it creates or upgrades the database first
    for path in ("/kiosk/", "/display/", "/counter/", "/counter/feedback", "/admin/",
                 "/api/v1/openapi.json"):
        assert f"http://127.0.0.1:8000{path}" in out
    code, out, _ = layso(capsys, "run", "--host", "0.0.0.0", "--port", "8080")
    assert code == 0 and served[-1] == ("0.0.0.0", 8080)
    assert "http://0.0.0.0:8080/kiosk/" in out


def test_run_serves_pages_api_and_sockets(live_server: Any) -> None:
    """`layso run` in a real process (tests/live.py starts it as `python -m layso.cli run`)."""
    import requests

    for path in ("/api/v1/health", "/api/v1/openapi.json", "/display/", "/kiosk/", "/login"):
        r = requests.get(live_server.url + path, timeout=10)
        assert r.status_code == 200, path
    r = requests.get(live_server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert r.status_code == 200 and '"sid"' in r.text


def test_user_add_keeps_an_argon2id_hash_never_the_password(data_dir: Path, capsys: Any,
                                                           monkeypatch: Any) -> None:
    from argon2 import PasswordHasher

    layso(capsys, "init")
    monkeypatch.setenv("LAYSO_PASSWORD", "mat-khau-dai-1")
    assert layso(capsys, "user", "add", "canbo9", "--role", "officer")[0] == 0
    (row,) = [r for r in everything(data_dir)["users"] if "canbo9" in r]
    assert "mat-khau-dai-1" not in row
    (stored,) = [v for v in row if isinstance(v, str) and v.startswith("$argon2")]
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, "mat-khau-dai-1")
    # parameters no weaker than OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1); 64 MiB per
    # attempt let a login flood take the box's memory (issue 16)
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


def test_user_add_asks_twice_in_a_terminal(data_dir: Path, capsys: Any,
                                           monkeypatch: Any) -> None:
    import getpass
    import sys

    layso(capsys, "init")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    answers = iter(["mat-khau-dai-2", "something-else"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code, _, err = layso(capsys, "user", "add", "canbo8", "--role", "officer")
    assert code != 0 and "differ" in err
    answers = iter(["mat-khau-dai-2", "mat-khau-dai-2"])
    code, out, _ = layso(capsys, "user", "add", "canbo8", "--role", "officer",
                         "--name", "Cán bộ 8")
    assert code == 0 and "canbo8" in out
    r = api_client(data_dir).post("/api/v1/auth/login",
                                  json={"username": "canbo8", "password": "mat-khau-dai-2"})
    assert r.status_code == 200 and r.get_json()["user"]["name"] == "Cán bộ 8"
