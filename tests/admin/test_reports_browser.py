"""The reports page's charts and the dashboard's live alerts, in Debian's Chromium."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench.reports import seed, working_days
from layso.db import Database
from layso.events import Hub
from layso.queue import Center
from tests.conftest import poll
from tests.counter.browser import age_ticket

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: a canvas is drawn when it has pixels that are not transparent (counted in the page)
DRAWN = """ids => ids.map(id => {
  const c = document.getElementById(id);
  if (!c) return [id, -1];
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return [id, n];
})"""
CHARTS = ["chart-arrivals", "chart-waits", "chart-officials", "chart-scores", "chart-levels",
          "chart-trend"]


def seeded(server: Any, n_days: int, per_day: int, seed_value: int) -> tuple[str, Any]:
    """`n_days` past working days of `per_day` citizens seeded into the live server's tables
    (as the benchmark seeds them): the first day (ISO) and today."""
    today = datetime.now(TZ).date()
    center = Center(Database(f"sqlite:///{server.data_dir / 'layso.db'}"), Hub())
    days = working_days(n_days, today - timedelta(days=1))
    seed(center, days, per_day, random.Random(seed_value))
    center.db.dispose()
    return days[0].isoformat(), today


def log_in(page: Any, url: str, path: str) -> None:
    page.goto(url + path)
    page.wait_for_url("**/login**")
    page.fill("#username", "lanhdao")
    page.fill("#password", "layso-demo")
    page.click("#login-submit")
    page.wait_for_url("**" + path.split("?")[0] + "**")


@pytest.mark.browser
def test_the_reports_page_draws_its_charts_and_prints_on_a4(
        live_server: Any, page: Any, screenshot_dir: Path) -> None:
    # four weeks of past working days straight into the tables, as the benchmark seeds them
    first, today = seeded(live_server, 20, 120, 12)
    log_in(page, live_server.url, f"/admin/reports?from={first}&to={today}&by=service")
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15000)
    assert page.get_attribute("#report-charts", "data-charts") == str(len(CHARTS))
    drawn = dict(page.evaluate(DRAWN, CHARTS))
    assert all(n > 500 for n in drawn.values()), drawn
    # each service's target is drawn across its own bars, even where only one service had
    # citizens (a line joining the services drew nothing there)
    marks = page.evaluate("""() => {
      const ch = Chart.getChart('chart-waits'), m = ch.getDatasetMeta(2);
      return [ch.data.labels.length, m.data.filter(p => !p.skip && isFinite(p.y)).length,
              ch.data.datasets[2].pointStyle];
    }""")
    assert marks[0] > 1 and marks[1] == marks[0] and marks[2] == "line", marks
    # every legend and title in both languages (they were Vietnamese only)
    words = page.evaluate("""(ids) => ids.map(id => {
      const ch = Chart.getChart(id), t = ch.options.plugins.title;
      return [id, ch.data.datasets.map(d => d.label || '').concat(
        ch.config.type === 'doughnut' ? ch.data.labels : [],
        t && t.display ? [[].concat(t.text).join(' / ')] : [])];
    })""", CHARTS)
    for chart, texts in words:
        for text in texts:
            if text:
                assert " / " in text or text.isascii(), (chart, text)
    assert any("/ Five scores" in t for _, texts in words for t in texts)
    assert "Chờ trung bình / Mean wait" in dict(words)["chart-waits"]
    waits_axis = page.evaluate("Chart.getChart('chart-waits').data.labels")
    assert ["Hộ tịch", "Civil status"] in waits_axis, waits_axis
    # the figures and the picker: Vietnamese numbers, the period's shortcuts
    table = page.inner_text("#report-table")
    assert "Tổng cộng" in table
    cells = page.locator("#report-table td.num").all_inner_texts()
    # decimals with a comma (4,8), thousands with a dot (2.400), never "4.8"
    assert [c for c in cells if "," in c]
    assert all(c == "–" or re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d{1,2})?", c) for c in cells), cells
    assert [a.get_attribute("data-period") for a in
            page.locator("#quick-periods a").all()] == ["today", "week", "month", "last_month"]
    # a supervisor (read-only elsewhere) can choose the period
    assert page.is_enabled(".report-form input[name=from]")
    assert page.is_enabled(".report-form select[name=by]")
    comments = page.inner_text("#report-comments")
    assert "Ý kiến của công dân" in comments
    page.set_viewport_size({"width": 1366, "height": 900})
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "admin-reports-charts.png"), full_page=True)

    # printed: A4 portrait, the navigation and forms gone, every chart within the page width
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.wait_for_timeout(300)
    assert not page.is_visible(".admin-nav") and not page.is_visible(".report-form")
    assert page.is_visible(".print-title")
    # its dates as the tables write them, dd/mm/yyyy
    y, m, d = first.split("-")
    assert f"từ {d}/{m}/{y} đến {today:%d/%m/%Y}" in page.inner_text(".print-title")
    widths = page.evaluate("""() => [...document.querySelectorAll('.chart, .chart canvas, table')]
        .map(f => f.getBoundingClientRect().right)""")
    assert widths and max(widths) <= 794, widths
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:4] == b"%PDF" and len(pdf) > 10000
    page.screenshot(path=str(screenshot_dir / "admin-reports-print.png"), full_page=True)


@pytest.mark.browser
def test_an_alert_appears_with_a_beep_and_clears_by_itself(
        live_server: Any, page: Any, screenshot_dir: Path) -> None:
    admin = live_server.login("admin", "layso-demo")
    r = live_server.api("PATCH", "/center", admin, json={"alert_queue_length": 2})
    assert r.ok, r.text
    kiosk = live_server.device("Kiosk sảnh", "kiosk")
    officer = live_server.login("canbo1", "layso-demo")
    log_in(page, live_server.url, "/admin/")
    page.wait_for_selector("#alerts[data-count='0']", state="attached")
    assert page.is_visible("#sound-on")  # no sound before a click: the page says so
    page.click("#sound-on")  # a click lets the page make sound (browsers want a gesture first)
    page.wait_for_selector("body[data-sound='on']")
    assert not page.is_visible("#sound-on")
    for _ in range(3):
        assert live_server.api("POST", "/tickets", kiosk, json={"service": "land"}).ok
    alert = page.wait_for_selector("#alerts .alert[data-key='queue_long:land']", timeout=8000)
    assert "Đất đai: 3 công dân đang chờ (ngưỡng 2)" in alert.inner_text()
    poll(page, "document.body.dataset.beeps === '1'", timeout=3)
    # the first of them has waited past the land service's target (30 min): a second, red one
    age_ticket(live_server, "C001", 45)
    assert live_server.api("POST", "/tickets", kiosk, json={"service": "civil-status"}).ok
    late = page.wait_for_selector("#alerts .alert.bad[data-key='wait_over_target:land']",
                                  timeout=20000)
    assert "Đất đai: công dân chờ lâu nhất 45 phút (mục tiêu 30 phút)" in late.inner_text()
    poll(page, "document.body.dataset.beeps === '2'", timeout=3)
    assert page.get_attribute("#alerts .alert:first-child", "data-key") == \
        "wait_over_target:land"  # the most serious first
    poll(page, "document.getElementById('t-issued').textContent === '4'", timeout=5)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(screenshot_dir / "admin-dashboard-alert.png"), full_page=True)
    live_server.api("POST", "/counters/3/open", officer)
    live_server.api("POST", "/counters/3/call-next", officer)
    page.wait_for_selector("#alerts .alert[data-key='queue_long:land']", state="detached",
                           timeout=8000)
    page.wait_for_selector("#alerts[data-count='0']", state="attached", timeout=8000)
    assert page.evaluate("document.body.dataset.beeps") == "2"  # one tone per new alert

    # a past day: its own figures, never today's live counters
    assert page.locator("#counters tbody tr").count() == 5
    yesterday = (datetime.now(TZ).date() - timedelta(days=1)).isoformat()
    page.fill("#day", yesterday)
    page.dispatch_event("#day", "change")
    page.wait_for_selector("#counters-note", state="visible", timeout=5000)
    assert page.locator("#counters tbody tr").count() == 0
    assert page.text_content("#t-issued") == "0"


#: each table box of the figures, and each header cell, as the laptop shows them
REPORT_BOXES = """() => {
  const out = {boxes: [], cutHeads: [], headLangs: []};
  const panel = document.getElementById('report-table');
  for (const box of [panel, ...panel.querySelectorAll('.table-wrap, table')]) {
    out.boxes.push([box.id || box.className, box.scrollWidth, box.clientWidth]);
  }
  const right = panel.getBoundingClientRect().right;
  for (const th of panel.querySelectorAll('th')) {
    const r = th.getBoundingClientRect();
    if (th.scrollWidth > th.clientWidth + 1 || r.right > right + 1)
      out.cutHeads.push(th.innerText.replace(/\\s+/g, ' '));
    if (!th.closest('thead')) continue;
    const en = th.querySelector('.en');
    if (!en || en.lang !== 'en' || !en.getBoundingClientRect().width)
      out.headLangs.push(th.innerText.replace(/\\s+/g, ' '));
  }
  return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("by", ["service", "officer", "day"])
def test_the_figures_read_on_a_laptop_without_scrolling_sideways(
        live_server: Any, page: Any, screenshot_dir: Path, by: str) -> None:
    """The per-service table had 21 columns and scrolled sideways inside its box on a 1366 px
    laptop. The figures now read in two tables (visits and times; ratings), each whole on the
    screen, every header in Vietnamese and English; every figure of the file is still there."""
    import csv
    import io

    import requests

    first, today = seeded(live_server, 5, 60, 7)
    page.set_viewport_size({"width": 1366, "height": 768})
    query = f"from={first}&to={today}&by={by}"
    log_in(page, live_server.url, f"/admin/reports?{query}")
    page.wait_for_selector("#report-table")
    page.wait_for_timeout(200)  # fonts
    found = page.evaluate(REPORT_BOXES)
    wide = [b for b in found["boxes"] if b[1] > b[2]]
    assert not wide, f"by {by}: scrolls sideways at 1366 px: {wide}"
    assert not found["cutHeads"], f"by {by}: headers cut {found['cutHeads']}"
    assert not found["headLangs"], f"by {by}: headers without their English {found['headLangs']}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    # every figure sits right, an empty one ("–") too: on the left it read as the column before
    left = page.evaluate("""() => [...document.querySelectorAll('table.report td')]
      .filter(td => getComputedStyle(td).textAlign !== 'right').map(td => td.textContent)""")
    assert not left, f"by {by}: figures not aligned right {left[:5]}"
    comments = page.evaluate("""() => [...document.querySelectorAll(
        '#report-comments, #report-comments .table-wrap')]
        .map(b => [b.scrollWidth, b.clientWidth])""")
    assert comments and all(w <= c for w, c in comments), f"comments scroll sideways {comments}"
    # every figure of the CSV (unchanged: one row per item, 20 figures) is on the page
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    r = requests.get(f"{live_server.url}/admin/reports.csv?{query}", cookies=cookies, timeout=10)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows[0]) == 21 and rows[0][1] == "Số đã cấp"
    shown = page.evaluate("""() => {
      const out = {};
      for (const tr of document.querySelectorAll('#report-table tbody tr')) {
        const cells = [...tr.children].map(c => c.innerText.trim());
        (out[cells[0]] = out[cells[0]] || []).push(...cells.slice(1));
      }
      return out;
    }""")
    assert set(shown) == {row[0] for row in rows[1:]}
    for row in rows[1:]:
        assert len(shown[row[0]]) == 20, (row[0], shown[row[0]])
        for value, text in zip(row[1:], shown[row[0]], strict=True):
            assert (text == "–") if value == "" else \
                float(text.replace(".", "").replace(",", ".")) == pytest.approx(
                    float(value), abs=0.051), (row[0], value, text)
    if by == "service":
        page.locator("#report-table").screenshot(
            path=str(screenshot_dir / "admin-reports-table.png"))
