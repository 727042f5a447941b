"""The reports page: its period shortcuts, its charts' scripts, the comments, the numbers."""

from __future__ import annotations

import re
from typing import Any

import layso.api  # noqa: F401 - first: the admin pages import the API through identity
from layso.admin.reporting import quick_periods
from layso.web import vn_date, vn_number
from tests.admin.test_report_files import leader, morning  # noqa: F401 - the fixtures


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert [vn_number(v) for v in (4.8, 3.5, 4.0, 1250, 12345.67, 0, None)] == [
        "4,8", "3,5", "4", "1.250", "12.345,7", "0", "–"]
    assert vn_number(4.25, 2) == "4,25"


def test_dates_are_written_day_first() -> None:
    assert [vn_date(v) for v in ("2026-12-05", "", None, "05/12/2026")] == [
        "05/12/2026", "", "", "05/12/2026"]


def test_the_period_shortcuts() -> None:
    from datetime import date

    got = {q["key"]: (q["from"], q["to"]) for q in quick_periods(date(2026, 12, 3))}
    assert got == {"today": ("2026-12-03", "2026-12-03"), "week": ("2026-11-30", "2026-12-03"),
                   "month": ("2026-12-01", "2026-12-03"),
                   "last_month": ("2026-11-01", "2026-11-30")}


def test_on_a_monday_one_shortcut_is_lit_the_one_clicked(leader: Any,  # noqa: F811
                                                          clock: Any) -> None:
    """On a Monday today is also this week: both shortcuts were lit; the one the leader
    clicked is, else the first (today)."""
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội

    def lit(query: str) -> list[str]:
        html = leader.get("/admin/reports?" + query).get_data(as_text=True)
        return re.findall(r'class="btn ghost current" data-period="(\w+)"', html)

    assert lit("from=2026-11-30&to=2026-11-30") == ["today"]
    assert lit("from=2026-11-30&to=2026-11-30&period=week") == ["week"]
    assert lit("from=2026-11-30&to=2026-11-30&period=month") == ["today"]  # not its dates
    assert lit("from=2026-11-01&to=2026-11-30") == ["month"]
    assert lit("from=2026-10-01&to=2026-10-31") == ["last_month"]
    assert lit("from=2026-11-02&to=2026-11-30") == []
    html = leader.get("/admin/reports").get_data(as_text=True)
    assert "period=week" in html  # each shortcut says which it is


def test_the_page_lists_the_comments_and_loads_the_charts(
        leader: Any, morning: dict[str, Any]) -> None:  # noqa: F811
    html = leader.get("/admin/reports?from=2026-11-25&to=2026-11-25&by=service").get_data(
        as_text=True)
    assert 'id="report-comments"' in html and "Chờ lâu, cần thêm quầy" in html
    assert "Thời gian chờ lâu" in html and "Không hài lòng" in html
    assert "/static/layso/vendor/chart.umd.min.js" in html and "reports.js" in html
    assert 'data-from="2026-11-25" data-to="2026-11-25"' in html
    assert 'data-period="week"' in html and 'id="print-report"' in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    assert cells and all(re.fullmatch(r"–|\d{1,3}(\.\d{3})*(,\d{1,2})?", c) for c in cells)


def test_a_login_comes_back_to_the_report_asked_for(app: Any) -> None:
    r = app.test_client().get("/admin/reports?from=2026-11-01&to=2026-11-30&by=officer")
    assert r.status_code == 302
    assert "next=/admin/reports?from%3D2026-11-01" in r.headers["Location"] or \
        "next=%2Fadmin%2Freports%3Ffrom%3D2026-11-01" in r.headers["Location"]


def test_the_settings_page_sets_every_alert_threshold(app: Any, api: dict[str, Any]) -> None:
    c = app.test_client()
    assert c.post("/api/v1/auth/login", json={"username": "adm", "password": "password-adm"}
                  ).status_code == 200
    html = c.get("/admin/settings").get_data(as_text=True)
    for name in ("alert_queue_length", "alert_pause_minutes", "alert_silent_minutes"):
        assert f'name="{name}"' in html and f'data-field="{name}"' in html
