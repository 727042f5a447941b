"""Reading the queue: the shapes the API, the pages and the events show."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row

from layso import db
from layso.queue import sql, text
from layso.queue.errors import Invalid
from layso.queue.policy import Candidate, ahead_bounds, call_order, parse_policy
from layso.queue.unit import ACTIVE_STATES, Reader

RECENT_CALLS = 8
MEAN_SAMPLE = 20


def name(row: Row[Any]) -> dict[str, str]:
    """A `{vi, en}` name from a row with name_vi and name_en."""
    return {"vi": row.name_vi, "en": row.name_en}


def iso(r: Reader, value: datetime | None) -> str | None:
    """An ISO-8601 time with the center's offset."""
    return value.astimezone(r.tz).isoformat() if value is not None else None


def services_by_id(r: Reader) -> dict[int, Row[Any]]:
    """Every service, by id."""
    if r._services is None:
        r._services = {s.id: s for s in r.conn.execute(sql.ALL_SERVICES).all()}
    return r._services


def counters_by_id(r: Reader) -> dict[int, Row[Any]]:
    """Every counter, by id."""
    return {c.id: c for c in r.conn.execute(sql.ALL_COUNTERS).all()}


def service_brief(s: Row[Any]) -> dict[str, Any]:
    """`{code, prefix, name}` of a service."""
    return {"code": s.code, "prefix": s.prefix, "name": name(s)}


def officer_brief(r: Reader, user_id: int | None) -> dict[str, Any] | None:
    """`{name}` of the official who served a ticket (as `ticket.completed` names them)."""
    if user_id is None:
        return None
    u = r.conn.execute(select(db.users.c.name, db.users.c.username)
                       .where(db.users.c.id == user_id)).one()
    return {"name": u.name or u.username}


def counter_brief(c: Row[Any] | None) -> dict[str, Any] | None:
    """`{number, name}` of a counter."""
    return None if c is None else {"number": c.number, "name": name(c)}


def parse_hhmm(text: str | None) -> time | None:
    """'07:30' to a time; None stays None."""
    if not text:
        return None
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


def served_service_ids(r: Reader) -> set[int]:
    """The ids of the services that some counter in use serves (closed counters count: they
    open later; retired ones do not)."""
    return set(r.conn.execute(sql.SERVED_SERVICES).scalars().all())


def service_is_open(r: Reader, s: Row[Any], served: set[int] | None = None) -> bool:
    """Whether the service issues numbers now: active, inside its opening hours, and served
    by some counter (a number nobody can call is a promise broken). `served`: the caller's
    `served_service_ids`, when it read them for many services."""
    if not s.active:
        return False
    if s.id not in (served_service_ids(r) if served is None else served):
        return False
    return service_in_hours(r, s)


def service_in_hours(r: Reader, s: Row[Any]) -> bool:
    """Whether now is inside the service's opening hours."""
    now = r.local_now.time()
    opens, closes = parse_hhmm(s.opens_at), parse_hhmm(s.closes_at)
    if opens is not None and now < opens:
        return False
    return not (closes is not None and now >= closes)


def waiting_candidates(r: Reader, service_ids: list[int] | None = None) -> list[Candidate]:
    """Today's waiting tickets as call candidates, optionally for some services only."""
    day = r.shown_day()
    if day is None:
        return []
    if service_ids is None:
        rows = r.conn.execute(sql.WAITING, {"day_id": day.id}).all()
    elif not service_ids:
        return []
    else:
        rows = r.conn.execute(sql.WAITING_IN, {"day_id": day.id, "sids": list(service_ids)}).all()
    return [
        Candidate(id=t.id, service_id=t.service_id, priority=t.priority is not None,
                  queue_at=t.queue_at)
        for t in rows
    ]


def waiting_counts(r: Reader) -> dict[str, int]:
    """How many wait in each service today: `{code: n}` (every service listed)."""
    day = r.shown_day()
    if day is None:
        return counts_by_code(r, {})
    rows = r.conn.execute(sql.WAITING_COUNTS, {"day_id": day.id}).all()
    return counts_by_code(r, {sid: int(n) for sid, n in rows})


def counts_by_code(r: Reader, by_service_id: dict[int, int]) -> dict[str, int]:
    """`{code: n}` in the services' order, every service listed, from `{service id: n}`."""
    svc = services_by_id(r)
    counts = {s.code: 0 for s in sorted(svc.values(), key=lambda s: (s.position, s.id))}
    for sid, n in by_service_id.items():
        counts[svc[sid].code] = n
    return counts


def day_tally(r: Reader, day_id: int) -> tuple[dict[int, int], datetime | None]:
    """One read of a day's tickets: how many wait in each service (by id), and the latest
    queue time of any of them (None when the day has none)."""
    waiting: dict[int, int] = {}
    latest = None
    for state, sid, n, last in r.conn.execute(sql.DAY_TALLY, {"day_id": day_id}):
        if state == "waiting":
            waiting[sid] = int(n)
        if last is not None and (latest is None or last > latest):
            latest = last
    return waiting, latest


def service_order(r: Reader, service_id: int) -> list[int]:
    """Ids of the service's waiting tickets in the order its queue is called."""
    policy = parse_policy(r.center.priority_policy)
    return [c.id for c in call_order(waiting_candidates(r, [service_id]), policy)]


def place_in_queue(r: Reader, t: Row[Any]) -> int:
    """How many waiting tickets of its service are called before this waiting ticket."""
    policy = parse_policy(r.center.priority_policy)
    bounds = ahead_bounds(policy, t.priority is not None, t.queue_at)
    if bounds is None:
        order = service_order(r, t.service_id)
        return order.index(t.id) if t.id in order else 0
    return int(r.conn.execute(sql.AHEAD, {
        "day_id": t.day_id, "service_id": t.service_id, "id": t.id,
        "prio_before": bounds[0], "normal_before": bounds[1]}).scalar_one())


def mean_service_minutes(r: Reader, s: Row[Any]) -> float:
    """Recent mean service time of a service today, falling back to its default."""
    day = r.shown_day()
    default = float(s.default_service_minutes or r.center.default_service_minutes)
    if day is None:
        return default
    rows = r.conn.execute(sql.RECENT_SERVICE_TIMES, {
        "day_id": day.id, "service_id": s.id, "limit": MEAN_SAMPLE}).all()
    if not rows:
        return default
    total = sum(((f - st).total_seconds() for st, f in rows), 0.0)
    return max(total / len(rows) / 60.0, 0.5)


def open_counters_by_service(r: Reader) -> dict[int, int]:
    """How many counters are open (not closed or paused) for each service id."""
    return {sid: int(n) for sid, n in r.conn.execute(sql.OPEN_COUNTERS_BY_SERVICE).all()}


#: per service id: (open counters serving it, recent mean service minutes)
EtaFactors = dict[int, tuple[int, float]]


def eta_factors(r: Reader, services: list[Row[Any]]) -> EtaFactors:
    """The two factors of the wait estimate for several services, read once."""
    open_by_service = open_counters_by_service(r)
    return {s.id: (open_by_service.get(s.id, 0), mean_service_minutes(r, s)) for s in services}


def eta_minutes(r: Reader, s: Row[Any], ahead: int, factors: EtaFactors | None = None) -> int:
    """People ahead ÷ open counters serving the service × recent mean service time."""
    if ahead <= 0:
        return 0
    if factors is None or s.id not in factors:
        factors = eta_factors(r, [s])
    counters, mean = factors[s.id]
    return math.ceil(ahead / max(counters, 1) * mean)


def waiting_figures(r: Reader, s: Row[Any], ahead: int,
                    factors: EtaFactors | None = None) -> dict[str, Any]:
    """What a waiting ticket's view says of its wait, besides its row: its place (`ahead`),
    the estimate, and how many counters are open for its service now (`open_counters`; 0,
    none opened yet or none serves it, is no "almost your turn", whatever the place)."""
    if factors is None or s.id not in factors:
        factors = eta_factors(r, [s])
    return {"ahead": ahead, "eta_minutes": eta_minutes(r, s, ahead, factors),
            "open_counters": factors[s.id][0]}


def of_shown_day(r: Reader, t: Row[Any]) -> bool:
    """Whether a ticket belongs to the day the pages show (not to one that has ended)."""
    day = r.shown_day()
    return day is not None and day.id == t.day_id


#: `moved` not yet known: ticket_view reads it
UNKNOWN: Any = object()


def moved_by_ticket(r: Reader, tickets: list[Row[Any]],
                    services: dict[int, Row[Any]] | None = None
                    ) -> dict[int, dict[str, Any] | None]:
    """Per ticket id, the `moved` of its view (see `moved_from`), read in one query."""
    waiting = [t.id for t in tickets if t.state == "waiting"]
    latest: dict[int, tuple[str, int]] = {}
    if waiting:
        for row in r.conn.execute(sql.MARKS_OF, {"ids": waiting}).all():
            latest[row.ticket_id] = (row.kind, row.service_id)
    services = services or services_by_id(r)
    return {t.id: moved_from(t, latest.get(t.id), services) for t in tickets}


def moved_from(t: Row[Any], latest_mark: tuple[str, int] | None,
               services: dict[int, Row[Any]]) -> dict[str, Any] | None:
    """`{from: service}` while a ticket waits in the queue a transfer moved it to (its latest
    step was that transfer), naming the service it left; else None. A citizen who opens their
    page after the move is told why their number names another service. Service names only."""
    if t.state != "waiting" or latest_mark is None or latest_mark[0] != "transfer":
        return None
    return {"from": service_brief(services[latest_mark[1]])}


def ticket_view(r: Reader, t: Row[Any], *, public: bool = False,
                services: dict[int, Row[Any]] | None = None,
                counters: dict[int, Row[Any]] | None = None,
                ahead: int | None = None,
                factors: EtaFactors | None = None,
                moved: dict[str, Any] | None = UNKNOWN) -> dict[str, Any]:
    """The API's ticket shape; `public` drops the id (the citizen's phone view). A caller that
    knows whether the ticket was moved (see `moved_from`) passes `moved` (no read)."""
    services = services or services_by_id(r)
    s = services[t.service_id]
    state = t.state
    if public and state in ACTIVE_STATES and not of_shown_day(r, t):
        state = "expired"  # its day is over; the next day's first write will record it so
    if moved is UNKNOWN:
        moved = moved_by_ticket(r, [t], services)[t.id] if state == "waiting" else None
    elif state != "waiting":
        moved = None
    counter = None
    if t.counter_id is not None:
        counter = (counters.get(t.counter_id) if counters is not None
                   else r.conn.execute(sql.COUNTER, {"id": t.counter_id}).first())
    if state == "waiting":
        waiting = waiting_figures(r, s, place_in_queue(r, t) if ahead is None else ahead,
                                  factors)
    else:
        waiting = {"ahead": None, "eta_minutes": None, "open_counters": None}
    out: dict[str, Any] = {
        "id": t.id,
        "label": t.label,
        "service": service_brief(s),
        "priority": t.priority,
        "procedure": t.procedure,
        "state": state,
        "issued_at": iso(r, t.issued_at),
        "called_at": iso(r, t.called_at),
        "started_at": iso(r, t.started_at),
        "finished_at": iso(r, t.finished_at),
        "counter": counter_brief(counter) if state in ("called", "serving", "done") else None,
        "recalls": t.recalls,
        "outcome": t.outcome,
        **waiting,
        "status_url": f"{r.public_url}/t/{t.token}",
        "print": {"state": t.print_state},
        "dossier": t.dossier,
        # the language the citizen chose at the kiosk: their phone page and the tablet lead in it
        "lang": t.lang if t.lang in ("vi", "en") else "vi",
        # why a waiting number names another service than the one the citizen chose
        "moved": moved,
    }
    if public:
        # the citizen's page and the printed ticket: no id, and no dossier code (staff only)
        del out["id"], out["dossier"]
    return out


def ticket_brief(r: Reader, t: Row[Any], services: dict[int, Row[Any]] | None = None
                 ) -> dict[str, Any]:
    """What events say of a ticket: nothing that opens its public page."""
    s = (services or services_by_id(r))[t.service_id]
    return {"id": t.id, "label": t.label, "service": service_brief(s), "priority": t.priority,
            "state": t.state, "lang": t.lang if t.lang in ("vi", "en") else "vi"}


def get_ticket_row(r: Reader, ticket_id: int) -> Row[Any] | None:
    """A ticket row by id."""
    return r.conn.execute(sql.TICKET, {"id": ticket_id}).first()


def ticket_by_token(r: Reader, token: str) -> Row[Any] | None:
    """A ticket row by its public token."""
    return r.conn.execute(sql.TICKET_BY_TOKEN, {"token": token}).first()


def counter_services(r: Reader, counter_id: int) -> list[Row[Any]]:
    """A counter's services in its preference order."""
    return list(r.conn.execute(sql.COUNTER_SERVICES, {"counter_id": counter_id}).all())


def counter_view(r: Reader, c: Row[Any], *, brief_ticket: bool = False, current: Any = None,
                 services: list[Row[Any]] | None = None) -> dict[str, Any]:
    """The API's counter shape; events use `brief_ticket` (no status link). A caller holding
    the current ticket's row or the counter's services may pass them (no reads)."""
    t = current
    current = None
    if c.current_ticket_id is not None:
        if t is None or t.id != c.current_ticket_id:
            t = get_ticket_row(r, c.current_ticket_id)
        if t is not None:
            current = ticket_brief(r, t) if brief_ticket else ticket_view(r, t)
    if services is None:
        services = counter_services(r, c.id)
    return {
        "number": c.number,
        "name": name(c),
        "state": c.state,
        "mode": c.mode,
        "services": [s.code for s in services],
        "current": current,
        "pause_reason": c.pause_reason,
        # the English of a reason picked from the dialog's chips (null for a typed one)
        "pause_reason_en": text.pause_reason_en(c.pause_reason),
    }


def procedures_by_service(r: Reader, include_inactive: bool = False
                          ) -> dict[int, list[Row[Any]]]:
    """Every service's procedures in their order, read in one query."""
    q = select(db.procedures).order_by(db.procedures.c.service_id, db.procedures.c.position,
                                       db.procedures.c.id)
    if not include_inactive:
        q = q.where(db.procedures.c.active.is_(True))
    out: dict[int, list[Row[Any]]] = {}
    for p in r.conn.execute(q).all():
        out.setdefault(p.service_id, []).append(p)
    return out


def service_view(r: Reader, s: Row[Any], waiting: int,
                 procs: list[Row[Any]] | None = None,
                 served: set[int] | None = None) -> dict[str, Any]:
    """The API's service shape (`procs`: its offered procedures, `served`: the served
    services' ids, when the caller read them)."""
    if procs is None:
        procs = procedures_by_service_id(r, s.id)
    if served is None:
        served = served_service_ids(r)
    return {
        "code": s.code,
        "prefix": s.prefix,
        "name": name(s),
        "open": service_is_open(r, s, served),
        # false while no counter in use serves it: the kiosk says so instead of issuing
        "served": s.id in served,
        "opens_at": s.opens_at,
        "closes_at": s.closes_at,
        "waiting": waiting,
        "target_wait_minutes": s.target_wait_minutes,
        "daily_cap": s.daily_cap,
        "procedures": [{"code": p.code, "name": name(p)} for p in procs],
    }


def procedures_by_service_id(r: Reader, service_id: int) -> list[Row[Any]]:
    """One service's offered procedures, in order."""
    return list(r.conn.execute(
        select(db.procedures).where(db.procedures.c.service_id == service_id,
                                    db.procedures.c.active.is_(True))
        .order_by(db.procedures.c.position, db.procedures.c.id)).all())


def list_services(r: Reader, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Services in the admin's order, with waiting counts and the open flag."""
    counts = waiting_counts(r)
    q = select(db.services).order_by(db.services.c.position, db.services.c.id)
    if not include_inactive:
        q = q.where(db.services.c.active.is_(True))
    procs = procedures_by_service(r)
    served = served_service_ids(r)
    return [service_view(r, s, counts.get(s.code, 0), procs.get(s.id, []), served)
            for s in r.conn.execute(q).all()]


def list_categories(r: Reader) -> list[dict[str, Any]]:
    """Active priority categories in order."""
    rows = r.conn.execute(
        select(db.priority_categories).where(db.priority_categories.c.active.is_(True))
        .order_by(db.priority_categories.c.position, db.priority_categories.c.id)
    ).all()
    return [{"code": p.code, "name": name(p)} for p in rows]


def queue_for(r: Reader, service_code: str | None = None,
              counter_number: int | None = None) -> list[dict[str, Any]]:
    """Waiting tickets in call order: one service's queue, a counter's, or every service's
    (422 for a service or counter that does not exist)."""
    policy = parse_policy(r.center.priority_policy)
    services = services_by_id(r)
    counters = counters_by_id(r)
    if counter_number is not None:
        c = next((c for c in counters.values() if c.number == counter_number), None)
        if c is None:
            raise Invalid("unknown_counter", f"No counter number {counter_number}")
        sids = [s.id for s in counter_services(r, c.id)]
        order = call_order(waiting_candidates(r, sids), policy, c.normal_streak,
                           sids if c.mode == "ordered" else None)
        aheads = _service_positions(r, policy, sids)
    elif service_code is not None:
        s = next((s for s in services.values() if s.code == service_code), None)
        if s is None:
            raise Invalid("unknown_service", f"No service {service_code!r}")
        order = call_order(waiting_candidates(r, [s.id]), policy)
        aheads = {c.id: i for i, c in enumerate(order)}
    else:
        sids = list(services)
        order = call_order(waiting_candidates(r, sids), policy)
        aheads = _service_positions(r, policy, sids)
    rows = {}
    if order:
        rows = {t.id: t for t in r.conn.execute(
            select(db.tickets).where(db.tickets.c.id.in_([c.id for c in order]))).all()}
    factors = eta_factors(r, list(services.values())) if order else {}
    moved = moved_by_ticket(r, list(rows.values()), services)
    return [ticket_view(r, rows[c.id], services=services, counters=counters, ahead=aheads[c.id],
                        factors=factors, moved=moved[c.id])
            for c in order]


def _service_positions(r: Reader, policy: Any, sids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for sid in sids:
        for i, c in enumerate(call_order(waiting_candidates(r, [sid]), policy)):
            out[c.id] = i
    return out


def recent_calls(r: Reader, limit: int = RECENT_CALLS) -> list[dict[str, Any]]:
    """The last calls of the day, newest first, each ticket once at its newest call (a recall
    moves it to the front; it does not make a second tile). A call whose ticket was released
    since (its official left) or transferred since (it waits for another service) is void:
    that citizen is no longer expected at that counter."""
    day = r.shown_day()
    if day is None:
        return []
    # the current epoch in log order, so a clock set back mid-day neither hides nor reorders
    # the calls made after it; then, by time, the day's calls of earlier epochs (a restored
    # backup starts a new epoch within the same day)
    cols = (db.events.c.payload, db.events.c.at, db.events.c.seq, db.events.c.epoch)
    epoch = select(db.stream.c.epoch).where(db.stream.c.id == 1).scalar_subquery()
    today = db.events.c.at >= day.opened_at
    voided: dict[tuple[Any, Any], int] = {}
    for p in r.conn.execute(select(*cols).where(
            db.events.c.type.in_(("ticket.released", "ticket.transferred")), today)).all():
        key = (p.epoch, (p.payload.get("ticket") or {}).get("id"))
        voided[key] = max(voided.get(key, 0), p.seq)
    # a ticket is called at most 1 + the recall limit times before it is served, transferred
    # or released: that many rows for each ticket shown and each one voided
    want = (limit + len(voided)) * (1 + r.center.recall_limit)
    called = db.events.c.type == "ticket.called"
    rows = list(r.conn.execute(
        select(*cols).where(db.events.c.epoch == epoch, called)
        .order_by(db.events.c.seq.desc()).limit(want)).all())
    if len(rows) < want:
        rows += r.conn.execute(
            select(*cols).where(db.events.c.epoch != epoch, called, today)
            .order_by(db.events.c.at.desc(), db.events.c.seq.desc())
            .limit(want - len(rows))).all()
    shown: list[Any] = []
    seen: set[Any] = set()
    for p in rows:
        tid = (p.payload.get("ticket") or {}).get("id")
        if tid in seen or voided.get((p.epoch, tid), -1) > p.seq:
            continue
        seen.add(tid)
        shown.append(p)
    return [{**p.payload, "at": iso(r, p.at), "seq": p.seq} for p in shown[:limit]]


#: a feedback tablet that (re)connects this soon after its counter completed a visit still
#: asks the citizen to rate it: a network blip at that moment must not cost the rating
RATING_REPLAY_SECONDS = 90


def rating_due(r: Reader, c: Row[Any]) -> dict[str, Any] | None:
    """The `ticket.completed` message a counter's tablet should (still) show, or None.

    That is the counter's last completed visit if it ended in the last RATING_REPLAY_SECONDS,
    has no rating yet, and the official has not called anyone since.
    """
    if c.current_ticket_id is not None:
        return None
    since = r.now - timedelta(seconds=RATING_REPLAY_SECONDS)
    rated = select(db.ratings.c.id).where(db.ratings.c.ticket_id == db.tickets.c.id).exists()
    t = r.conn.execute(
        select(db.tickets).where(db.tickets.c.counter_id == c.id, db.tickets.c.state == "done",
                                 db.tickets.c.finished_at >= since, ~rated)
        .order_by(db.tickets.c.finished_at.desc(), db.tickets.c.id.desc()).limit(1)).first()
    if t is None or r.conn.execute(select(db.tickets.c.id).where(
            db.tickets.c.counter_id == c.id, db.tickets.c.id != t.id,
            db.tickets.c.called_at >= t.finished_at)).first():
        return None  # the official has called someone since (served, absent or moved on)
    return {"type": "ticket.completed", "at": iso(r, t.finished_at), "replay": True,
            "ticket": ticket_brief(r, t), "counter": counter_brief(c), "outcome": t.outcome,
            "officer": officer_brief(r, t.officer_id)}


def board(r: Reader) -> dict[str, Any]:
    """The board snapshot: center, counters, recent calls, waiting counts, notice."""
    from layso import events as ev  # local: views are also used where events are not

    epoch, seq = ev.current(r.conn)
    counters = r.conn.execute(select(db.counters).where(db.counters.c.active.is_(True))
                              .order_by(db.counters.c.number)).all()
    c = r.center
    served = served_service_ids(r)
    return {
        "epoch": epoch,
        "seq": seq,
        "center": {"name": name(c), "timezone": c.timezone},
        "now": iso(r, r.now),
        "day": (d.day.isoformat() if (d := r.shown_day()) else r.local_now.date().isoformat()),
        "counters": [counter_view(r, x, brief_ticket=True) for x in counters],
        "recent": recent_calls(r),
        "waiting": waiting_counts(r),
        "services": [{**service_brief(s), "open": service_is_open(r, s, served)}
                     for s in sorted(services_by_id(r).values(), key=lambda s: (s.position, s.id))
                     if s.active],
        "notice": {"vi": c.notice_vi, "en": c.notice_en},
        "voice": {"mode": c.speech_mode, "english": bool(c.speak_english)},
    }
