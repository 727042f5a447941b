"""How a day went: figures for the center's leaders, from tickets, ratings and the event log."""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row

from layso import db
from layso.queue import views
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
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
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
    services = views.services_by_id(r)
    counters = views.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    the_date = d.day if d is not None else (day or r.local_now.date())
    empty = {"day": the_date.isoformat(), "totals": {"issued": 0, "served": 0, "waiting": 0,
                                                      "no_show": 0, "cancelled": 0,
                                                      "expired": 0},
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
        "no_show": sum(t.state == "no_show" for t in tickets),
        "cancelled": sum(t.state == "cancelled" for t in tickets),
        # still waiting, called or serving when the day ended
        "expired": sum(t.state == "expired" for t in tickets),
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
            "code": s.code, "prefix": s.prefix, "name": views.name(s),
            "issued": sum(t.origin_service_id == s.id for t in tickets),
            "waiting": sum(t.state == "waiting" for t in mine),
            "served": sum(t.state == "done" for t in mine),
            "no_show": sum(t.state == "no_show" for t in mine),
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

    def figures(rows: list[Row[Any]]) -> dict[str, Any]:
        done = [t for t in rows if t.state == "done"]
        scores = [rating_by_ticket[t.id].score for t in done if t.id in rating_by_ticket]
        return {"served": len(done), "no_show": sum(t.state == "no_show" for t in rows),
                "service_minutes": _summary([m for t in done if (m := _minutes(
                    t.started_at, t.finished_at)) is not None]),
                "ratings": len(scores),
                "mean_rating": round(statistics.fmean(scores), 2) if scores else None}

    out["counters"] = [{"number": counters[cid].number, "name": views.name(counters[cid]),
                        "state": counters[cid].state, **figures(rows)}
                       for cid, rows in sorted(group("counter_id").items(),
                                               key=lambda kv: counters[kv[0]].number)]
    out["officials"] = [{"id": uid, "name": users[uid].name or users[uid].username,
                         **figures(rows)}
                        for uid, rows in sorted(group("officer_id").items())]
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
               "counter", "official", "recalls", "rating", "rating_reason")


def day_tickets(r: Reader, day: date | None = None) -> list[dict[str, Any]]:
    """Every ticket of a day as flat rows (the CSV export)."""
    d = day_row(r, day)
    if d is None:
        return []
    services = views.services_by_id(r)
    counters = views.counters_by_id(r)
    users = {u.id: u for u in r.conn.execute(select(db.users)).all()}
    ratings = {x.ticket_id: x for x in r.conn.execute(select(db.ratings)).all()}
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
            "issued_at": views.iso(r, t.issued_at), "called_at": views.iso(r, t.called_at),
            "started_at": views.iso(r, t.started_at), "finished_at": views.iso(r, t.finished_at),
            "wait_minutes": None if wait is None else round(wait, 1),
            "service_minutes": None if serve is None else round(serve, 1),
            "counter": counters[t.counter_id].number if t.counter_id in counters else None,
            "official": (users[t.officer_id].name or users[t.officer_id].username)
            if t.officer_id in users else None,
            "recalls": t.recalls, "rating": rating.score if rating else None,
            "rating_reason": rating.reason if rating else None,
        })
    return out
