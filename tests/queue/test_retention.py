"""Retention: a citizen's free text and spent tokens do not stay forever (issue 16, point 14)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from layso import auth, db
from layso.queue import ops
from layso.queue.retention import purge
from tests.queue.helpers import run


def rated(center, officers, kiosk, tablet_actor, comment):
    t = run(center, ops.issue, kiosk, "civil-status")
    o = officers["o1"]
    run(center, ops.open_counter, o, 1)
    run(center, ops.call_next, o, 1)
    run(center, ops.start, o, 1)
    run(center, ops.complete, o, 1, "done")
    run(center, ops.rate, tablet_actor, t["id"], 2, "long_wait", comment)
    return t


def tablet(center):
    from layso.queue import Actor

    with center.db.write() as conn:
        cid = conn.execute(select(db.counters.c.id).where(db.counters.c.number == 1)).scalar()
        auth.add_device(conn, "Tablet", "feedback", cid)
        dev = conn.execute(select(db.devices).where(db.devices.c.name == "Tablet")).one()
    return Actor(kind="device", id=dev.id, role="feedback", counter_id=cid)


def test_old_comments_are_cleared_and_scores_kept(center, officers, kiosk_actor, clock):
    t = rated(center, officers, kiosk_actor, tablet(center), "Gọi tôi: 0912 345 678")
    with center.db.write() as conn:
        assert purge(conn, clock() + timedelta(days=89), 90, None)["comments"] == 0
    with center.db.write() as conn:
        assert purge(conn, clock() + timedelta(days=91), 90, None)["comments"] == 1
    with center.db.read() as conn:
        row = conn.execute(select(db.ratings).where(db.ratings.c.ticket_id == t["id"])).one()
    assert (row.comment, row.score, row.reason) == (None, 2, "long_wait")


def test_spent_tokens_go_and_live_ones_stay(center, officers, clock):
    with center.db.write() as conn:
        uid = officers["o1"].id
        live = auth.issue_user_token(conn, uid, 12)
        gone = auth.issue_user_token(conn, uid, 12)
        auth.revoke_user_token(conn, gone)
    later = db.utcnow() + timedelta(days=31)  # tokens are stamped with the real clock
    with center.db.write() as conn:
        # 31 days on, every token (12 hours' life) has expired: all go
        assert purge(conn, later, None, 30)["tokens"] >= 2
    with center.db.write() as conn:
        fresh = auth.issue_user_token(conn, uid, 12)
        assert purge(conn, db.utcnow(), None, 30)["tokens"] == 0
        assert auth.actor_for_token(conn, fresh) is not None
    assert live and gone


def test_opening_a_day_applies_the_retention(center, officers, kiosk_actor, clock):
    rated(center, officers, kiosk_actor, tablet(center), "số điện thoại của tôi")
    center.retention = (1, None)
    clock.advance(days=2)
    run(center, ops.issue, kiosk_actor, "civil-status")  # opens a new day
    with center.db.read() as conn:
        assert conn.execute(select(db.ratings.c.comment)).scalar() is None
