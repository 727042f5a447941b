"""How a day went: figures for the center's leaders, from tickets, ratings and the event log."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, insert, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement

from layso import db
from layso.queue import ops, reading
from layso.queue.errors import Invalid
from layso.queue.unit import Reader

ACTIVE = ("waiting", "called", "serving")


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max((b - a).total_seconds() / 60.0, 0.0)


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "p90": None, "max": None}
    ordered = sorted(values)
    p90 = ordered[p90_rank(len(ordered)) - 1]  # the rank the period reports use
    return {"mean": round(statistics.fmean(values), 1),
            "median": round(statistics.median(values), 1),
            "p90": round(p90, 1), "max": round(ordered[-1], 1)}


def day_row(r: Reader, day: date | None = None) -> Row[Any] | None:
    """The business day record for a date (default: the day shown now)."""
    if day is None:
        return r.shown_day()
    return r.conn.execute(select(db.business_days).where(db.business_days.c.day == day)).first()


def day_report(r: Reader, day: date | None = None) -> dict[str, Any]:
    """Per service, per counter and per official figures, ratings and the hourly load of a day."""
    d = day_row(r, day)
    services = reading.services_by_id(r)
    counters = reading.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    the_date = d.day if d is not None else (day or r.local_now.date())
    shown = r.shown_day()
    # only the day being worked has live counters: a past day's table is its figures alone
    live = d is None and the_date == r.local_now.date() or (
        d is not None and shown is not None and d.id == shown.id)
    empty: dict[str, Any] = {"day": the_date.isoformat(), "live": live,
             "totals": {"issued": 0, "served": 0, "waiting": 0, "no_show": 0, "cancelled": 0,
                        "expired": 0, "transferred": 0},
             "services": [], "counters": [], "officials": [], "ratings": {"count": 0,
             "mean": None, "scores": {str(i): 0 for i in range(1, 6)}, "reasons": {}},
             "hours": {}, "wait_minutes": _summary([]), "service_minutes": _summary([])}
    if d is None:
        return empty
    tickets = r.conn.execute(select(db.tickets).where(db.tickets.c.day_id == d.id)).all()
    ratings = r.conn.execute(
        select(db.ratings).join(db.tickets, db.tickets.c.id == db.ratings.c.ticket_id)
        .where(db.tickets.c.day_id == d.id)).all()
    rating_by_ticket = {x.ticket_id: x for x in ratings}
    now = r.now
    # absences and transfers as marked when they happened: a no-show reactivated since still
    # counts as one (DESIGN: in both), a transfer counts in the service it left
    marks = r.conn.execute(select(db.ticket_marks).where(
        db.ticket_marks.c.day_id == d.id)).all()

    def marked(kind: str, attr: str | None = None, value: Any = None) -> int:
        return len({m.ticket_id for m in marks if m.kind == kind
                    and (attr is None or getattr(m, attr) == value)})

    def waited(t: Row[Any]) -> float | None:
        if t.called_at is not None:
            return _minutes(t.issued_at, t.called_at)
        if t.state == "waiting":
            return _minutes(t.issued_at, now)
        return None

    out = dict(empty)
    out["totals"] = {
        "issued": len(tickets),
        "served": sum(t.state == "done" for t in tickets),
        "waiting": sum(t.state == "waiting" for t in tickets),
        "no_show": marked("no_show"),
        "cancelled": sum(t.state == "cancelled" for t in tickets),
        # still waiting, called or serving when the day ended
        "expired": sum(t.state == "expired" for t in tickets),
        "transferred": marked("transfer"),
    }
    out["wait_minutes"] = _summary([w for t in tickets if (w := waited(t)) is not None])
    out["service_minutes"] = _summary([m for t in tickets if t.state == "done"
                                       and (m := _minutes(t.started_at, t.finished_at))
                                       is not None])
    svc_rows = []
    for s in sorted(services.values(), key=lambda s: (s.position, s.id)):
        mine = [t for t in tickets if t.service_id == s.id]
        waits = [w for t in mine if (w := waited(t)) is not None]
        svc_rows.append({
            "code": s.code, "prefix": s.prefix, "name": reading.name(s),
            "issued": sum(t.origin_service_id == s.id for t in tickets),
            "waiting": sum(t.state == "waiting" for t in mine),
            "served": sum(t.state == "done" for t in mine),
            "no_show": marked("no_show", "service_id", s.id),
            "transferred": marked("transfer", "service_id", s.id),
            "expired": sum(t.state == "expired" for t in mine),
            "wait_minutes": _summary(waits),
            "over_target": sum(w > s.target_wait_minutes for w in waits),
            "target_wait_minutes": s.target_wait_minutes,
            "service_minutes": _summary([m for t in mine if t.state == "done"
                                         and (m := _minutes(t.started_at, t.finished_at))
                                         is not None]),
        })
    out["services"] = svc_rows

    def group(key: str) -> dict[int, list[Row[Any]]]:
        groups: dict[int, list[Row[Any]]] = {}
        for t in tickets:
            k = getattr(t, key)
            if k is not None and t.state in ("done", "no_show", "called", "serving"):
                groups.setdefault(k, []).append(t)
        return groups

    def figures(rows: list[Row[Any]], attr: str, key: int) -> dict[str, Any]:
        done = [t for t in rows if t.state == "done"]
        scores = [rating_by_ticket[t.id].score for t in done if t.id in rating_by_ticket]
        return {"served": len(done), "no_show": marked("no_show", attr, key),
                "service_minutes": _summary([m for t in done if (m := _minutes(
                    t.started_at, t.finished_at)) is not None]),
                "ratings": len(scores),
                "mean_rating": round(statistics.fmean(scores), 2) if scores else None}

    by_counter, by_officer = group("counter_id"), group("officer_id")
    for mark in marks:  # an absence whose ticket has moved on still belongs to where it was
        if mark.kind == "no_show":
            if mark.counter_id is not None:
                by_counter.setdefault(mark.counter_id, [])
            if mark.officer_id is not None:
                by_officer.setdefault(mark.officer_id, [])
    out["counters"] = [{"number": counters[cid].number, "name": reading.name(counters[cid]),
                        # the counter's state now: only on the day being worked
                        "state": counters[cid].state if live else None,
                        **figures(rows, "counter_id", cid)}
                       for cid, rows in sorted(by_counter.items(),
                                               key=lambda kv: counters[kv[0]].number)]
    out["officials"] = [{"id": uid, "name": users[uid].name or users[uid].username,
                         **figures(rows, "officer_id", uid)}
                        for uid, rows in sorted(by_officer.items())]
    scores = [x.score for x in ratings]
    reasons: dict[str, int] = {}
    for x in ratings:
        if x.reason:
            reasons[x.reason] = reasons.get(x.reason, 0) + 1
    out["ratings"] = {"count": len(scores),
                      "mean": round(statistics.fmean(scores), 2) if scores else None,
                      "scores": {str(i): scores.count(i) for i in range(1, 6)},
                      "reasons": reasons}
    hours: dict[str, int] = {}
    for t in tickets:
        h = f"{t.issued_at.astimezone(r.tz).hour:02d}"
        hours[h] = hours.get(h, 0) + 1
    out["hours"] = dict(sorted(hours.items()))
    return out


CSV_COLUMNS = ("label", "service", "priority", "procedure", "state", "outcome", "issued_at",
               "called_at", "started_at", "finished_at", "wait_minutes", "service_minutes",
               "counter", "official", "recalls", "rating", "rating_reason", "dossier",
               "transferred_from", "no_shows", "rating_comment")


def day_tickets(r: Reader, day: date | None = None) -> list[dict[str, Any]]:
    """Every ticket of a day as flat rows (the CSV export)."""
    d = day_row(r, day)
    if d is None:
        return []
    services = reading.services_by_id(r)
    counters = reading.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    ratings = {x.ticket_id: x for x in r.conn.execute(
        select(db.ratings).join(db.tickets, db.tickets.c.id == db.ratings.c.ticket_id)
        .where(db.tickets.c.day_id == d.id)).all()}
    absences: dict[int, int] = {}
    left: dict[int, list[str]] = {}
    for m in r.conn.execute(select(db.ticket_marks).where(db.ticket_marks.c.day_id == d.id)
                            .order_by(db.ticket_marks.c.id)):
        if m.kind == "no_show":
            absences[m.ticket_id] = absences.get(m.ticket_id, 0) + 1
        else:
            left.setdefault(m.ticket_id, []).append(services[m.service_id].code)
    rows = r.conn.execute(select(db.tickets).where(db.tickets.c.day_id == d.id)
                          .order_by(db.tickets.c.issued_at, db.tickets.c.id)).all()
    out = []
    for t in rows:
        rating = ratings.get(t.id)
        wait = _minutes(t.issued_at, t.called_at)
        serve = _minutes(t.started_at, t.finished_at)
        out.append({
            "label": t.label, "service": services[t.service_id].code, "priority": t.priority,
            "procedure": t.procedure, "state": t.state, "outcome": t.outcome,
            "issued_at": reading.iso(r, t.issued_at), "called_at": reading.iso(r, t.called_at),
            "started_at": reading.iso(r, t.started_at),
            "finished_at": reading.iso(r, t.finished_at),
            "wait_minutes": None if wait is None else round(wait, 1),
            "service_minutes": None if serve is None else round(serve, 1),
            "counter": counters[t.counter_id].number if t.counter_id in counters else None,
            "official": (users[t.officer_id].name or users[t.officer_id].username)
            if t.officer_id in users else None,
            "recalls": t.recalls, "rating": rating.score if rating else None,
            "rating_reason": rating.reason if rating else None,
            "dossier": t.dossier,
            # the services it was transferred out of, first one first
            "transferred_from": " > ".join(left.get(t.id, [])) or None,
            "no_shows": absences.get(t.id, 0),
            "rating_comment": rating.comment if rating else None,
        })
    return out


# -- reports over a period (GET /api/v1/reports) ---------------------------------------------

BYS = ("day", "service", "counter", "officer", "procedure", "hour")
MAX_DAYS = 366
LEVELS = ("very_satisfied", "satisfied", "unsatisfied")
LEVEL_NAMES = {"very_satisfied": {"vi": "Rất hài lòng", "en": "Very satisfied"},
               "satisfied": {"vi": "Hài lòng", "en": "Satisfied"},
               "unsatisfied": {"vi": "Không hài lòng", "en": "Unsatisfied"}}
SCORE_NAMES = {5: {"vi": "Rất hài lòng", "en": "Very satisfied"},
               4: {"vi": "Hài lòng", "en": "Satisfied"},
               3: {"vi": "Bình thường", "en": "Neutral"},
               2: {"vi": "Không hài lòng", "en": "Dissatisfied"},
               1: {"vi": "Rất không hài lòng", "en": "Very dissatisfied"}}
REASON_NAMES = {"long_wait": {"vi": "Thời gian chờ lâu", "en": "Long wait"},
                "attitude": {"vi": "Thái độ phục vụ chưa tốt", "en": "Attitude"},
                "unclear_guidance": {"vi": "Hướng dẫn chưa rõ ràng", "en": "Unclear guidance"},
                "documents_repeatedly": {"vi": "Phải bổ sung giấy tờ nhiều lần",
                                         "en": "Asked for documents repeatedly"},
                "facilities": {"vi": "Cơ sở vật chất chưa tốt", "en": "Facilities"},
                "other": {"vi": "Khác", "en": "Other"}}
WEEKDAYS_VI = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")
COMMENTS_LIMIT = 5000


def level(score: int) -> str:
    """The official three levels: 5 very satisfied, 3–4 satisfied, 1–2 unsatisfied."""
    return "very_satisfied" if score >= 5 else "satisfied" if score >= 3 else "unsatisfied"


#: why a period is refused: (English, as the API says it; Vietnamese, as the page says it)
PERIOD_PROBLEMS = {
    "dates": ("from and to must be dates YYYY-MM-DD",
              "Ngày bắt đầu và ngày kết thúc phải là ngày hợp lệ."),
    "order": ("to must not be before from", "Ngày kết thúc không được trước ngày bắt đầu."),
    "length": (f"a report covers at most {MAX_DAYS} days",
               f"Một báo cáo gồm tối đa {MAX_DAYS} ngày."),
    "by": (f"by must be one of {', '.join(BYS)}", "Không có cách nhóm này."),
}


def period_problem_vi(message: str) -> str:
    """The Vietnamese of a refusal PERIOD_PROBLEMS names (the English itself otherwise)."""
    return next((vi for en, vi in PERIOD_PROBLEMS.values() if en == message), message)


def parse_period(first: str | None, last: str | None) -> tuple[date, date]:
    """`from` and `to` as dates, `to` ≥ `from`, at most 366 days (else Invalid: 422)."""
    try:
        a = date.fromisoformat(first) if isinstance(first, str) and len(first) == 10 else None
        b = date.fromisoformat(last) if isinstance(last, str) and len(last) == 10 else None
    except ValueError:
        a = b = None
    if a is None or b is None:
        raise Invalid("invalid_period", PERIOD_PROBLEMS["dates"][0])
    if b < a:
        raise Invalid("invalid_period", PERIOD_PROBLEMS["order"][0])
    if (b - a).days + 1 > MAX_DAYS:
        raise Invalid("period_too_long", PERIOD_PROBLEMS["length"][0])
    return a, b


def parse_by(by: str | None) -> str:
    """The grouping (default `day`)."""
    by = by or "day"
    if by not in BYS:
        raise Invalid("invalid_by", PERIOD_PROBLEMS["by"][0])
    return by


class _Sql:
    """Dialect-specific pieces (SQLite, PostgreSQL) of the reports' aggregates."""

    def __init__(self, r: Reader, first: date, last: date) -> None:
        self.sqlite = r.conn.dialect.name == "sqlite"
        self.tz = r.tz
        self.first, self.last = first, last

    def epoch(self, col: Any) -> ColumnElement[Any]:
        """Seconds since 1970 of a stored (naive UTC) time."""
        if self.sqlite:
            return (func.julianday(col) - 2440587.5) * 86400.0
        return extract("epoch", col)

    def seconds(self, a: Any, b: Any) -> ColumnElement[Any]:
        """Seconds from a to b."""
        if self.sqlite:
            return (func.julianday(b) - func.julianday(a)) * 86400.0
        return extract("epoch", b) - extract("epoch", a)

    def floor_int(self, x: ColumnElement[Any]) -> ColumnElement[Any]:
        """floor(x) as an integer (x ≥ 0 here; SQLite's CAST truncates, PostgreSQL's rounds)."""
        return cast(x, Integer) if self.sqlite else cast(func.floor(x), Integer)

    def offsets(self) -> list[tuple[date, date, int]]:
        """The center's UTC offset (seconds) over the period, as runs of days with one offset."""
        runs: list[tuple[date, date, int]] = []
        d = self.first
        while d <= self.last:
            off = datetime.combine(d, time(12), self.tz).utcoffset()
            secs = int(off.total_seconds()) if off is not None else 0
            if runs and runs[-1][2] == secs:
                runs[-1] = (runs[-1][0], d, secs)
            else:
                runs.append((d, d, secs))
            d += timedelta(days=1)
        return runs

    def local_hour(self, col: Any, day_col: Any) -> ColumnElement[Any]:
        """The hour of the day (0–23) in the center's time zone of a stored time."""
        runs = self.offsets()
        off: ColumnElement[Any]
        if len(runs) == 1:
            off = literal(runs[0][2])
        else:
            off = case(*[(day_col.between(a, b), literal(o)) for a, b, o in runs[:-1]],
                       else_=literal(runs[-1][2]))
        # + 86400 keeps the sum positive for any offset, so truncation is floor
        return self.floor_int((self.epoch(col) + off + 86400) / 3600) % 24


BUCKET_SECONDS = 30
MAX_BUCKET = 24 * 3600 // BUCKET_SECONDS
SUMS = ("served", "no_show", "cancelled", "transferred", "_wait_n", "_wait_sum", "_within",
        "_serve_n", "_serve_sum", "_r_n", "_r_sum")


def _empty() -> dict[str, Any]:
    """One day's and group's sums as gathered and kept in a rollup: the histograms flat."""
    return {"issued": 0, "served": 0, "no_show": 0, "cancelled": 0, "transferred": 0,
            "_wait_n": 0, "_wait_sum": 0.0, "_within": 0, "_serve_n": 0, "_serve_sum": 0.0,
            "_r_n": 0, "_r_sum": 0, "_scores": [0, 0, 0, 0, 0], "_hw": [], "_hs": []}


def _accumulator() -> dict[str, Any]:
    """Sums to add days' and groups' figures into: the histograms keyed by bucket."""
    return {**_empty(), "_hw": {}, "_hs": {}}


def _add(into: dict[str, Any], f: dict[str, Any]) -> None:
    """Add one group's sums (a day's, from its rollup or live) into another's."""
    for k in SUMS:
        into[k] += f[k]
    if f["issued"] is None or into["issued"] is None:
        into["issued"] = None
    else:
        into["issued"] += f["issued"]
    into["_scores"] = [a + b for a, b in zip(into["_scores"], f["_scores"], strict=True)]
    for h in ("_hw", "_hs"):
        # a day's histogram is flat: bucket, count, seconds, bucket, … (a year's report reads
        # 250 of them per group from the rollups' JSON: nested lists took four times as long)
        src, acc = f[h], into[h]
        for i in range(0, len(src), 3):
            b = src[i]
            was = acc.get(b)
            if was is None:
                acc[b] = [src[i + 1], src[i + 2]]
            else:
                was[0] += src[i + 1]
                was[1] += src[i + 2]


def p90_rank(n: int) -> int:
    """The nearest rank of the 90th percentile among n values (1-based): ⌈0.9 n⌉."""
    return -(-n * 9 // 10)


def _p90(hist: dict[int, list[int]]) -> float | None:
    """The 90th percentile (nearest rank) of a histogram of 30-second buckets, in minutes.

    Each bucket holds its count and the sum of its seconds (whole seconds). The value at
    the rank is placed within its bucket around the bucket's mean, in a window the mean
    allows: exact when the bucket holds one value or equal ones (it was the bucket's lower
    edge, up to 30 s low, and could read below the mean wait), else a linear spread of the
    bucket's values.
    """
    total = sum(n for n, _ in hist.values())
    if not total:
        return None
    rank = p90_rank(total)
    seen = 0
    for b in sorted(hist):
        n, seconds = hist[b]
        if seen + n >= rank:
            low = b * BUCKET_SECONDS
            mean = min(max(seconds / n, low), low + BUCKET_SECONDS)
            width = 2 * min(mean - low, low + BUCKET_SECONDS - mean)
            at = mean + ((rank - seen - 0.5) / n - 0.5) * width
            return round(at / 60, 1)
        seen += n
    return None  # not reached


def _finish(f: dict[str, Any]) -> dict[str, Any]:
    """The FIGURES shape from the sums gathered."""
    scores = f["_scores"]
    by_level = {"very_satisfied": scores[4], "satisfied": scores[2] + scores[3],
                "unsatisfied": scores[0] + scores[1]}
    return {
        "issued": f["issued"], "served": f["served"], "no_show": f["no_show"],
        "cancelled": f["cancelled"], "transferred": f["transferred"],
        "mean_wait_minutes": round(f["_wait_sum"] / f["_wait_n"] / 60, 1) if f["_wait_n"]
        else None,
        "p90_wait_minutes": _p90(f["_hw"]),
        "mean_service_minutes": round(f["_serve_sum"] / f["_serve_n"] / 60, 1)
        if f["_serve_n"] else None,
        "p90_service_minutes": _p90(f["_hs"]),
        "within_target_pct": round(100.0 * f["_within"] / f["_wait_n"], 1) if f["_wait_n"]
        else None,
        "ratings": {"count": f["_r_n"],
                    "mean": round(f["_r_sum"] / f["_r_n"], 2) if f["_r_n"] else None,
                    "by_score": {str(i + 1): scores[i] for i in range(5)},
                    "by_level": by_level},
    }


class _Query:
    """Sums of business days, per (day, group of one `by`); `by` None is the whole day.

    Every figure is an aggregate the database computes (COUNT, SUM, CASE); the 90th
    percentiles come from histograms of 30-second buckets (GROUP BY day, group, bucket), so
    Python reads at most one row per day, group and occupied bucket, never one per ticket,
    and a day's histogram adds to another's: a year's p90 is read from the days' rollups.
    Each bucket also sums its seconds, which places the p90 within its bucket (`_p90`).
    """

    def __init__(self, r: Reader, first: date, last: date,
                 day_ids: list[int] | None = None) -> None:
        self.r = r
        self.q = _Sql(r, first, last)
        self.first, self.last = first, last
        self.day_ids = day_ids
        self.t, self.d, self.s = db.tickets, db.business_days, db.services
        self.m, self.rt = db.ticket_marks, db.ratings

    def in_period(self, day_id: Any) -> Any:
        cond = and_(day_id == self.d.c.id, self.d.c.day.between(self.first, self.last))
        if self.day_ids is not None:
            cond = and_(cond, self.d.c.id.in_(self.day_ids))
        return cond

    def ticket_key(self, by: str | None, *, issued: bool = False) -> ColumnElement[Any]:
        """The group of a ticket row (`issued`: the service it was issued for)."""
        t = self.t.c
        if by is None or by == "day":
            return literal(0)
        return {
            "service": t.origin_service_id if issued else t.service_id,
            "counter": t.counter_id, "officer": t.officer_id, "procedure": t.procedure,
            "hour": self.q.local_hour(t.issued_at, self.d.c.day),
        }[by]

    def rows(self, stmt: Any) -> Iterator[Row[Any]]:
        yield from self.r.conn.execute(stmt)

    @staticmethod
    def clamped(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
        """A duration as the histograms count it: negative clock steps as 0, a day caps."""
        return case((seconds < 0, 0), (seconds > MAX_BUCKET * BUCKET_SECONDS,
                                       MAX_BUCKET * BUCKET_SECONDS), else_=seconds)

    def bucket(self, seconds: ColumnElement[Any]) -> ColumnElement[Any]:
        """The 30-second bucket of a duration."""
        # a millisecond up: julianday's floating point puts 600 s at 599.99999
        return self.q.floor_int((self.clamped(seconds) + 0.001) / BUCKET_SECONDS)

    def gather(self, by: str | None) -> dict[tuple[date, Any], dict[str, Any]]:
        """Every figure's sums per (day, group key); a None key: in no group of this `by`."""
        t, s, m, rt = self.t.c, self.s.c, self.m.c, self.rt.c
        q = self.q
        day = self.d.c.day.label("dd")
        out: dict[tuple[date, Any], dict[str, Any]] = {}

        def fig(row: Row[Any]) -> dict[str, Any]:
            k = (row.dd, row.k)
            if k not in out:
                out[k] = _empty()
            return out[k]

        key = self.ticket_key(by).label("k")
        wait = q.seconds(t.issued_at, t.called_at)
        serve = q.seconds(t.started_at, t.finished_at)
        done = t.state == "done"
        called = t.called_at.isnot(None)
        timed = and_(done, t.started_at.isnot(None))
        joined = self.t.join(self.d, self.in_period(t.day_id))
        main = (select(day, key,
                       func.count().label("n"),
                       func.sum(case((done, 1), else_=0)).label("served"),
                       func.sum(case((t.state == "cancelled", 1), else_=0)).label("cancelled"),
                       func.count(case((called, 1))).label("wait_n"),
                       func.sum(case((called, wait))).label("wait_sum"),
                       func.sum(case((and_(called, wait <= s.target_wait_minutes * 60), 1),
                                     else_=0)).label("within"),
                       func.count(case((timed, 1))).label("serve_n"),
                       func.sum(case((timed, serve))).label("serve_sum"))
                .select_from(joined.join(self.s, s.id == t.service_id))
                .group_by(day, key))
        same_issue_key = by not in ("service", "counter", "officer")
        for row in self.rows(main):
            f = fig(row)
            if same_issue_key:
                f["issued"] = int(row.n)
            f["served"], f["cancelled"] = int(row.served or 0), int(row.cancelled or 0)
            f["_wait_n"], f["_wait_sum"] = int(row.wait_n), float(row.wait_sum or 0)
            f["_within"] = int(row.within or 0)
            f["_serve_n"], f["_serve_sum"] = int(row.serve_n), float(row.serve_sum or 0)
        if by == "service":
            ikey = self.ticket_key(by, issued=True).label("k")
            for row in self.rows(select(day, ikey, func.count().label("n"))
                                 .select_from(joined).group_by(day, ikey)):
                fig(row)["issued"] = int(row.n)

        # absences and transfers: where they happened (the ticket row has moved on since)
        mkey: ColumnElement[Any] = {None: literal(0), "day": literal(0),
                                    "service": m.service_id, "counter": m.counter_id,
                                    "officer": m.officer_id, "procedure": t.procedure,
                                    "hour": q.local_hour(t.issued_at, self.d.c.day)}[by]
        mkey = mkey.label("k")
        marks = (select(day, mkey, m.kind, func.count(func.distinct(m.ticket_id)).label("n"))
                 .select_from(self.m.join(self.d, self.in_period(m.day_id))
                              .join(self.t, t.id == m.ticket_id))
                 .group_by(day, mkey, m.kind))
        for row in self.rows(marks):
            fig(row)["no_show" if row.kind == "no_show" else "transferred"] = int(row.n)

        # ratings: bound to the officer and counter who served, and the service that finished
        rkey = ({"counter": rt.counter_id, "officer": rt.officer_id}[by]
                if by in ("counter", "officer") else self.ticket_key(by)).label("k")
        rates = (select(day, rkey, func.count().label("n"), func.sum(rt.score).label("total"),
                        *[func.sum(case((rt.score == i, 1), else_=0)).label(f"s{i}")
                          for i in range(1, 6)])
                 .select_from(self.rt.join(self.t, t.id == rt.ticket_id)
                              .join(self.d, self.in_period(t.day_id)))
                 .group_by(day, rkey))
        for row in self.rows(rates):
            f = fig(row)
            f["_r_n"], f["_r_sum"] = int(row.n), int(row.total or 0)
            f["_scores"] = [int(getattr(row, f"s{i}") or 0) for i in range(1, 6)]

        for name, value, cond in (("_hw", wait, called), ("_hs", serve, timed)):
            b = self.bucket(value).label("b")
            hist = (select(day, key, b, func.count().label("n"),
                           func.sum(self.clamped(value)).label("total"))
                    .select_from(joined).where(cond).group_by(day, key, b))
            for row in self.rows(hist):
                fig(row)[name] += [int(row.b), int(row.n), round(float(row.total or 0))]
        if by in ("counter", "officer"):
            for f in out.values():
                f["issued"] = None  # a number is issued for a service, not for a counter
        return out


# -- rollups: a past day's sums, kept so a year is read from 250 rows per grouping ------------

ROLLUP_BYS = (None, *BYS)
ROLLUP_CHUNK_DAYS = 31


def _rollup_name(by: str | None) -> str:
    return by or "all"


def ensure_rollups(center: Any, first: date, last: date) -> int:
    """Compute and keep the sums of the period's past days that have none yet; how many.

    A past business day no longer changes (its tickets cannot be acted on), so its sums are
    computed once, in a read transaction, and written in a short write of their own: the
    kiosks wait for no report. Days are done a month at a time.
    """
    with center.db.read() as conn:
        r = Reader(conn=conn, now=center.clock())
        today = r.local_now.date()
        stop = min(last, today - timedelta(days=1))
        if stop < first:
            return 0
        have = select(db.report_rollups.c.day_id).where(db.report_rollups.c.by == "all")
        missing = [(x.id, x.day) for x in conn.execute(
            select(db.business_days.c.id, db.business_days.c.day)
            .where(db.business_days.c.day.between(first, stop),
                   db.business_days.c.id.notin_(have))
            .order_by(db.business_days.c.day))]
    done = 0
    for i in range(0, len(missing), ROLLUP_CHUNK_DAYS):
        chunk = missing[i:i + ROLLUP_CHUNK_DAYS]
        ids = [x[0] for x in chunk]
        by_day = {x[1]: x[0] for x in chunk}
        rows: dict[tuple[int, str], list[Any]] = {(d, _rollup_name(b)): [] for d in ids
                                                   for b in ROLLUP_BYS}
        with center.db.read() as conn:
            r = Reader(conn=conn, now=center.clock())
            query = _Query(r, chunk[0][1], chunk[-1][1], day_ids=ids)
            for by in ROLLUP_BYS:
                for (dd, k), f in query.gather(by).items():
                    rows[(by_day[_as_date(dd)], _rollup_name(by))].append([k, f])
        with center.db.write() as conn:
            taken = {x.day_id for x in conn.execute(
                select(db.report_rollups.c.day_id).where(db.report_rollups.c.day_id.in_(ids),
                                                         db.report_rollups.c.by == "all"))}
            values = [{"day_id": d, "by": b, "data": groups}
                      for (d, b), groups in rows.items() if d not in taken]
            if values:
                conn.execute(insert(db.report_rollups), values)
        done += len(chunk)
    return done


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def _sums(r: Reader, first: date, last: date, by: str | None
          ) -> dict[tuple[date, Any], dict[str, Any]]:
    """The period's sums per (day, key): past days from their rollups, the others live."""
    out: dict[tuple[date, Any], dict[str, Any]] = {}
    rolled: set[int] = set()
    for row in r.conn.execute(
            select(db.report_rollups.c.day_id, db.report_rollups.c.data, db.business_days.c.day)
            .join(db.business_days, db.business_days.c.id == db.report_rollups.c.day_id)
            .where(db.business_days.c.day.between(first, last),
                   db.report_rollups.c.by == _rollup_name(by))):
        rolled.add(row.day_id)
        for k, f in row.data:
            out[(row.day, k)] = f
    live_ids = [x.id for x in r.conn.execute(
        select(db.business_days.c.id).where(db.business_days.c.day.between(first, last)))
        if x.id not in rolled]
    if live_ids:
        for (dd, k), f in _Query(r, first, last, day_ids=live_ids).gather(by).items():
            out[(_as_date(dd), k)] = f
    return out


def _names(r: Reader, by: str) -> dict[Any, tuple[Any, dict[str, str]]]:
    """(key, name) of each group id of a `by` that names things in the catalogue."""
    if by == "service":
        return {s.id: (s.code, reading.name(s)) for s in reading.services_by_id(r).values()}
    if by == "counter":
        return {c.id: (c.number, reading.name(c)) for c in reading.counters_by_id(r).values()}
    if by == "officer":
        return {u.id: (u.username, {"vi": u.name or u.username, "en": u.name or u.username})
                for u in r.conn.execute(select(db.users)).all()}
    if by == "procedure":
        out: dict[Any, tuple[Any, dict[str, str]]] = {}
        for p in r.conn.execute(select(db.procedures).order_by(db.procedures.c.position)):
            out.setdefault(p.code, (p.code, reading.name(p)))
        return out
    return {}


#: the row of the visits with no procedure recorded (`by=procedure`, key "")
NO_PROCEDURE = {"vi": "Không ghi thủ tục", "en": "No procedure recorded"}


def _item_name(by: str, k: Any) -> tuple[Any, dict[str, str]]:
    if by == "day":
        d = k if isinstance(k, date) else date.fromisoformat(str(k)[:10])
        return d.isoformat(), {"vi": f"{WEEKDAYS_VI[d.weekday()]}, {d:%d/%m/%Y}",
                               "en": f"{d:%a} {d.day} {d:%b %Y}"}
    h = int(k)
    return f"{h:02d}", {"vi": f"{h:02d}:00–{h + 1:02d}:00", "en": f"{h:02d}:00–{h + 1:02d}:00"}


def period_report(r: Reader, first: date, last: date, by: str) -> dict[str, Any]:
    """FIGURES for the period's business days, in total and per group of `by` (DESIGN).

    Past days are read from their rollups where `ensure_rollups` has made them, the others
    (today, or a day not yet rolled up) are counted live.
    """
    totals = _accumulator()
    # the totals are their own sums: a group's figures do not add up to them where a ticket
    # is in no group (never at a counter) or in several (absent at two counters)
    for f in _sums(r, first, last, None).values():
        _add(totals, f)
    groups: dict[Any, dict[str, Any]] = {}
    for (dd, k), f in _sums(r, first, last, by).items():
        gk = dd if by == "day" else k
        if gk not in groups:
            groups[gk] = _accumulator()
            if f["issued"] is None:
                groups[gk]["issued"] = None
        _add(groups[gk], f)
    names = _names(r, by)
    items = []
    for k, f in groups.items():
        if k is None and by == "procedure":
            # visits whose official chose no procedure: a row of their own, so the rows
            # account for the total (they were left out, and a day of them showed none)
            items.append({"key": "", "name": NO_PROCEDURE, **_finish(f)})
            continue
        if k is None:
            continue  # not at any counter / by any official
        if by in ("day", "hour"):
            key, name = _item_name(by, k)
        elif k in names:
            key, name = names[k]
        else:
            key, name = k, {"vi": str(k), "en": str(k)}
        items.append({"key": key, "name": name, **_finish(f)})
    if by == "service":
        by_code = {s.code: s for s in reading.services_by_id(r).values()}
        items.sort(key=lambda i: (by_code[i["key"]].position, by_code[i["key"]].id)
                   if i["key"] in by_code else (0, 0))
    else:
        items.sort(key=lambda i: (i["key"] == "", str(type(i["key"])), i["key"]))
    return {"from": first.isoformat(), "to": last.isoformat(), "by": by,
            "totals": _finish(totals), "items": items}


WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def arrivals(r: Reader, first: date, last: date) -> dict[str, Any]:
    """Numbers issued per hour of the day (center time) for each weekday of the period.

    `issued` is the total of the period's days of that weekday, `mean` that total over the
    number of those days that had any ticket: a leader reads when to open more counters.
    """
    per: dict[int, dict[int, int]] = {}
    days: dict[int, set[date]] = {}
    for (dd, k), f in _sums(r, first, last, "hour").items():
        if k is None or not f["issued"]:
            continue
        d = _as_date(dd)
        wd = d.weekday()
        days.setdefault(wd, set()).add(d)
        per.setdefault(wd, {})
        per[wd][int(k)] = per[wd].get(int(k), 0) + int(f["issued"])
    weekdays = []
    for wd in sorted(per):
        n = len(days[wd])
        weekdays.append({"key": wd, "name": {"vi": WEEKDAYS_VI[wd], "en": WEEKDAYS_EN[wd]},
                         "days": n,
                         "hours": {f"{h:02d}": {"issued": v, "mean": round(v / n, 1)}
                                   for h, v in sorted(per[wd].items())}})
    return {"from": first.isoformat(), "to": last.isoformat(), "weekdays": weekdays}


def comments(r: Reader, first: date, last: date, limit: int = COMMENTS_LIMIT
             ) -> list[dict[str, Any]]:
    """The reasons and free text citizens left over the period, newest first (at most `limit`)."""
    t, rt, d = db.tickets.c, db.ratings.c, db.business_days
    services = reading.services_by_id(r)
    counters = reading.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    stmt = (select(rt.at, rt.score, rt.reason, rt.comment, rt.counter_id, rt.officer_id,
                   t.label, t.service_id, t.dossier, d.c.day)
            .select_from(db.ratings.join(db.tickets, t.id == rt.ticket_id)
                         .join(d, and_(d.c.id == t.day_id, d.c.day.between(first, last))))
            .where((rt.reason.isnot(None)) | (rt.comment.isnot(None)))
            .order_by(rt.at.desc(), rt.id.desc()).limit(limit))
    out = []
    for row in r.conn.execute(stmt):
        s = services[row.service_id]
        c = counters.get(row.counter_id)
        u = users.get(row.officer_id)
        out.append({
            "at": reading.iso(r, row.at), "day": row.day.isoformat(), "ticket": row.label,
            "service": reading.service_brief(s),
            "counter": {"number": c.number, "name": reading.name(c)} if c else None,
            "official": (u.name or u.username) if u else None,
            "score": row.score, "level": level(row.score),
            "reason": {"code": row.reason, "name": REASON_NAMES.get(
                row.reason, {"vi": row.reason, "en": row.reason})} if row.reason else None,
            "comment": row.comment, "dossier": row.dossier})
    return out


#: a visit's outcome as the files name it (the counter's dialog shows the same words)
OUTCOME_NAMES_VI = {code: vi for code, vi, _en in ops.OUTCOME_NAMES}
DOSSIER_HEADERS = ("Ngày", "Số thứ tự", "Lĩnh vực", "Thủ tục hành chính", "Kết quả", "Quầy",
                   "Cán bộ, công chức", "Mã hồ sơ")


def dossiers(r: Reader, first: date, last: date) -> list[list[Any]]:
    """Every visit of the period that carries a dossier code, rated or not, oldest first, as
    the cells of DOSSIER_HEADERS (the comments' sheet has only the rated ones)."""
    t, d = db.tickets.c, db.business_days
    services = reading.services_by_id(r)
    counters = reading.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    procedures = {(p.service_id, p.code): p for p in r.conn.execute(
        select(db.procedures)).all()}
    stmt = (select(t.label, t.service_id, t.procedure, t.outcome, t.counter_id, t.officer_id,
                   t.dossier, d.c.day)
            .select_from(db.tickets.join(d, and_(d.c.id == t.day_id,
                                                 d.c.day.between(first, last))))
            .where(t.dossier.isnot(None)).order_by(d.c.day, t.issued_at, t.id))
    out = []
    for row in r.conn.execute(stmt):
        proc = procedures.get((row.service_id, row.procedure))
        c = counters.get(row.counter_id)
        u = users.get(row.officer_id)
        out.append([row.day.strftime("%d/%m/%Y"), row.label,
                    services[row.service_id].name_vi,
                    proc.name_vi if proc is not None else row.procedure,
                    OUTCOME_NAMES_VI.get(row.outcome, row.outcome),
                    c.name_vi if c is not None else None,
                    (u.name or u.username) if u is not None else None, row.dossier])
    return out


# -- the same figures as a table (the files) -------------------------------------------------

SHEETS = {"day": "Theo ngày", "service": "Theo lĩnh vực", "counter": "Theo quầy",
          "officer": "Theo cán bộ", "procedure": "Theo thủ tục", "hour": "Theo giờ"}
GROUP_HEADERS = {"day": "Ngày", "service": "Lĩnh vực", "counter": "Quầy",
                 "officer": "Cán bộ, công chức", "procedure": "Thủ tục hành chính",
                 "hour": "Khung giờ"}
FIGURE_HEADERS = (
    "Số đã cấp", "Đã phục vụ", "Vắng mặt", "Đã hủy", "Chuyển đi",
    "Chờ trung bình (phút)", "Chờ P90 (phút)", "Phục vụ trung bình (phút)",
    "Phục vụ P90 (phút)", "Trong thời gian chờ mục tiêu (%)", "Số lượt đánh giá",
    "Điểm trung bình", "1 điểm", "2 điểm", "3 điểm", "4 điểm", "5 điểm",
    "Rất hài lòng", "Hài lòng", "Không hài lòng")
#: the same headers in English (the page shows both; the files keep the Vietnamese)
GROUP_HEADERS_EN = {"day": "Day", "service": "Service", "counter": "Counter",
                    "officer": "Official", "procedure": "Procedure", "hour": "Hour"}
FIGURE_HEADERS_EN = (
    "Issued", "Served", "No-show", "Cancelled", "Transferred out",
    "Mean wait (min)", "P90 wait (min)", "Mean service (min)",
    "P90 service (min)", "Within the target wait (%)", "Ratings",
    "Mean score", "1 point", "2 points", "3 points", "4 points", "5 points",
    "Very satisfied", "Satisfied", "Unsatisfied")


def figure_cells(f: dict[str, Any]) -> list[Any]:
    """One FIGURES as the cells of a row, in the order of FIGURE_HEADERS."""
    rt = f["ratings"]
    return [f["issued"], f["served"], f["no_show"], f["cancelled"], f["transferred"],
            f["mean_wait_minutes"], f["p90_wait_minutes"], f["mean_service_minutes"],
            f["p90_service_minutes"], f["within_target_pct"], rt["count"], rt["mean"],
            *[rt["by_score"][str(i)] for i in range(1, 6)],
            *[rt["by_level"][k] for k in LEVELS]]


def table(rep: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A report as headers and rows: names (not codes), then the figures, then the totals."""
    headers = [GROUP_HEADERS[rep["by"]], *FIGURE_HEADERS]
    rows = [[i["name"]["vi"], *figure_cells(i)] for i in rep["items"]]
    rows.append(["Tổng cộng", *figure_cells(rep["totals"])])
    return headers, rows


COMMENT_HEADERS = ("Thời điểm", "Số thứ tự", "Lĩnh vực", "Quầy", "Cán bộ, công chức",
                   "Điểm", "Mức độ hài lòng", "Lý do", "Ý kiến", "Mã hồ sơ")


def comment_cells(c: dict[str, Any]) -> list[Any]:
    """A comment as the cells of a row, in the order of COMMENT_HEADERS."""
    return [c["at"], c["ticket"], c["service"]["name"]["vi"],
            c["counter"]["name"]["vi"] if c["counter"] else None, c["official"], c["score"],
            LEVEL_NAMES[c["level"]]["vi"], c["reason"]["name"]["vi"] if c["reason"] else None,
            c["comment"], c["dossier"]]
