"""Statements built once: building a SQLAlchemy statement costs more than running it.

The hot paths (issuing, calling, the views they answer with) run these with bound values.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select

from layso import db

STREAM = select(db.stream.c.epoch, db.stream.c.seq).where(db.stream.c.id == 1)

TICKET = select(db.tickets).where(db.tickets.c.id == bindparam("id"))
TICKET_BY_TOKEN = select(db.tickets).where(db.tickets.c.token == bindparam("token"))
COUNTER = select(db.counters).where(db.counters.c.id == bindparam("id"))
COUNTER_BY_NUMBER = select(db.counters).where(db.counters.c.number == bindparam("number"))
SERVICE = select(db.services).where(db.services.c.id == bindparam("id"))
USER = select(db.users).where(db.users.c.id == bindparam("id"))
#: the marks of some tickets, in the order they were made (the last one is the latest step)
MARKS_OF = (select(db.ticket_marks.c.ticket_id, db.ticket_marks.c.kind,
                   db.ticket_marks.c.service_id)
            .where(db.ticket_marks.c.ticket_id.in_(bindparam("ids", expanding=True)))
            .order_by(db.ticket_marks.c.id))
ALL_SERVICES = select(db.services)
ALL_COUNTERS = select(db.counters)
ACTIVE_CATEGORY = select(db.priority_categories.c.id).where(
    db.priority_categories.c.code == bindparam("code"),
    db.priority_categories.c.active.is_(True))
PROCEDURE = select(db.procedures.c.id).where(
    db.procedures.c.service_id == bindparam("service_id"),
    db.procedures.c.code == bindparam("code"))
#: what a kiosk may still offer: a retired procedure is only kept for history
ACTIVE_PROCEDURE = PROCEDURE.where(db.procedures.c.active.is_(True))

WAITING = select(db.tickets.c.id, db.tickets.c.service_id, db.tickets.c.priority,
                 db.tickets.c.queue_at).where(
    db.tickets.c.day_id == bindparam("day_id"), db.tickets.c.state == "waiting")
WAITING_IN = WAITING.where(db.tickets.c.service_id.in_(bindparam("sids", expanding=True)))
WAITING_COUNTS = (select(db.tickets.c.service_id, func.count())
                  .where(db.tickets.c.day_id == bindparam("day_id"),
                         db.tickets.c.state == "waiting")
                  .group_by(db.tickets.c.service_id))
# one pass over the day's tickets (the index holds every column): how many wait in each
# service, and the latest queue time of any state (the back of the day's queues)
DAY_TALLY = (select(db.tickets.c.state, db.tickets.c.service_id, func.count(),
                    func.max(db.tickets.c.queue_at))
             .where(db.tickets.c.day_id == bindparam("day_id"))
             .group_by(db.tickets.c.state, db.tickets.c.service_id))
RECENT_SERVICE_TIMES = (
    select(db.tickets.c.started_at, db.tickets.c.finished_at)
    .where(db.tickets.c.day_id == bindparam("day_id"),
           db.tickets.c.service_id == bindparam("service_id"),
           db.tickets.c.state == "done", db.tickets.c.started_at.is_not(None))
    .order_by(db.tickets.c.finished_at.desc())
    .limit(bindparam("limit")))
OPEN_COUNTERS_BY_SERVICE = (
    select(db.counter_services.c.service_id, func.count())
    .select_from(db.counters.join(db.counter_services))
    .where(db.counters.c.state.in_(("open", "calling", "serving")))
    .group_by(db.counter_services.c.service_id))
#: the services some counter in use (not retired) serves: the only ones a citizen can be called for
SERVED_SERVICES = (
    select(db.counter_services.c.service_id).distinct()
    .select_from(db.counters.join(db.counter_services))
    .where(db.counters.c.active.is_(True)))
COUNTER_SERVICES = (
    select(db.services)
    .join(db.counter_services, db.counter_services.c.service_id == db.services.c.id)
    .where(db.counter_services.c.counter_id == bindparam("counter_id"))
    .order_by(db.counter_services.c.position, db.services.c.id))
_PRIO_BEFORE = bindparam("prio_before", type_=db.UTCDateTime)
_NORMAL_BEFORE = bindparam("normal_before", type_=db.UTCDateTime)
# a ticket is ahead when its class's key is smaller, or equal with a smaller id (call_order)
AHEAD = select(func.count()).where(
    db.tickets.c.day_id == bindparam("day_id"), db.tickets.c.state == "waiting",
    db.tickets.c.service_id == bindparam("service_id"), db.tickets.c.id != bindparam("id"),
    or_(and_(db.tickets.c.priority.is_not(None),
             or_(db.tickets.c.queue_at < _PRIO_BEFORE,
                 and_(db.tickets.c.queue_at == _PRIO_BEFORE,
                      db.tickets.c.id < bindparam("id")))),
        and_(db.tickets.c.priority.is_(None),
             or_(db.tickets.c.queue_at < _NORMAL_BEFORE,
                 and_(db.tickets.c.queue_at == _NORMAL_BEFORE,
                      db.tickets.c.id < bindparam("id"))))))
