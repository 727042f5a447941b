"""The kiosk's camera reads a chip ID card's QR and a receipt's QR: Debian's Chromium with a
fake camera that films a printed code (a Y4M video made here), decoded by the ZXing build the
server serves itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.kiosk.test_citizens_browser import DOSSIER, ELDER_CARD
from tests.kiosk.test_kiosk_layout_browser import GRADIENT
from tests.layout import assert_fits
from tests.live import LiveServer

pytestmark = pytest.mark.browser

W, H = 640, 480


def camera_video(text: str, path: Path) -> Path:
    """A few frames of a camera filming a QR code held up on a grey desk (YUV4MPEG2, 4:2:0)."""
    qr = qrcode.make(text, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code = qr.get_image().convert("L").resize((360, 360), Image.NEAREST)
    frame = Image.new("L", (W, H), 150)
    frame.paste(code, ((W - 360) // 2, (H - 360) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (W // 2 * H // 2)
    desk = bytes([150]) * (W * H)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(25):  # 1.5 s of an empty desk, then the code for 1 s
            f.write(b"FRAME\n" + (desk if i < 15 else luma) + chroma + chroma)
    return path


@pytest.fixture
def camera_browser(request: pytest.FixtureRequest, browser: Any, tmp_path: Path
                   ) -> Iterator[Any]:
    """A second Chromium, from the session's Playwright, whose camera films the code named by
    the test's parameter."""
    video = camera_video(request.param, tmp_path / "camera.y4m")
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    yield b
    b.close()


def kiosk(browser: Any, server: LiveServer) -> Any:
    token = server.device("Kiosk camera", "kiosk")
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN",
                              permissions=["camera"])
    ctx.add_init_script(f"localStorage.setItem('layso.kiosk.token', {json.dumps(token)})")
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url + "/kiosk/")
    page.wait_for_selector(".k-service")
    return page


@pytest.mark.parametrize("camera_browser", [ELDER_CARD], indirect=True)
def test_the_camera_reads_a_chip_id_card(camera_browser, citizen_server,
                                         screenshot_dir) -> None:
    page = kiosk(camera_browser, citizen_server)
    expect(page.locator("#camera-card")).to_be_visible()
    page.click("#camera-card")
    page.wait_for_selector("#s-camera:not([hidden])")
    # the film starts on an empty desk: the screen as the citizen holds up the card
    # (polled from here: the page's CSP stays enforced, and wait_for_function would eval)
    for _ in range(100):
        if page.evaluate("document.getElementById('camera-video').videoWidth") > 0:
            break
        page.wait_for_timeout(50)
    page.screenshot(path=str(screenshot_dir / "kiosk-camera.png"))
    expect(page.locator("body")).to_have_attribute("data-card", "elderly", timeout=10000)
    # read: the camera stopped, back on the home screen, nothing from the card shown
    expect(page.locator("#s-home")).to_be_visible()
    assert page.evaluate("window.LaysoCamera.running()") is False
    assert "Nguyễn" not in page.evaluate("document.body.innerText")
    page.click("[data-service=social]")
    expect(page.locator("[data-priority=elderly].is-suggested")).to_be_visible()
    assert page.errors == []


@pytest.mark.parametrize("camera_browser", [DOSSIER], indirect=True)
def test_the_camera_reads_a_receipt(camera_browser, citizen_server, screenshot_dir) -> None:
    server = citizen_server
    page = kiosk(camera_browser, server)
    # the landscape home screen with both: the card's hint and camera, and result pickup
    expect(page.locator("#pickup")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "kiosk-home-scan-landscape.png"))
    assert_fits(page, "home with result pickup", min_target=64, gradient=GRADIENT)
    page.click("#pickup")
    page.wait_for_selector("#s-pickup:not([hidden])")
    page.click("#camera-receipt")
    page.wait_for_selector("#s-priority:not([hidden])", timeout=10000)
    assert "Nhận kết quả" in page.inner_text("#prio-service")
    page.click("#no-priority")
    page.wait_for_selector("#s-ticket:not([hidden])")
    assert page.inner_text("#t-label") == "B001"
    officer = server.login("canbo2", "layso-demo")
    (t,) = server.api("GET", "/queue?service=certification", officer).json()["items"]
    assert t["dossier"] == DOSSIER
    assert page.errors == []
