"""The feedback tablet facing the citizen at 800×1280 and 1280×800, in the language the
citizen chose at the kiosk: rating, reason and thanks fit the screen, nothing under 16 px,
AA contrast, the header's counter in that language, and an unanswered rating times out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.counter.browser import TabletAtCounter4
from tests.layout import assert_fits

pytestmark = pytest.mark.browser

SIZES = {"portrait": (800, 1280), "landscape": (1280, 800)}
TABLET_BG = "rgb(247, 244, 239)"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_tablet_reads_in_the_citizens_language_at_both_sizes(
        counter4: TabletAtCounter4, screenshot_dir: Path, lang: str, size: str) -> None:
    from playwright.sync_api import expect

    tablet, act = counter4.tablet, counter4.act
    tablet.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    tag = f"{lang}-{size}"

    def fits(where: str) -> None:
        time.sleep(0.2)  # fonts
        assert_fits(tablet, f"{where} {tag}", min_font=16, gradient=TABLET_BG)

    act("/counters/4/open")
    counter4.issue(2, lang)
    act("/counters/4/call-next")
    act("/counters/4/start")
    # while served, the citizen in front of the tablet reads the waiting screen in their
    # language (it stayed the center's, Vietnamese first, for an English citizen)
    serving = tablet.locator("#idle-serving")
    expect(serving).to_have_attribute("lang", lang)
    expect(serving).to_contain_text("Now serving" if lang == "en" else "Đang phục vụ số")
    first = serving.evaluate("e => e.firstChild.textContent.trim()")
    assert first == ("Now serving" if lang == "en" else "Đang phục vụ số"), first
    assert tablet.locator(".idle-note").evaluate("e => e.closest('[lang]').lang") == lang
    fits("serving")
    tablet.screenshot(path=str(screenshot_dir / f"feedback-serving-{tag}.png"))
    act("/counters/4/complete", outcome="done")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    fits("rating")
    head = tablet.locator("#fb-counter")
    # the counter's name in the citizen's language ("Quầy 4" stayed to an English citizen)
    expect(head).to_have_text("Counter 4" if lang == "en" else "Quầy 4")
    expect(head).to_have_attribute("lang", lang)
    tablet.screenshot(path=str(screenshot_dir / f"feedback-rate-{tag}.png"))
    tablet.click(".face[data-score='2']")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "reason")
    fits("reason")
    tablet.screenshot(path=str(screenshot_dir / f"feedback-reason-{tag}.png"))
    tablet.click("#reason-skip")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "thanks")
    fits("thanks")
    tablet.clock.fast_forward("00:31")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    expect(head).to_have_text("Quầy 4")  # the idle screen is the center's again
    expect(serving).to_have_attribute("lang", "vi")
    # the next citizen walks away without rating: back to the idle screen on its own
    counter4.serve()
    expect(tablet.locator("body")).to_have_attribute("data-screen", "rate")
    tablet.clock.fast_forward("00:31")
    expect(tablet.locator("body")).to_have_attribute("data-screen", "idle")
    fits("idle after a timeout")
    act("/counters/4/close")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_thanks_leave_the_tablet_before_the_next_citizen_sits_down(
        counter4: TabletAtCounter4, lang: str) -> None:
    """The thank-you stayed 30 s: the next citizen at the counter found the previous one's
    thanks. It goes after about 8 s (long enough to read), or at once when the counter calls
    the next citizen."""
    from playwright.sync_api import expect

    tablet, act = counter4.tablet, counter4.act
    screen = tablet.locator("body")
    act("/counters/4/open")
    counter4.issue(3, lang)

    def rated() -> None:
        counter4.serve()
        expect(screen).to_have_attribute("data-screen", "rate")
        tablet.click(".face[data-score='5']")
        expect(screen).to_have_attribute("data-screen", "thanks")
        thanks = tablet.inner_text("#screen-thanks")
        assert ("Thank you" if lang == "en" else "Cảm ơn") in thanks.splitlines()[0], thanks

    rated()
    tablet.clock.run_for(5000)  # read in a glance: still there after 5 s
    expect(screen).to_have_attribute("data-screen", "thanks")
    tablet.clock.run_for(4000)  # gone well before the next citizen sits down
    expect(screen).to_have_attribute("data-screen", "idle")
    expect(tablet.locator("#fb-counter")).to_have_text("Quầy 4")
    # the counter calls the next citizen while the thanks show: idle at once, no clock needed
    rated()
    act("/counters/4/call-next")
    expect(screen).to_have_attribute("data-screen", "idle")
    act("/counters/4/no-show")
    act("/counters/4/close")
