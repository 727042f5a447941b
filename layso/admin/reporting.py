"""The leaders' reports: the page, and the same figures as an XLSX workbook and a CSV file."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import Response, request

from layso import concurrency, identity
from layso.admin import bp, leader_refusal, plain
from layso.queue import Invalid, reports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# columns after the first: whole numbers, or minutes/percent/means with one or two decimals
DECIMAL_COLUMNS = {5, 6, 7, 8, 9}  # 0-based among FIGURE_HEADERS
MEAN_SCORE_COLUMN = 11


def _period() -> tuple[date, date]:
    """`?from=&to=` (default today); Invalid (422) when bad or longer than 366 days."""
    first, last = request.args.get("from"), request.args.get("to")
    if not first and not last:
        with identity.center().read() as r:
            first = last = r.local_now.date().isoformat()
    return reports.parse_period(first, last)


def _refused(exc: Invalid) -> Any:
    vi = reports.period_problem_vi(exc.message)
    text = exc.message if vi == exc.message else f"{vi}\n{exc.message}"
    return plain(422, text)


#: comments listed on the page (the files have all of them)
PAGE_COMMENTS = 50


def quick_periods(today: date) -> list[dict[str, str]]:
    """The period picker's shortcuts: today, this week (from Monday), this month, last month."""
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    return [
        {"key": "today", "vi": "Hôm nay", "en": "Today", "from": today.isoformat(),
         "to": today.isoformat()},
        {"key": "week", "vi": "Tuần này", "en": "This week",
         "from": (today - timedelta(days=today.weekday())).isoformat(), "to": today.isoformat()},
        {"key": "month", "vi": "Tháng này", "en": "This month", "from": month.isoformat(),
         "to": today.isoformat()},
        {"key": "last_month", "vi": "Tháng trước", "en": "Last month",
         "from": last_month_end.replace(day=1).isoformat(), "to": last_month_end.isoformat()},
    ]


def current_period(quick: list[dict[str, str]], first: str, last: str,
                   asked: str | None) -> str | None:
    """The shortcut to mark as chosen: the one the leader clicked (`?period=`) if its dates
    are the page's, else the first whose dates are (on a Monday today is also this week:
    both lit up)."""
    same = [q["key"] for q in quick if q["from"] == first and q["to"] == last]
    return asked if asked in same else (same[0] if same else None)


#: the page's figures in two tables that each fit a 1366 px laptop (one table of 21 columns
#: scrolled sideways): visits and times, then ratings; each `(id, vi, en, figure indexes)`.
#: The files keep one sheet of every figure.
PAGE_TABLES = (("visits", "Lượt và thời gian", "Visits and times", range(0, 10)),
               ("ratings", "Đánh giá", "Ratings", range(10, 20)))
#: the figure shown with two decimals (the mean score); the others with one
TWO_DECIMALS = 11


def page_tables(by: str, rows: list[list[Any]]) -> list[dict[str, Any]]:
    """The report's rows as the page's tables: each with the grouping's column first."""
    out = []
    for key, vi, en, figures in PAGE_TABLES:
        heads = [(reports.GROUP_HEADERS[by], reports.GROUP_HEADERS_EN[by])]
        heads += [(reports.FIGURE_HEADERS[i], reports.FIGURE_HEADERS_EN[i]) for i in figures]
        out.append({"id": key, "vi": vi, "en": en, "headers": heads,
                    "digits": [1] + [2 if i == TWO_DECIMALS else 1 for i in figures],
                    "rows": [[row[0], *(row[1 + i] for i in figures)] for row in rows]})
    return out


@bp.get("/reports")
def reports_page() -> Any:
    """The reports page: a period and a grouping, the charts, the figures as a table, the
    citizens' comments and the files; printable for the monthly meeting."""
    from layso.admin import _admin_page

    by = request.args.get("by") or "service"
    try:
        first, last = _period()
        if by not in reports.SHEETS:
            raise Invalid("invalid_field", reports.PERIOD_PROBLEMS["by"][0])
    except Invalid as exc:
        with identity.center().read() as r:
            quick = quick_periods(r.local_now.date())
        return _admin_page("admin/reports.html", "reports", title_vi="Báo cáo",
                           title_en="Reports", problem=exc.message,
                           problem_vi=reports.period_problem_vi(exc.message), by="service",
                           sheets=reports.SHEETS, first="", last="", headers=[], rows=[],
                           quick=quick, comments=[], comments_more=False,
                           level_names=reports.LEVEL_NAMES), 422
    if identity.page_actor(*identity.SUPERVISORS) is None:
        return _admin_page("admin/reports.html", "reports")  # the guard answers
    reports.ensure_rollups(identity.center(), first, last)
    with identity.center().read() as r:
        headers, rows = reports.table(reports.period_report(r, first, last, by))
        comments = reports.comments(r, first, last, limit=PAGE_COMMENTS + 1)
        quick = quick_periods(r.local_now.date())
    return _admin_page("admin/reports.html", "reports", title_vi="Báo cáo", title_en="Reports",
                       problem=None, by=by, sheets=reports.SHEETS, first=first.isoformat(),
                       last=last.isoformat(), headers=headers, tables=page_tables(by, rows),
                       quick=quick,
                       current_period=current_period(quick, first.isoformat(), last.isoformat(),
                                                     request.args.get("period")),
                       comments=comments[:PAGE_COMMENTS],
                       comments_more=len(comments) > PAGE_COMMENTS,
                       level_names=reports.LEVEL_NAMES)


def _filename(first: date, last: date, ext: str, by: str | None = None) -> str:
    tail = f"-{by}" if by else ""
    return f"layso-bao-cao-{first.isoformat()}-{last.isoformat()}{tail}.{ext}"


def _cell(ws: Any, value: Any, fmt: str | None = None, bold: bool = False) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    cell = WriteOnlyCell(ws, value=value)
    if fmt:
        cell.number_format = fmt
    if bold:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def _sheet(wb: Any, title: str, headers: list[str] | tuple[str, ...], rows: Any,
           widths: list[float], formats: dict[int, str]) -> None:
    ws = wb.create_sheet(title)
    for i, w in enumerate(widths):
        ws.column_dimensions[_column(i)].width = w
    ws.append([_cell(ws, h, bold=True) for h in headers])
    for row in rows:
        ws.append([_cell(ws, v, formats.get(i)) for i, v in enumerate(row)])


def _column(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def workbook(r: Any, first: date, last: date) -> io.BytesIO:
    """The period's workbook: a sheet per grouping, then the citizens' comments.

    Write-only mode streams each row to a temporary file, so memory stays bounded by one
    grouping's rows (at most 366 days), not by the period's tickets. openpyxl is imported
    here, on the first export: it is a sixth of a server's start-up otherwise.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    formats = {1 + i: "0.0" for i in DECIMAL_COLUMNS} | {1 + MEAN_SCORE_COLUMN: "0.00"}
    widths = [30.0] + [12.0] * len(reports.FIGURE_HEADERS)
    for by, title in reports.SHEETS.items():
        headers, rows = reports.table(reports.period_report(r, first, last, by))
        _sheet(wb, title, headers, rows, widths, formats)
        concurrency.let_others_run()  # a year's sheet holds the loop ~0.1-0.3 s: one at a time
    comments = reports.comments(r, first, last)
    _sheet(wb, "Ý kiến công dân", reports.COMMENT_HEADERS,
           (reports.comment_cells(c) for c in comments),
           [26, 10, 24, 14, 24, 7, 16, 28, 60, 28], {})
    # every visit with a dossier code, rated or not (DESIGN: the reports' files list them)
    _sheet(wb, "Hồ sơ", reports.DOSSIER_HEADERS, reports.dossiers(r, first, last),
           [12, 10, 24, 36, 30, 14, 24, 30], {})
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


@bp.get("/reports.xlsx")
def reports_xlsx() -> Any:
    """The period's figures as an XLSX workbook (Vietnamese headers, names, numbers)."""
    answer = leader_refusal()
    if answer is not None:
        return answer
    try:
        first, last = _period()
    except Invalid as exc:
        return _refused(exc)
    reports.ensure_rollups(identity.center(), first, last)
    with identity.center().read() as r:
        data = workbook(r, first, last)
    return Response(data.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={_filename(first, last, 'xlsx')}"})


@bp.get("/reports.csv")
def reports_csv() -> Any:
    """One grouping (`?by=`, default day) of the period as CSV, UTF-8 with BOM."""
    answer = leader_refusal()
    if answer is not None:
        return answer
    try:
        first, last = _period()
        by = reports.parse_by(request.args.get("by"))
    except Invalid as exc:
        return _refused(exc)
    reports.ensure_rollups(identity.center(), first, last)
    with identity.center().read() as r:
        headers, rows = reports.table(reports.period_report(r, first, last, by))
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={_filename(first, last, 'csv', by)}"})
