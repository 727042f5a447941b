"""The `layso` command: init, run, user add, device add."""

from __future__ import annotations

import io
import json
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


@pytest.fixture(autouse=True)
def became_patched(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """`layso run` in this process goes on as the patched interpreter it would become does
    (its checks, the database, the banner, `serve`) instead of replacing the test's process;
    the arguments it would have handed over, in order."""
    from layso import server

    handed: list[list[str]] = []
    monkeypatch.setattr(server, "become_patched", handed.append)
    return handed


def layso(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `layso ARGS` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_tells_the_next_step_with_the_data_directory_it_used(data_dir: Path,
                                                                   capsys: Any) -> None:
    """`layso init` in a data directory of its own printed `layso user add …` without it:
    run as printed, the next step made its administrator in another, empty center."""
    _, out, _ = layso(capsys, "init")
    step = next(line.strip() for line in out.splitlines() if "user add quantri" in line)
    assert step.startswith(f"LAYSO_DATA_DIR={data_dir} ")


@pytest.mark.parametrize("argv0,env,said", [
    ("layso", {}, "layso"),
    (".venv/bin/layso", {"PATH": "/nowhere"}, ".venv/bin/layso"),
    ("/opt/my dir/layso", {"PATH": "/nowhere"}, "'/opt/my dir/layso'"),
    (".venv/bin/layso", {"LAYSO_DATA_DIR": "/srv/layso", "PATH": "/nowhere",
                         "LAYSO_DATABASE_URL": "postgresql://layso@db/layso"},
     "LAYSO_DATA_DIR=/srv/layso LAYSO_DATABASE_URL=postgresql://layso@db/layso .venv/bin/layso"),
    ("/usr/lib/python3/cli.py", {"LAYSO_DATA_DIR": "/srv/x y"}, "LAYSO_DATA_DIR='/srv/x y' layso"),
])
def test_a_command_to_run_again_names_what_it_was_given(argv0: str, env: dict[str, str],
                                                        said: str) -> None:
    from layso.cli import again

    assert again(argv0, env) == said


def test_the_layso_on_path_is_named_by_its_name(tmp_path: Path) -> None:
    from layso.cli import again

    tool = tmp_path / "layso"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert again(str(tool), {"PATH": str(tmp_path)}) == "layso"


def api_client(data_dir: Path) -> Any:
    """A test client of the app on this data directory."""
    app = create_app({"DATA_DIR": str(data_dir)})
    app.config["TESTING"] = True
    return app.test_client()


def test_init_creates_the_database(data_dir: Path, capsys: Any) -> None:
    code, out, _ = layso(capsys, "init")
    assert code == 0 and "Database ready" in out
    # a new center is told its next step, the first administrator, until it has one
    assert "layso user add quantri --role admin" in out and "LAYSO_PASSWORD" in out
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


def test_init_stops_telling_the_next_step_once_there_is_an_administrator(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "user add" in layso(capsys, "init")[1]
    monkeypatch.setenv("LAYSO_PASSWORD", "password-123")
    assert layso(capsys, "user", "add", "quantri", "--role", "admin")[0] == 0
    code, out, _ = layso(capsys, "init")
    assert code == 0 and "Database ready" in out and "user add" not in out


def test_run_serves_on_the_documented_defaults_and_takes_host_and_port(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from layso import server

    served: list[tuple[str, int]] = []
    monkeypatch.delenv("LAYSO_PUBLIC_URL", raising=False)
    monkeypatch.setattr(server, "serve",
                        lambda host, port, threads=0, **kw: served.append((host, port)))
    code, out, _ = layso(capsys, "run")
    assert code == 0 and served == [("127.0.0.1", 8000)]
    assert (data_dir / "layso.db").is_file()  # it creates or upgrades the database first
    for path in ("/kiosk/", "/display/", "/counter/", "/counter/feedback", "/admin/",
                 "/api/v1/openapi.json"):
        assert f"http://127.0.0.1:8000{path}" in out
    code, out, err = layso(capsys, "run", "--host", "0.0.0.0", "--port", "8080")
    assert code == 0 and served[-1] == ("0.0.0.0", 8080)
    assert "http://0.0.0.0:8080/kiosk/" in out
    assert "listening on 0.0.0.0 directly" in err and "nginx" in err  # the Wi-Fi's phones
    _code, _out, err = layso(capsys, "run", "--port", "8080")
    assert "directly" not in err  # behind nginx on the loopback address: nothing to warn of


def test_run_serves_pages_api_and_sockets(live_server: Any) -> None:
    """`layso run` in a real process (tests/live.py starts it as `python -m layso.cli run`)."""
    import requests

    for path in ("/api/v1/health", "/api/v1/openapi.json", "/display/", "/kiosk/", "/login"):
        r = requests.get(live_server.url + path, timeout=10)
        assert r.status_code == 200, path
    r = requests.get(live_server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert r.status_code == 200 and '"sid"' in r.text


@pytest.mark.passwords
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


# -- the administration's commands -----------------------------------------------------------

def test_config_export_import_export_gives_the_same_file(data_dir: Path, capsys: Any,
                                                         tmp_path: Path) -> None:
    import yaml

    assert layso(capsys, "init", "--demo")[0] == 0
    out = tmp_path / "center.yaml"
    code, _, err = layso(capsys, "config", "export", str(out))
    assert code == 0 and "written" in err
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert set(data) == {"center", "categories", "services", "counters"}
    assert [s["prefix"] for s in data["services"]] == ["A", "B", "C", "D", "E", "F"]
    assert data["counters"][0] == {"number": 1, "name": {"vi": "Quầy 1", "en": "Counter 1"},
                                   "services": ["civil-status", "certification"],
                                   "mode": "fifo", "active": True}
    text = out.read_text(encoding="utf-8")
    assert "token" not in text and "password" not in text and "Hộ tịch" in text
    code, printed, _ = layso(capsys, "config", "import", str(out))
    assert code == 0 and printed.strip().endswith("0 changed")
    code, again, _ = layso(capsys, "config", "export")
    assert code == 0 and again == text


def test_config_import_creates_updates_never_deletes_and_twice_changes_nothing(
        data_dir: Path, capsys: Any, tmp_path: Path) -> None:
    import yaml

    assert layso(capsys, "init", "--demo")[0] == 0
    src = tmp_path / "province.yaml"
    src.write_text(yaml.safe_dump({
        "center": {"name": {"vi": "Trung tâm xã Mới", "en": "New commune center"}},
        "services": [
            {"code": "land", "prefix": "C", "name": {"vi": "Đất đai", "en": "Land"},
             "target_wait_minutes": 45,
             "procedures": [{"code": "land-cert", "name": {"vi": "Cấp giấy chứng nhận"}}]},
            {"code": "justice", "prefix": "G", "name": {"vi": "Tư pháp", "en": "Justice"}}],
        "counters": [{"number": 6, "services": ["justice", "land"]}],
    }, allow_unicode=True), encoding="utf-8")
    code, out, _ = layso(capsys, "config", "import", str(src), "--dry-run")
    assert code == 0 and "would change" in out and "dry run" in out
    client = api_client(data_dir)
    assert "justice" not in [s["code"] for s in client.get("/api/v1/services").get_json()["items"]]
    code, out, _ = layso(capsys, "config", "import", str(src))
    assert code == 0 and "service.created justice" in out and "counter.created 6" in out
    items = api_client(data_dir).get("/api/v1/services").get_json()["items"]
    codes = [s["code"] for s in items]
    assert len(codes) == 7 and "civil-status" in codes  # nothing the file left out is gone
    land = next(s for s in items if s["code"] == "land")
    assert land["target_wait_minutes"] == 45
    assert [p["code"] for p in land["procedures"]] == ["land-cert"]
    code, out, _ = layso(capsys, "config", "import", str(src))
    assert code == 0 and out.strip() == "0 changed"


@pytest.mark.parametrize("content,message", [
    ("services: [", "not valid YAML"),
    ("- 1\n- 2\n", "mapping"),
    ("users: []\n", "Unknown fields"),
    ("services:\n  - code: new\n    prefix: A\n    name: {vi: X}\n", "Prefix A"),
])
def test_config_import_refuses_a_bad_file_and_changes_nothing(
        data_dir: Path, capsys: Any, tmp_path: Path, content: str, message: str) -> None:
    assert layso(capsys, "init", "--demo")[0] == 0
    before = layso(capsys, "config", "export")[1]
    src = tmp_path / "bad.yaml"
    src.write_text(content, encoding="utf-8")
    code, _, err = layso(capsys, "config", "import", str(src))
    assert code != 0 and message in err and "Traceback" not in err
    assert layso(capsys, "config", "export")[1] == before


def test_user_list_passwd_and_disable(data_dir: Path, capsys: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYSO_PASSWORD", "first-password")
    assert layso(capsys, "user", "add", "canbo", "--role", "officer", "--name", "Cán bộ")[0] == 0
    assert layso(capsys, "user", "add", "quantri", "--role", "admin")[0] == 0
    code, out, _ = layso(capsys, "user", "list")
    assert code == 0 and "canbo" in out and "officer" in out and "Cán bộ" in out
    assert "argon2" not in out
    client = api_client(data_dir)
    r = client.post("/api/v1/auth/login", json={"username": "canbo", "password": "first-password"})
    token = r.get_json()["token"]
    monkeypatch.setenv("LAYSO_PASSWORD", "second-password")
    code, out, _ = layso(capsys, "user", "passwd", "canbo")
    assert code == 0 and "changed" in out
    client = api_client(data_dir)
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "canbo",
                                                "password": "second-password"})
    assert r.status_code == 200
    assert layso(capsys, "user", "disable", "canbo")[0] == 0
    assert "disabled" in layso(capsys, "user", "list")[1]
    r = client.post("/api/v1/auth/login", json={"username": "canbo",
                                                "password": "second-password"})
    assert r.status_code == 401
    code, _, err = layso(capsys, "user", "disable", "quantri")
    assert code == 1 and "admin" in err and "Traceback" not in err
    code, _, err = layso(capsys, "user", "disable", "nobody")
    assert code == 1 and "nobody" in err


def test_device_list_and_revoke(data_dir: Path, capsys: Any) -> None:
    code, out, _ = layso(capsys, "device", "add", "Kiosk 1", "--kind", "kiosk")
    token = out.strip().splitlines()[-1]
    code, out, _ = layso(capsys, "device", "list")
    assert code == 0 and "Kiosk 1" in out and "active" in out and token not in out
    device_id = out.split()[0]
    code, out, _ = layso(capsys, "device", "revoke", device_id)
    assert code == 0 and "revoked" in out
    assert "revoked" in layso(capsys, "device", "list")[1]
    r = api_client(data_dir).get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    code, _, err = layso(capsys, "device", "revoke", "999")
    assert code == 1 and "999" in err


def test_a_failed_user_add_prints_an_error_never_a_traceback_or_the_hash(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError

    from layso import auth

    monkeypatch.setenv("LAYSO_PASSWORD", "a-long-password")
    assert layso(capsys, "init")[0] == 0
    real = auth.add_user

    def failing(conn: Any, username: str, password: str, role: str, name: str = "") -> int:
        # the database refuses the insert, as a broken or locked disk would
        digest = auth.hash_password(password)
        raise IntegrityError("INSERT INTO users ...", {"password_hash": digest}, Exception(
            "disk I/O error"))

    monkeypatch.setattr(auth, "add_user", failing)
    code, out, err = layso(capsys, "user", "add", "canbo", "--role", "officer")
    assert code == 1 and "error:" in err and "disk I/O error" in err
    assert "Traceback" not in err + out and "argon2" not in err + out
    monkeypatch.setattr(auth, "add_user", real)
    code, _, err = layso(capsys, "user", "add", "canbo", "--role", "officer")
    assert code == 0
    code, _, err = layso(capsys, "user", "add", "canbo", "--role", "officer")
    assert code == 1 and "exists" in err and "Traceback" not in err


def test_user_add_on_an_unusable_database_prints_an_error(data_dir: Path, capsys: Any,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "layso.db").mkdir()  # a folder where the database file should be
    monkeypatch.setenv("LAYSO_PASSWORD", "a-long-password")
    code, out, err = layso(capsys, "user", "add", "canbo", "--role", "officer")
    assert code == 1 and err.startswith("error:") and "Traceback" not in err + out


def test_the_demo_center_is_a_config_file_that_imports_as_init_demo_seeds(
        data_dir: Path, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from layso.queue import catalog

    assert layso(capsys, "init", "--demo")[0] == 0
    code, out, _ = layso(capsys, "config", "import", str(catalog.DEMO_FILE))
    assert code == 0 and out.strip() == "0 changed"
    demo = layso(capsys, "config", "export")[1]
    monkeypatch.setenv("LAYSO_DATA_DIR", str(tmp_path / "fresh"))
    assert layso(capsys, "init")[0] == 0
    code, out, _ = layso(capsys, "config", "import", str(catalog.DEMO_FILE))
    assert code == 0 and "service.created civil-status" in out
    assert layso(capsys, "config", "export")[1] == demo


def test_run_says_which_public_address_and_printer_it_uses(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With LAYSO_PUBLIC_URL unset the QR links follow --host/--port (`make demo PORT=8411`
    printed links to port 8000); `layso run` says which address and which printer."""
    from layso import config, server

    monkeypatch.delenv("LAYSO_PUBLIC_URL", raising=False)
    monkeypatch.setenv("LAYSO_PRINTER", "dir:///tmp/layso-tickets")
    given: list[str | None] = []
    monkeypatch.setattr(server, "serve", lambda host, port, public_url=None, **kw:
                        given.append(public_url))
    code, out, _ = layso(capsys, "run", "--port", "8411")
    assert code == 0 and given == ["http://127.0.0.1:8411"]
    assert "Public address (QR links on tickets): http://127.0.0.1:8411" in out
    assert "phones cannot open a 127.0.0.1 address" in out
    assert "Printer: dir:///tmp/layso-tickets" in out
    code, out, _ = layso(capsys, "run", "--host", "0.0.0.0", "--port", "8411")
    assert given[-1] == config.derived_public_url("0.0.0.0", 8411)
    assert "0.0.0.0" not in str(given[-1]) and str(given[-1]).endswith(":8411")
    # a center that set its address keeps it
    monkeypatch.setenv("LAYSO_PUBLIC_URL", "http://192.168.1.10:8000")
    code, out, _ = layso(capsys, "run", "--port", "8411")
    assert given[-1] is None and "http://192.168.1.10:8000  (LAYSO_PUBLIC_URL)" in out
    monkeypatch.delenv("LAYSO_PUBLIC_URL")
    (data_dir / "layso.cfg").write_text('PUBLIC_URL = "http://layso.lan"\n')
    assert config.public_url_set()
    code, out, _ = layso(capsys, "run", "--port", "8411")
    assert given[-1] is None and "http://layso.lan" in out


def test_run_says_and_takes_its_server_model(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """gevent by default (LAYSO_CONNECTIONS open at most); LAYSO_WORKER=gthread takes
    LAYSO_THREADS; a model it does not know is refused before anything starts."""
    from layso import server

    given: list[dict[str, Any]] = []
    monkeypatch.setattr(server, "serve", lambda host, port, **kw: given.append(kw))
    code, out, _ = layso(capsys, "run")
    assert code == 0 and given[-1]["worker"] == "gevent" and given[-1]["connections"] == 2000
    assert "Server: gevent, 2000 connections at most" in out
    monkeypatch.setenv("LAYSO_WORKER", "gthread")
    monkeypatch.setenv("LAYSO_THREADS", "48")
    code, out, _ = layso(capsys, "run")
    assert code == 0 and given[-1]["worker"] == "gthread" and given[-1]["threads"] == 48
    assert "Server: gthread, 48 threads" in out
    monkeypatch.setenv("LAYSO_WORKER", "eventlet")
    code, _out, err = layso(capsys, "run")
    assert code == 1 and "LAYSO_WORKER" in err and len(given) == 2
    opts = server.options("127.0.0.1", 8000, "gevent", connections=300)
    assert opts["worker_class"] == "gevent" and opts["worker_connections"] == 300
    assert server.options("127.0.0.1", 8000, "gthread", threads=48)["threads"] == 48


def test_run_becomes_the_patched_interpreter_before_importing_the_app(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch,
        became_patched: list[list[str]]) -> None:
    """Under gevent `layso run` hands its own arguments to a fresh, patched interpreter
    (layso.server.BOOT runs `layso` with them) and, in the plain one, imports neither Flask
    nor SQLAlchemy nor the queue first: they would keep unpatched locks, and the start paid
    for them twice. LAYSO_WORKER=gthread serves in this process."""
    import subprocess
    import sys

    from layso import server

    monkeypatch.setattr(server, "serve", lambda *a, **kw: None)
    assert layso(capsys, "run", "--port", "8411")[0] == 0
    assert became_patched == [["run", "--port", "8411"]]
    monkeypatch.setenv("LAYSO_WORKER", "gthread")
    assert layso(capsys, "run")[0] == 0 and len(became_patched) == 1
    assert "from layso.cli import main" in server.BOOT
    assert server.BOOT.index("patch_all") < server.BOOT.index("layso")
    monkeypatch.delenv("LAYSO_WORKER")
    probe = (
        "import json, sys\n"
        "from layso import cli, server\n"
        "def handed(argv):\n"
        "    heavy = sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', "
        "'alembic', 'engineio', 'socketio', 'gevent'} | {m for m in sys.modules "
        "if m.startswith('layso.queue')})\n"
        "    print(json.dumps({'argv': argv, 'heavy': heavy}))\n"
        "    sys.exit(0)\n"
        "server.become_patched = handed\n"
        "cli.main(['run', '--port', '8412'])\n")
    out = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"argv": ["run", "--port", "8412"], "heavy": []}


def test_run_refuses_to_start_without_the_browser_files(
        data_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Installed from a fresh checkout with a plain `pip install .`, the package has no socket
    client: the server would serve pages that never update. It refuses and says how to build."""
    from layso import server, web

    assert web.missing_browser_files() == []  # this checkout ran `make setup`
    assert web.missing_browser_files(tmp_path) == list(web.VENDOR_FILES)
    monkeypatch.setattr(web, "VENDOR_DIR", tmp_path / "vendor")
    monkeypatch.setattr(server, "serve", lambda *a, **kw: pytest.fail("it started"))
    code, _out, err = layso(capsys, "run")
    assert code == 1
    assert "socket.io.min.js" in err and "make setup" in err


def _wheel_builder() -> str | None:
    """A Python with setuptools and wheel to build the package with (no network)."""
    import shutil
    import subprocess
    import sys

    for python in (sys.executable, shutil.which("python3") or "", "/usr/bin/python3"):
        if python and subprocess.run([python, "-c", "import setuptools, wheel"],
                                     capture_output=True, timeout=30).returncode == 0:
            return python
    return None


@pytest.mark.slow
def test_a_wheel_carries_the_browser_files_only_when_they_were_built(tmp_path: Path) -> None:
    """As `pip install .` would: a wheel built after `make setup` carries layso/static/vendor;
    one built from a bare checkout does not, and the start-up check names what is missing."""
    import shutil
    import subprocess
    import zipfile

    from layso import web

    python = _wheel_builder()
    if python is None:
        pytest.skip("no Python with setuptools and wheel to build a wheel offline")
    root = Path(__file__).resolve().parent.parent
    files = subprocess.run(["git", "ls-files", "layso", "kiosk", "display", "counter",
                            "printer_drivers", "setup.cfg", "pyproject.toml", "README.md"],
                           cwd=root, capture_output=True, text=True, check=True).stdout.split()
    found = {}
    for built in (False, True):
        src = tmp_path / f"src-{built}"
        for name in files:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, src / name)
        if built:
            shutil.copytree(web.VENDOR_DIR, src / "layso" / "static" / "vendor")
        out = tmp_path / f"wheel-{built}"
        subprocess.run([python, "-c", "import sys; from setuptools import build_meta; "
                        "build_meta.build_wheel(sys.argv[1])", str(out)], cwd=src,
                       capture_output=True, check=True, timeout=120)
        (wheel,) = out.glob("layso-*.whl")
        unpacked = tmp_path / f"installed-{built}"
        zipfile.ZipFile(wheel).extractall(unpacked)
        found[built] = web.missing_browser_files(unpacked / "layso" / "static" / "vendor")
    assert found == {True: [], False: list(web.VENDOR_FILES)}


@pytest.mark.slow
def test_qr_links_reach_the_server_that_issued_them(tmp_path: Path) -> None:
    """A real `layso run --port N` with LAYSO_PUBLIC_URL unset: the ticket's status link is
    this server's address and port, and it opens the citizen's page."""
    import requests

    from tests.live import LiveServer

    server = LiveServer(tmp_path / "live")
    del server.env["LAYSO_PUBLIC_URL"]
    server.init()
    server.start()
    try:
        kiosk = server.device("Kiosk", "kiosk")
        t = server.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
        assert t["status_url"].startswith(server.url + "/t/"), t["status_url"]
        assert requests.get(t["status_url"], timeout=10).status_code == 200
        log = server.log.read_text()
        assert f"Public address (QR links on tickets): {server.url}" in log
        assert "Printer: none" in log
    finally:
        server.kill()
