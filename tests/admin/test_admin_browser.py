"""An admin sets up a fresh center through the pages in Debian's Chromium (laptop 1366×768):
center, a service with two procedures, a counter, an official, a kiosk enrolled by its short
code; a citizen then takes a number at that kiosk and the official calls it. Renaming the
service reaches the open kiosk; a conflict is shown next to its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import poll
from tests.live import LiveServer

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def fresh_server(tmp_path: Path) -> Any:
    """`layso init` (no demo) and `layso user add quantri --role admin`, then `layso run`."""
    server = LiveServer(tmp_path / "fresh")
    server.cli("init")
    server.cli("user", "add", "quantri", "--role", "admin", "--name", "Quản trị viên",
               env={"LAYSO_PASSWORD": "password-123"})
    server.start()
    yield server
    server.kill()


def log_in(page: Any, username: str, password: str) -> None:
    """Fill the login page and submit it."""
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")


def fill_in(page: Any, form: str, fields: dict[str, str], add: bool = False,
            submit: bool = True) -> None:
    """Fill fields of the `form` (e.g. service) editor by name, after its page's Add button
    when `add`, then submit it unless `submit` is False."""
    if add:
        page.click("#add")
    for name, value in fields.items():
        page.fill(f"#{form}-form [name='{name}']", value)
    if submit:
        page.click(f"#{form}-form button[type=submit]")


def saved(page: Any) -> None:
    poll(page,
        "[...document.querySelectorAll('.form-status')]"
        ".some(s => s.textContent.includes('Đã lưu'))")


def test_setup_wizard_from_an_empty_center_to_a_called_ticket(
        fresh_server: Any, browser: Any, screenshot_dir: Path) -> None:
    server = fresh_server
    ctx = browser.new_context(viewport=LAPTOP, locale="vi-VN")
    kctx = browser.new_context(viewport=LAPTOP, locale="vi-VN")
    try:
        # a kiosk of a center with nothing set up says so in a citizen's words
        admin_token = server.login("quantri", "password-123")
        early = server.api("post", "/devices", admin_token, json={"name": "Thử", "kind": "kiosk"})
        assert early.status_code == 201
        empty = kctx.new_page()
        empty.add_init_script(
            f"localStorage.setItem('layso.kiosk.token', '{early.json()['token']}')")
        empty.goto(server.url + "/kiosk/")
        empty.wait_for_selector("#not-ready:not([hidden])")
        assert "chưa sẵn sàng" in empty.inner_text("#not-ready")
        empty.screenshot(path=str(screenshot_dir / "kiosk-not-ready.png"))
        empty.close()
        kctx.close()
        kctx = browser.new_context(viewport=LAPTOP, locale="vi-VN")  # a browser never enrolled

        page = ctx.new_page()
        page.goto(server.url + "/admin/")
        page.wait_for_url("**/login**")
        log_in(page, "quantri", "password-123")
        page.wait_for_url("**/admin/setup")
        page.wait_for_selector("body[data-ready='1']")
        page.screenshot(path=str(screenshot_dir / "admin-setup.png"), full_page=True)

        # an admin who jumps to the counters before any service is told why the list is empty
        page.goto(server.url + "/admin/counters?setup=1")
        page.wait_for_selector("body[data-page='counters'][data-ready='1']")
        page.click("#add")
        page.wait_for_selector("#svc-none:not([hidden])")
        assert "Thêm lĩnh vực trước" in page.inner_text("#svc-none")
        assert page.get_attribute("#svc-none a", "href") == "/admin/services?setup=1"
        page.click("[data-close]")
        page.goto(server.url + "/admin/setup")
        page.wait_for_selector("body[data-ready='1']")

        # step 1: the center
        page.click("[data-step='settings'] a")
        page.wait_for_selector("#setup-bar")
        poll(page, "document.querySelector('[name=\"timezone\"]').value !== ''")
        fill_in(page, "center", {
            "name.vi": "Trung tâm Phục vụ hành chính công xã Đổi Mới",
            "name.en": "Doi Moi Commune Public Administration Service Center"})
        saved(page)
        page.screenshot(path=str(screenshot_dir / "admin-settings.png"), full_page=True)

        # step 2: a service with two procedures
        page.click("#setup-next")
        page.wait_for_selector("body[data-page='services'][data-ready='1']")
        fill_in(page, "service", {"code": "civil-status", "prefix": "A", "name.vi": "Hộ tịch",
                                  "name.en": "Civil status"}, add=True, submit=False)
        for i, (code, vi, en) in enumerate((("birth", "Đăng ký khai sinh", "Birth registration"),
                                            ("marriage", "Đăng ký kết hôn", "Marriage"))):
            page.click("#add-proc")
            row = f"#procs tr:nth-child({i + 1}) "
            page.fill(row + "input[data-k=code]", code)
            page.fill(row + "input[data-k=vi]", vi)
            page.fill(row + "input[data-k=en]", en)
        page.click("#service-form button[type=submit]")
        saved(page)
        page.wait_for_selector("#list tr[data-code='civil-status']")
        # a second service with the same prefix: the 409 is shown next to the prefix field
        fill_in(page, "service", {"code": "land", "prefix": "A", "name.vi": "Đất đai"}, add=True)
        page.wait_for_selector("[data-field='prefix'] .field-error")
        error = page.inner_text("[data-field='prefix'] .field-error")
        # in both languages, the English written for the center's staff, not the API's words
        assert "Ký hiệu này" in error and "Another service already uses this prefix" in error
        page.screenshot(path=str(screenshot_dir / "admin-services-error.png"), full_page=True)
        fill_in(page, "service", {"prefix": "C"})
        page.wait_for_selector("#list tr[data-code='land']")
        # no counter takes either yet: the kiosk would issue nothing, and the page says so
        page.wait_for_selector("#unserved:not([hidden])")
        note = page.inner_text("#unserved")
        assert "A · Hộ tịch, C · Đất đai" in note and "the kiosk issues no number" in note
        assert "No counter takes it" in page.inner_text("#list tr[data-code='land']")
        page.screenshot(path=str(screenshot_dir / "admin-services.png"), full_page=True)

        # step 3: a counter serving it
        page.click("#setup-next")
        page.wait_for_selector("body[data-page='counters'][data-ready='1']")
        page.click("#add")
        poll(page, "document.querySelector('#svc-pick').options.length > 0")
        page.select_option("#svc-pick", "civil-status")
        page.click("#svc-add")
        page.select_option("#svc-pick", "land")
        page.click("#svc-add")
        page.click("#counter-form button[type=submit]")
        saved(page)
        page.wait_for_selector("#list tr[data-number='1']")
        assert "A · Hộ tịch → C · Đất đai" in page.inner_text("#list tr[data-number='1']")
        assert page.is_hidden("#svc-none")  # there are services now
        page.screenshot(path=str(screenshot_dir / "admin-counters.png"), full_page=True)

        # step 4: an official
        page.click("#setup-next")
        page.wait_for_selector("body[data-page='users'][data-ready='1']")
        fill_in(page, "user", {"username": "canbo1", "name": "Nguyễn Văn An",
                               "password": "matkhau-canbo1"}, add=True)
        saved(page)
        page.wait_for_selector("#list tr[data-username='canbo1']")
        page.screenshot(path=str(screenshot_dir / "admin-users.png"), full_page=True)

        # step 5: a kiosk, enrolled by its short code
        page.click("#setup-next")
        page.wait_for_selector("body[data-page='devices'][data-ready='1']")
        fill_in(page, "device", {"name": "Máy lấy số sảnh"}, add=True, submit=False)
        page.select_option("[name='kind']", "kiosk")
        page.click("#device-form button[type=submit]")
        page.wait_for_selector("#enrolled:not([hidden])")
        code = page.inner_text("#enrolled-code").replace(" ", "")
        assert len(code) == 8 and code.isdigit()
        # a board added before the kiosk is enrolled: the kiosk's code stays on the page
        fill_in(page, "device", {"name": "Bảng hiển thị sảnh"}, add=True, submit=False)
        page.select_option("[name='kind']", "display")
        page.click("#device-form button[type=submit]")
        poll(page, "document.querySelector('#enrolled-name').textContent === 'Bảng hiển thị sảnh'")
        page.wait_for_selector("#enrolled-earlier-box:not([hidden])")
        earlier = page.inner_text("#enrolled-earlier")
        assert "Máy lấy số sảnh" in earlier and code[:4] + " " + code[4:] in earlier, earlier
        assert "valid until" in earlier
        page.screenshot(path=str(screenshot_dir / "admin-devices-enrol.png"), full_page=True)

        kiosk = kctx.new_page()
        kiosk.goto(server.url + "/kiosk/")
        kiosk.wait_for_selector("#s-enrol:not([hidden])")
        kiosk.fill("#enrol-token", code[:4] + " " + code[4:])
        kiosk.screenshot(path=str(screenshot_dir / "kiosk-enrol-code.png"))
        kiosk.click("#enrol-submit")
        kiosk.wait_for_selector("[data-service='civil-status']")
        assert kiosk.text_content("#center-vi") == "Trung tâm Phục vụ hành chính công xã Đổi Mới"

        # a citizen takes a number in the new service
        kiosk.click("[data-service='civil-status']")
        kiosk.wait_for_selector("#s-procedure:not([hidden])")
        assert "Đăng ký kết hôn" in kiosk.inner_text("#procedures")
        kiosk.click("#procedures .k-choice >> nth=0")
        kiosk.wait_for_selector("#s-priority:not([hidden])")
        kiosk.click("#no-priority")
        kiosk.wait_for_selector("#s-ticket:not([hidden])")
        assert kiosk.text_content("#t-label") == "A001"
        kiosk.click("#done")
        kiosk.wait_for_selector("#s-home:not([hidden])")

        # the official calls it
        official = server.login("canbo1", "matkhau-canbo1")
        assert server.api("post", "/counters/1/open", official).status_code == 200
        called = server.api("post", "/counters/1/call-next", official)
        assert called.status_code == 200 and called.json()["label"] == "A001"

        # the devices page shows the kiosk as seen
        page.reload()
        page.wait_for_selector("#list tbody tr")
        assert "Máy lấy số sảnh" in page.inner_text("#list")

        # rename the service in the page: the open kiosk shows the new name without a reload
        page.goto(server.url + "/admin/services")
        page.wait_for_selector("#list tr[data-code='civil-status'] button")
        page.click("#list tr[data-code='civil-status'] button")
        fill_in(page, "service", {"name.vi": "Hộ tịch, chứng thực"})
        saved(page)
        poll(kiosk,
            "document.querySelector(\"[data-service='civil-status']\")"
            ".textContent.includes('Hộ tịch, chứng thực')", timeout=15)
        kiosk.screenshot(path=str(screenshot_dir / "kiosk-after-rename.png"))

        # a filter keeps a long list usable
        page.fill("#filter", "dat dai")
        assert page.is_hidden("#list tr[data-code='civil-status']")
        assert page.is_visible("#list tr[data-code='land']")
        assert page.is_hidden("#unserved")  # the counter takes both now

        # the setup's five steps are ticked, the first one with the center's own name
        page.goto(server.url + "/admin/setup")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("#steps li.done").count() == 5
        assert "Đã lưu: Trung tâm Phục vụ hành chính công xã Đổi Mới" in page.inner_text(
            "[data-step='settings']")
        page.screenshot(path=str(screenshot_dir / "admin-setup-done.png"), full_page=True)
    finally:
        ctx.close()
        kctx.close()


def test_every_page_of_the_demo_center_and_a_tablet_enrolled_by_code(
        live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    server = live_server
    admin = server.user("quantri", "admin")
    made = server.api("post", "/devices", admin,
                      json={"name": "Máy đánh giá quầy 1", "kind": "feedback", "counter": 1})
    assert made.status_code == 201
    server.api("patch", "/center", admin, json={"recall_limit": 4})
    ctx = browser.new_context(viewport=LAPTOP, locale="vi-VN")
    try:
        tablet = ctx.new_page()
        tablet.set_viewport_size({"width": 1280, "height": 800})
        tablet.goto(server.url + "/counter/feedback")
        tablet.wait_for_selector("#screen-enrol:not([hidden])")
        tablet.fill("#enrol-token", "0000 0000")
        tablet.click("#enrol-submit")
        tablet.wait_for_selector("#enrol-error:not([hidden])")
        assert "Mã kích hoạt không đúng" in tablet.inner_text("#enrol-error")
        tablet.fill("#enrol-token", made.json()["enrol_code"])
        tablet.screenshot(path=str(screenshot_dir / "feedback-enrol-code.png"))
        tablet.click("#enrol-submit")
        tablet.wait_for_selector("#screen-idle:not([hidden])")
        assert "Quầy 1" in tablet.inner_text("#idle-counter")
        # revoked: back to its enrolment screen at once
        assert server.api("post", f"/devices/{made.json()['id']}/revoke",
                          admin).status_code == 200
        tablet.wait_for_selector("#screen-enrol:not([hidden])", timeout=10000)
        assert tablet.evaluate("localStorage.getItem('layso.feedback.token')") is None

        page = ctx.new_page()
        page.goto(server.url + "/login?next=/admin/")
        log_in(page, "quantri", "password-123")
        page.wait_for_url(lambda url: "/login" not in url)
        for name in ("settings", "services", "counters", "categories", "users", "devices",
                     "audit", "reports"):
            page.goto(server.url + f"/admin/{name}")
            page.wait_for_selector("body[data-ready='1']", state="attached")
            if name in ("services", "counters", "categories", "users", "devices", "audit"):
                page.wait_for_selector("#list tbody tr")
            if name == "audit":
                assert "center.updated" in page.inner_text("#list")
                assert "device.revoked" in page.inner_text("#list")
            page.screenshot(path=str(screenshot_dir / f"admin-{name}-demo.png"), full_page=True)
    finally:
        ctx.close()
