"""The `layso` command: init, user add, device add."""

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
