"""A wall clock that jumps opens no business day; a day's end gives its open tickets a clear
end (issue 16, point 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from layso import db
from layso.events import Hub
from layso.queue import Center, ops, reading, reports
from tests.queue.helpers import run


class Steady:
    """A monotonic clock that moves with the test clock's real time, never with its jumps."""

    def __init__(self) -> None:
        self.now = 1000.0


@pytest.fixture
def guarded(center, clock):
    """The demo center whose clock is checked against a monotonic clock."""
    mono = Steady()
    c = Center(center.db, Hub(), public_url="http://layso.test", monotonic=lambda: mono.now)

    def elapse(**kw):  # real time passes: both clocks move
        clock.advance(**kw)
        mono.now += timedelta(**kw).total_seconds()

    def jump(**kw):  # only the wall clock moves
        clock.advance(**kw)

    return c, elapse, jump


def issue(c, kiosk, service="civil-status"):
    return run(c, ops.issue, kiosk, service)


def log_types(c):
    with c.db.read() as conn:
        return [r.type for r in conn.execute(select(db.events.c.type)
                                              .order_by(db.events.c.at, db.events.c.seq))]


def test_a_forward_jump_opens_no_day_and_alerts_the_supervisors(guarded, kiosk_actor):
    c, elapse, jump = guarded
    assert issue(c, kiosk_actor)["label"] == "A001"
    elapse(minutes=5)
    jump(days=1)  # the wall clock leaps a day forward
    assert issue(c, kiosk_actor)["label"] == "A002"  # the same day goes on
    assert issue(c, kiosk_actor)["label"] == "A003"
    assert log_types(c).count("clock.jumped") == 1  # once, not per ticket
    with c.read() as r:
        assert len(reading.board(r)["counters"]) == 5 and r.shown_day() is not None
    jump(days=-1)  # the clock is fixed
    elapse(minutes=1)
    assert issue(c, kiosk_actor)["label"] == "A004"
    with c.db.read() as conn:
        assert len(conn.execute(select(db.business_days)).all()) == 1
    # the next real day opens as it should, numbering from one
    elapse(days=1)
    assert issue(c, kiosk_actor)["label"] == "A001"


def test_a_new_time_that_holds_steady_is_accepted(guarded, kiosk_actor):
    c, elapse, jump = guarded
    issue(c, kiosk_actor)
    jump(days=1)  # someone set the right date on a box that booted a day behind
    assert issue(c, kiosk_actor)["label"] == "A002"
    elapse(minutes=31)
    assert issue(c, kiosk_actor)["label"] == "A001"  # the new day, once the time held


def test_tickets_left_at_the_days_end_expire_and_are_counted(guarded, kiosk_actor, officers):
    c, elapse, _jump = guarded
    waiting = issue(c, kiosk_actor)
    called = issue(c, kiosk_actor, "land")
    serving = issue(c, kiosk_actor, "social")
    run(c, ops.open_counter, officers["o1"], 3)
    run(c, ops.call_next, officers["o1"], 3)
    run(c, ops.open_counter, officers["o2"], 4)
    run(c, ops.call_next, officers["o2"], 4)
    run(c, ops.start, officers["o2"], 4)
    with c.read() as r:
        yesterday = r.shown_day().day
    elapse(days=1)
    issue(c, kiosk_actor)  # the first ticket of the next day closes the last one
    with c.db.read() as conn:
        states = {t.id: t.state for t in conn.execute(select(db.tickets)).all()}
    assert [states[t["id"]] for t in (waiting, called, serving)] == ["expired"] * 3
    with c.db.read() as conn:
        opened = conn.execute(select(db.events.c.payload).where(
            db.events.c.type == "day.opened").order_by(db.events.c.at.desc())).scalars().first()
    assert opened["expired"] == {"day": yesterday.isoformat(), "tickets": 3}
    with c.read() as r:
        rep = reports.day_report(r, yesterday)
        assert rep["totals"]["expired"] == 3 and rep["totals"]["waiting"] == 0
        # the citizen's phone says so
        row = reading.get_ticket_row(r, waiting["id"])
        assert reading.ticket_view(r, row, public=True)["state"] == "expired"
