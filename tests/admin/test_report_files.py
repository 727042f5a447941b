"""The reports as files: the XLSX workbook, the CSV of one grouping, the day's CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from layso.queue import reports


def _login(client: Any, username: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": username,
                                                "password": "password-" + username})
    assert r.status_code == 200


@pytest.fixture
def leader(app: Any, api: dict[str, Any]) -> Any:
    """A supervisor's browser."""
    c = app.test_client()
    _login(c, "sup")
    return c


@pytest.fixture
def morning(app: Any, api: dict[str, Any], clock: Any) -> dict[str, Any]:
    """A: one served and rated 2 with a comment; C: transferred to B and served; B: one absent."""
    o1 = api["o1"]
    a = api["kiosk"].post("/tickets", {"service": "civil-status"}).get_json()
    c = api["kiosk"].post("/tickets", {"service": "land"}).get_json()
    b = api["kiosk"].post("/tickets", {"service": "certification"}).get_json()
    clock.advance(minutes=12)
    o1.post("/counters/1/open")
    assert o1.post("/counters/1/call-next").get_json()["label"] == "A001"
    o1.post("/counters/1/start")
    clock.advance(minutes=5)
    assert o1.post("/counters/1/complete", {"outcome": "done"}).status_code == 200
    r = api["feedback"].post("/ratings", {"ticket": a["id"], "score": 2, "reason": "long_wait",
                                          "comment": "Chờ lâu, cần thêm quầy"})
    assert r.status_code == 201
    o1.post("/counters/3/open")
    assert o1.post("/counters/3/call-next").get_json()["label"] == "C001"
    o1.post("/counters/3/transfer", {"service": "certification", "position": "back"})
    o1.post("/counters/3/close")
    assert o1.post("/counters/1/call-next").get_json()["label"] == "B001"
    o1.post("/counters/1/no-show")
    assert o1.post("/counters/1/call-next").get_json()["label"] == "C001"
    o1.post("/counters/1/start")
    clock.advance(minutes=4)
    assert o1.post("/counters/1/complete", {"outcome": "received"}).status_code == 200
    # the dossier as an official records it on complete (written here directly: recording
    # it is the dossier work's, listing it is the export's)
    from sqlalchemy import update

    from layso import db
    with app.extensions["layso"].db.write() as conn:
        conn.execute(update(db.tickets).where(db.tickets.c.id == c["id"])
                     .values(dossier="000.00.17.H56-261125-0001"))
    return {"a": a, "b": b, "c": c}


def test_the_workbook_has_a_sheet_per_grouping_with_names_and_numbers(leader, morning):
    r = leader.get("/admin/reports.xlsx?from=2026-11-25&to=2026-11-25")
    assert r.status_code == 200 and r.mimetype == reports_mime()
    assert "layso-bao-cao-2026-11-25-2026-11-25.xlsx" in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == [*reports.SHEETS.values(), "Ý kiến công dân", "Hồ sơ"]
    ws = wb["Theo lĩnh vực"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("Lĩnh vực", "Số đã cấp", "Đã phục vụ", "Vắng mặt")
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Hộ tịch", "Chứng thực", "Đất đai", "Tổng cộng"}
    assert by_name["Hộ tịch"][1:3] == (1, 1)
    assert by_name["Chứng thực"][1:4] == (1, 1, 1)  # B001 issued and absent; C001 served here
    assert by_name["Đất đai"][5] == 1  # transferred out
    assert by_name["Tổng cộng"][1:6] == (3, 2, 1, 0, 1)
    assert isinstance(by_name["Hộ tịch"][6], int | float)  # mean wait in minutes, a number
    assert by_name["Hộ tịch"][6] == 12.0
    assert ws.column_dimensions["A"].width == 30
    officers = list(wb["Theo cán bộ"].iter_rows(values_only=True))
    assert officers[1][0] == "O1"
    comments = list(wb["Ý kiến công dân"].iter_rows(values_only=True))
    assert comments[1][1:9] == ("A001", "Hộ tịch", "Quầy 1", "O1", 2, "Không hài lòng",
                                "Thời gian chờ lâu", "Chờ lâu, cần thêm quầy")
    # C001's dossier, although C001 left no rating (the comments list only rated visits)
    assert [row[-1] for row in comments[1:]] == [None]
    dossiers = list(wb["Hồ sơ"].iter_rows(values_only=True))
    assert dossiers == [reports.DOSSIER_HEADERS, (
        "25/11/2026", "C001", "Chứng thực", None, "Đã tiếp nhận hồ sơ, hẹn trả kết quả",
        "Quầy 1", "O1", "000.00.17.H56-261125-0001")]


def reports_mime() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_csv_has_a_bom_vietnamese_headers_and_names(leader, morning):
    r = leader.get("/admin/reports.csv?from=2026-11-25&to=2026-11-25&by=counter")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Quầy", "Số đã cấp", "Đã phục vụ"]
    assert [row[0] for row in rows[1:]] == ["Quầy 1", "Quầy 3", "Tổng cộng"]
    assert rows[1][2:4] == ["2", "1"]


@pytest.mark.parametrize("query", ["from=2026-11-26&to=2026-11-25",
                                   "from=2025-01-01&to=2026-01-02", "from=nope&to=nope",
                                   "from=2026-11-25&to=2026-11-25&by=week"])
def test_a_bad_period_is_refused_for_the_files(leader, query):
    for path in ("/admin/reports.csv", "/admin/reports.xlsx"):
        if "by=" in query and path.endswith("xlsx"):
            continue
        r = leader.get(f"{path}?{query}")
        assert r.status_code == 422, (path, query)
        # in Vietnamese first, then the English the API says
        vi, en = r.data.decode().splitlines()
        assert (en, vi) in reports.PERIOD_PROBLEMS.values(), r.data
    page = leader.get(f"/admin/reports?{query}")
    assert page.status_code == 422
    said = page.data.decode()
    assert any(vi in said and en in said for en, vi in reports.PERIOD_PROBLEMS.values()), query


def test_files_are_for_leaders(app, api):
    anon = app.test_client()
    assert anon.get("/admin/reports.xlsx").status_code == 302
    official = app.test_client()
    _login(official, "o1")
    for path in ("/admin/reports.xlsx", "/admin/reports.csv", "/admin/reports"):
        assert official.get(path).status_code == 403


def test_the_day_export_gains_dossier_origin_absences_and_comments(leader, morning):
    r = leader.get("/admin/export.csv?day=2026-11-25")
    rows = {x["label"]: x for x in csv.DictReader(io.StringIO(r.data.decode("utf-8-sig")))}
    assert rows["C001"]["service"] == "certification"
    assert rows["C001"]["transferred_from"] == "land"
    assert rows["C001"]["dossier"] == "000.00.17.H56-261125-0001"
    assert rows["B001"]["no_shows"] == "1" and rows["A001"]["no_shows"] == "0"
    assert rows["A001"]["rating_comment"] == "Chờ lâu, cần thêm quầy"
    assert rows["A001"]["rating"] == "2"


def test_the_reports_page_shows_the_chosen_grouping_with_links_to_its_files(
        leader: Any, morning: dict[str, Any]) -> None:
    page = leader.get("/admin/reports?by=service")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Theo lĩnh vực" in html and "Đã phục vụ" in html
    assert "Hộ tịch" in html  # a service by its name, not its code
    assert "/admin/reports.xlsx?from=" in html and "by=service" in html
    assert leader.get("/admin/reports?by=nonsense").status_code == 422
    assert leader.get("/admin/reports?from=2026-01-01&to=2025-01-01").status_code == 422


def test_the_reports_page_is_for_leaders_only(app: Any, api: dict[str, Any]) -> None:
    anonymous = app.test_client().get("/admin/reports")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    officer = app.test_client()
    _login(officer, "o1")
    assert officer.get("/admin/reports").status_code == 403


FILES = ("/admin/reports.xlsx", "/admin/reports.csv", "/admin/export.csv")


@pytest.mark.parametrize("path", FILES)
def test_a_script_fetches_the_files_with_a_leaders_token(app, tokens, path):
    """A leader's script sends its bearer token: it got the login page's redirect. An
    official's token, a device's or an unknown one is told why in one line of text."""
    client = app.test_client()

    def get(token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.get(path, headers=headers)

    for leader in ("sup", "adm"):
        r = get(tokens[leader])
        assert r.status_code == 200, (leader, r.data[:200])
        assert r.headers["Content-Disposition"].startswith("attachment; filename=layso-")
    for other in ("o1", "kiosk", "display"):
        r = get(tokens[other])
        assert r.status_code == 403 and r.mimetype == "text/plain", other
        vi, en = r.data.decode().splitlines()  # Vietnamese, then English
        assert "lãnh đạo" in vi and "supervisor" in en
    r = get("x" * 43)
    assert r.status_code == 401 and r.mimetype == "text/plain"
    assert r.data.decode().splitlines()[0].startswith("Mã truy cập không hợp lệ")
    r = client.get(path, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and b"Bearer" in r.data


@pytest.mark.parametrize("path,query", [("/admin/reports.csv", "from=nope&to=nope"),
                                        ("/admin/reports.xlsx", "from=2026-11-26&to=2026-11-25"),
                                        ("/admin/export.csv", "day=nope"),
                                        ("/admin/export.csv", "day=2026-13-01")])
def test_a_refused_file_says_its_charset_once(leader, path, query):
    """The 422's header read 'text/plain; charset=utf-8; charset=utf-8'; a bad export day
    sent today's tickets instead of an error."""
    r = leader.get(f"{path}?{query}")
    assert r.status_code == 422, r.data[:200]
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.data.decode().count("\n") == 2  # Vietnamese, then English
