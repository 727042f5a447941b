"""An official's figures for today and what their terminal needs beside the queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from layso import db
from layso.queue import reading
from layso.queue.unit import Reader

ABSENT_SHOWN = 30


def officer_today(r: Reader, officer_id: int) -> dict[str, Any]:
    """Served count, mean service minutes and mean rating of one official, today's business day."""
    held = [c.number for c in r.conn.execute(
        select(db.counters.c.number).where(db.counters.c.officer_id == officer_id)
        .order_by(db.counters.c.number)).all()]
    out: dict[str, Any] = {
        "day": None, "now": reading.iso(r, r.now), "served": 0, "no_show": 0,
        "mean_service_minutes": None, "ratings": 0, "mean_rating": None, "counters": held,
        "recall_limit": int(r.center.recall_limit),
    }
    day = r.shown_day()
    if day is None:
        return out
    out["day"] = day.day.isoformat()
    t = db.tickets
    done = r.conn.execute(select(t.c.started_at, t.c.finished_at).where(
        t.c.day_id == day.id, t.c.officer_id == officer_id, t.c.state == "done")).all()
    out["served"] = len(done)
    spans = [(f - s).total_seconds() for s, f in done if s is not None and f is not None]
    if spans:
        out["mean_service_minutes"] = round(sum(spans) / len(spans) / 60.0, 1)
    out["no_show"] = int(r.conn.execute(select(func.count()).select_from(t).where(
        t.c.day_id == day.id, t.c.officer_id == officer_id, t.c.state == "no_show")).scalar_one())
    n, mean = r.conn.execute(
        select(func.count(db.ratings.c.id), func.avg(db.ratings.c.score))
        .select_from(db.ratings.join(t, t.c.id == db.ratings.c.ticket_id))
        .where(t.c.day_id == day.id, db.ratings.c.officer_id == officer_id)).one()
    out["ratings"] = int(n)
    out["mean_rating"] = round(float(mean), 2) if n else None
    return out


def absent_for_counter(r: Reader, number: int) -> list[dict[str, Any]] | None:
    """Today's absent (no-show) tickets of a counter's services, latest first; None: no counter."""
    c = r.conn.execute(select(db.counters).where(db.counters.c.number == number)).first()
    if c is None:
        return None
    day = r.shown_day()
    sids = [s.id for s in reading.counter_services(r, c.id)]
    if day is None or not sids:
        return []
    rows = r.conn.execute(
        select(db.tickets).where(db.tickets.c.day_id == day.id,
                                 db.tickets.c.state == "no_show",
                                 db.tickets.c.service_id.in_(sids))
        .order_by(db.tickets.c.finished_at.desc(), db.tickets.c.id.desc())
        .limit(ABSENT_SHOWN)).all()
    services = reading.services_by_id(r)
    counters = reading.counters_by_id(r)
    return [reading.ticket_view(r, t, services=services, counters=counters) for t in rows]


def counter_officer(r: Reader, counter_id: int) -> dict[str, Any] | None:
    """`{name}` of the official who holds a counter open, or None."""
    row = r.conn.execute(
        select(db.users.c.name, db.users.c.username)
        .join(db.counters, db.counters.c.officer_id == db.users.c.id)
        .where(db.counters.c.id == counter_id)).first()
    return None if row is None else {"name": row.name or row.username}


def device_profile(r: Reader, counter_id: int) -> dict[str, Any]:
    """What a device bound to a counter shows: the counter, and the official holding it open
    (the feedback tablet greets the citizen with that name)."""
    c = r.conn.execute(select(db.counters).where(db.counters.c.id == counter_id)).first()
    return {"counter": reading.counter_brief(c), "officer": counter_officer(r, counter_id)}
