"""Ratings: once per completed ticket, tied to its officer and counter, from that counter."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select

from layso import db
from layso.queue import Actor, Conflict, Forbidden, Invalid, NotFound, admin, ops
from tests.queue.helpers import refused, run, run_logged


@pytest.fixture
def tablet(center):
    """The feedback device of counter 1 (and one of counter 2)."""
    from layso import auth

    with center.db.write() as conn:
        ids = {n: conn.execute(select(db.counters.c.id).where(db.counters.c.number == n)).scalar()
               for n in (1, 2)}
        out = {}
        for n, cid in ids.items():
            auth.add_device(conn, f"Tablet {n}", "feedback", cid)
            dev = conn.execute(select(db.devices).where(db.devices.c.name == f"Tablet {n}")).one()
            out[n] = Actor(kind="device", id=dev.id, role="feedback", counter_id=cid)
    return out


def served(center, officers, kiosk, number=1, who="o1", outcome="done"):
    t = run(center, ops.issue, kiosk, "civil-status")
    run(center, ops.open_counter, officers[who], number)
    run(center, ops.call_next, officers[who], number)
    run(center, ops.start, officers[who], number)
    run(center, ops.complete, officers[who], number, outcome)
    return t


def ratings(center):
    with center.db.read() as conn:
        return conn.execute(select(db.ratings)).all()


def test_a_completed_visit_is_rated_once_for_its_officer_and_counter(
        center, officers, kiosk_actor, tablet):
    t = served(center, officers, kiosk_actor)
    rating, types = run_logged(center, ops.rate, tablet[1], t["id"], 2, "long_wait", " Chờ lâu ")
    assert types == ["rating.recorded"]
    assert (rating["score"], rating["reason"], rating["counter"]["number"]) == (2, "long_wait", 1)
    (row,) = ratings(center)
    assert (row.ticket_id, row.officer_id, row.device_id, row.score, row.comment) == (
        t["id"], officers["o1"].id, tablet[1].id, 2, "Chờ lâu")
    assert row.counter_id == tablet[1].counter_id
    refused(center, Conflict, "already_rated", ops.rate, tablet[1], t["id"], 5)


def test_a_good_score_keeps_no_reason(center, officers, kiosk_actor, tablet):
    t = served(center, officers, kiosk_actor)
    rating = run(center, ops.rate, tablet[1], t["id"], 4, "attitude")
    assert rating["reason"] is None
    assert ratings(center)[0].reason is None


def test_only_completed_tickets_are_rated(center, officers, kiosk_actor, tablet):
    o1 = officers["o1"]
    waiting = run(center, ops.issue, kiosk_actor, "civil-status")
    refused(center, Conflict, "not_completed", ops.rate, tablet[1], waiting["id"], 5)
    run(center, ops.open_counter, o1, 1)
    run(center, ops.call_next, o1, 1)
    refused(center, Conflict, "not_completed", ops.rate, tablet[1], waiting["id"], 5)
    run(center, ops.start, o1, 1)
    refused(center, Conflict, "not_completed", ops.rate, tablet[1], waiting["id"], 5)
    run(center, ops.transfer, o1, 1, "certification", "back")
    run(center, ops.call_next, o1, 1)
    run(center, ops.no_show, o1, 1)
    refused(center, Conflict, "not_completed", ops.rate, tablet[1], waiting["id"], 5)
    other = run(center, ops.issue, kiosk_actor, "land")
    run(center, ops.cancel, o1, other["id"])
    refused(center, Conflict, "not_completed", ops.rate, tablet[1], other["id"], 5)
    refused(center, NotFound, "unknown_ticket", ops.rate, tablet[1], 9999, 5)


def test_a_tablet_rates_only_visits_of_its_own_counter(center, officers, kiosk_actor, tablet):
    t = served(center, officers, kiosk_actor, number=2, who="o2")
    refused(center, Forbidden, "other_counter", ops.rate, tablet[1], t["id"], 5)
    assert run(center, ops.rate, tablet[2], t["id"], 5)["score"] == 5


@pytest.mark.parametrize("score", [0, 6, -1, 3.5, True, "5", None])
def test_the_score_is_a_whole_number_from_1_to_5(center, officers, kiosk_actor, tablet, score):
    t = served(center, officers, kiosk_actor)
    refused(center, Invalid, "invalid_score", ops.rate, tablet[1], t["id"], score)


@pytest.mark.parametrize("score,allowed", [(1, True), (2, False), (3, False), (4, True),
                                           (5, True)])
def test_a_three_level_center_takes_only_the_three_level_scores(
        center, officers, kiosk_actor, tablet, score, allowed):
    run(center, admin.update_center, Actor(kind="user", id=None, role="admin", name="Quản trị"),
        {"rating_scale": "three"})
    t = served(center, officers, kiosk_actor)
    if allowed:
        assert run(center, ops.rate, tablet[1], t["id"], score)["score"] == score
    else:
        refused(center, Invalid, "invalid_score", ops.rate, tablet[1], t["id"], score)
        assert ratings(center) == []


def test_rating_input_checks(center, officers, kiosk_actor, tablet):
    t = served(center, officers, kiosk_actor)
    for ref in ("1", True, None, 1.0):
        refused(center, Invalid, "invalid_ticket", ops.rate, tablet[1], ref, 5)
    refused(center, Invalid, "invalid_reason", ops.rate, tablet[1], t["id"], 1, "rude")
    refused(center, Invalid, "invalid_comment", ops.rate, tablet[1], t["id"], 1, None, "x" * 501)
    refused(center, Invalid, "invalid_comment", ops.rate, tablet[1], t["id"], 1, None, 7)
    text = "Cán bộ nhiệt tình"
    run(center, ops.rate, tablet[1], t["id"], 5, None, unicodedata.normalize("NFD", text))
    assert ratings(center)[0].comment == unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("score,kept", [(1, True), (2, True), (3, True), (4, False), (5, False)])
def test_a_reason_is_recorded_at_3_and_below_only(center, officers, kiosk_actor, tablet,
                                                  score, kept):
    t = served(center, officers, kiosk_actor)
    rating = run(center, ops.rate, tablet[1], t["id"], score, "unclear_guidance")
    expected = "unclear_guidance" if kept else None
    assert rating["reason"] == ratings(center)[0].reason == expected


def test_a_low_score_may_skip_the_reason(center, officers, kiosk_actor, tablet):
    # the tablet asks for a reason at 3 or below, and the citizen may skip it (reason?)
    t = served(center, officers, kiosk_actor)
    assert run(center, ops.rate, tablet[1], t["id"], 1)["reason"] is None
    assert (ratings(center)[0].score, ratings(center)[0].reason) == (1, None)


def test_the_rating_is_bound_to_the_officer_who_served_the_ticket(
        center, officers, kiosk_actor, tablet):
    t = run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    run(center, ops.transfer, officers["o1"], 1, "certification", "back")
    run(center, ops.open_counter, officers["o2"], 2)
    run(center, ops.call_next, officers["o2"], 2)
    run(center, ops.start, officers["o2"], 2)
    run(center, ops.complete, officers["o2"], 2, "done")
    refused(center, Forbidden, "other_counter", ops.rate, tablet[1], t["id"], 5)
    run(center, ops.rate, tablet[2], t["id"], 5)
    (row,) = ratings(center)
    assert (row.ticket_id, row.officer_id, row.counter_id) == (
        t["id"], officers["o2"].id, tablet[2].counter_id)


def test_only_the_visit_just_finished_may_be_rated(center, officers, kiosk_actor, tablet):
    # a tablet (or a stolen tablet token) cannot rate the counter's earlier visits
    first = served(center, officers, kiosk_actor)
    second = served(center, officers, kiosk_actor)
    refused(center, Conflict, "rating_closed", ops.rate, tablet[1], first["id"], 1, "attitude")
    run(center, ops.rate, tablet[1], second["id"], 5)
    assert [r.ticket_id for r in ratings(center)] == [second["id"]]


def test_the_next_citizen_called_but_not_yet_started_leaves_the_rating_open(
        center, officers, kiosk_actor, tablet):
    # the official calls the next number while the citizen is still at the tablet
    t = served(center, officers, kiosk_actor)
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.call_next, officers["o1"], 1)
    run(center, ops.rate, tablet[1], t["id"], 4)
    assert len(ratings(center)) == 1


def test_a_visit_can_be_rated_only_for_a_limited_time(center, officers, kiosk_actor, tablet,
                                                       clock):
    t = served(center, officers, kiosk_actor)
    clock.advance(minutes=ops.RATING_WINDOW_MINUTES, seconds=1)
    refused(center, Conflict, "rating_closed", ops.rate, tablet[1], t["id"], 5)
    other = served(center, officers, kiosk_actor)
    clock.advance(minutes=ops.RATING_WINDOW_MINUTES - 1)
    run(center, ops.rate, tablet[1], other["id"], 5)
