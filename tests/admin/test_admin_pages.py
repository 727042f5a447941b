"""The administration pages: each renders for an admin, read-only for a supervisor, and is
refused to an official (403) and to nobody (the login page); Vietnamese first, English too."""

from __future__ import annotations

from typing import Any

import pytest

from layso import auth
from tests.conftest import close_app

PAGES = ("/admin/settings", "/admin/services", "/admin/counters", "/admin/categories",
         "/admin/users", "/admin/devices", "/admin/audit", "/admin/reports")
#: a Vietnamese and an English word each page shows
WORDS = {"/admin/settings": ("Quy tắc ưu tiên", "Priority policy"),
         "/admin/services": ("Thêm lĩnh vực", "Add a service"),
         "/admin/counters": ("Cách gọi số", "Calling mode"),
         "/admin/categories": ("Đối tượng ưu tiên", "Priority categories"),
         "/admin/users": ("Mật khẩu mới", "Officials and accounts"),
         "/admin/devices": ("Mã kích hoạt", "Enrolment code"),
         "/admin/audit": ("Nhật ký thay đổi", "Audit trail"),
         "/admin/reports": ("Báo cáo", "Reports")}


def login(client: Any, username: str, role: str) -> Any:
    center = client.application.extensions["layso"]
    with center.db.write() as conn:
        auth.add_user(conn, username, "password-" + username, role, username.upper())
    r = client.post("/api/v1/auth/login",
                    json={"username": username, "password": "password-" + username})
    assert r.status_code == 200
    return client


@pytest.mark.parametrize("path", PAGES)
def test_admin_sees_every_page_with_the_navigation_in_both_languages(client: Any,
                                                                      path: str) -> None:
    login(client, "quantri", "admin")
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-can-edit="1"' in html and 'id="readonly"' not in html
    vi, en = WORDS[path]
    assert vi in html and en in html
    for other in PAGES:  # one navigation across every page
        assert f'href="{other}"' in html
    assert f'href="{path}" data-page' in html and 'aria-current="page"' in html
    assert "<script src=\"http" not in html  # nothing from another host


@pytest.mark.parametrize("path", PAGES)
def test_a_supervisor_reads_but_is_told_only_an_admin_edits(client: Any, path: str) -> None:
    login(client, "lanhdao2", "supervisor")
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-can-edit="0"' in html
    assert "Chế độ chỉ xem" in html and "Read only" in html


@pytest.mark.parametrize("path", PAGES)
def test_an_official_is_refused_and_nobody_is_sent_to_log_in(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    login(client, "canbo9", "officer")
    r = client.get(path + "?day=2026-12-01")
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert "Lãnh đạo" in html
    # a leader at this official's terminal is offered the login, and comes back to this page
    assert "Đăng nhập bằng tài khoản khác" in html and "Log in with another account" in html
    assert f'href="/login?next={path}?day%3D2026-12-01"' in html


def test_the_demo_center_admin_lands_on_the_dashboard_with_the_navigation(client: Any) -> None:
    login(client, "quantri", "admin")
    r = client.get("/admin/")
    assert r.status_code == 200
    assert 'href="/admin/services"' in r.get_data(as_text=True)


def test_a_fresh_center_leads_its_first_admin_to_the_setup(tmp_path: Any, clock: Any) -> None:
    from layso import create_app
    from layso.cli import init_db
    from layso.config import load

    cfg = {"DATA_DIR": str(tmp_path / "fresh"), "CLOCK": clock, "SECRET_KEY": "t"}
    init_db(load(cfg), demo=False)
    app = create_app(cfg)
    client = app.test_client()
    login(client, "quantri", "admin")
    r = client.get("/admin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/setup")
    html = client.get("/admin/setup").get_data(as_text=True)
    for step in ("settings", "services", "counters", "users", "devices"):
        assert f'href="/admin/{step}?setup=1"' in html
    assert "Thiết lập Trung tâm lần đầu" in html and "Setting up the center" in html
    # the header names the page, as on every other page (it read "… Center · /")
    assert "Service Center · Thiết lập ban đầu / First setup</p>" in html
    assert "<title>Thiết lập ban đầu · Lấy Số</title>" in html
    assert client.get("/admin/?skip_setup=1").status_code == 200
    close_app(app)


def test_the_setup_ticks_each_step_once_it_is_done_and_names_a_service_no_counter_takes(
        tmp_path: Any, clock: Any) -> None:
    import html as html_mod
    import re

    from layso import create_app
    from layso.cli import init_db
    from layso.config import load

    cfg = {"DATA_DIR": str(tmp_path / "fresh"), "CLOCK": clock, "SECRET_KEY": "t"}
    init_db(load(cfg), demo=False)
    app = create_app(cfg)
    client = app.test_client()
    login(client, "quantri", "admin")
    csrf = {"X-CSRF-Token": client.get("/api/v1/auth/me").get_json()["csrf_token"]}

    def steps() -> dict[str, tuple[bool, str]]:
        html = client.get("/admin/setup").get_data(as_text=True)
        out = {}
        for m in re.finditer(r'<li data-step="(\w+)"( class="done")?>(.*?)</li>', html, re.S):
            state = re.search(r'<span class="step-state">(.*)</span>', m.group(3), re.S)
            out[m.group(1)] = (bool(m.group(2)),
                               html_mod.unescape(re.sub(r"<[^>]+>", " ", state.group(1))))
        return out

    def send(method: str, path: str, body: dict[str, Any]) -> None:
        r = client.open("/api/v1" + path, method=method, json=body, headers=csrf)
        assert r.status_code in (200, 201), r.get_json()

    first = steps()
    assert list(first) == ["settings", "services", "counters", "users", "devices"]
    assert not any(done for done, _ in first.values())
    assert "Chưa đặt tên riêng" in first["settings"][1]
    assert "Chưa có lĩnh vực nào" in first["services"][1]
    # the admin's own account is not an official's: the step says which accounts it wants
    assert "No official's account yet (besides the admin's)" in first["users"][1]
    send("PATCH", "/center", {"name": {"vi": "Trung tâm xã Đổi Mới", "en": "Doi Moi Center"}})
    send("POST", "/services", {"code": "civil-status", "prefix": "A",
                               "name": {"vi": "Hộ tịch", "en": "Civil status"}})
    send("POST", "/services", {"code": "land", "prefix": "C",
                               "name": {"vi": "Đất đai", "en": "Land"}})
    send("POST", "/counters", {"number": 1, "name": {"vi": "Quầy 1", "en": "Counter 1"},
                               "services": ["civil-status"]})
    now = steps()
    assert now["settings"] == (True, now["settings"][1])
    assert "Đã lưu: Trung tâm xã Đổi Mới" in now["settings"][1]
    assert "Saved: Doi Moi Center" in now["settings"][1]
    assert now["services"][0] and "Đã có 2 lĩnh vực" in now["services"][1]
    assert "2 services" in now["services"][1]
    # one counter, but the land service has none: the step is not done, and says which
    done, state = now["counters"]
    assert not done and "Chưa quầy nào nhận: Đất đai" in state and "No counter takes: Land" in state
    send("PATCH", "/counters/1", {"services": ["civil-status", "land"]})
    done, state = steps()["counters"]
    assert done and "Đã có 1 quầy" in state and "1 counter" in state and "Chưa quầy" not in state
    close_app(app)
