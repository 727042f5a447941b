"""Wait estimates: people ahead ÷ open counters serving the service × today's mean service time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from layso import db
from layso.queue import ops, reading
from layso.queue.errors import Invalid
from tests.queue.helpers import run, set_center, set_service, ticket


def view(center, ticket_id):
    with center.read() as r:
        return reading.ticket_view(r, ticket(center, ticket_id))


def issue(center, kiosk, service="civil-status", n=1, **kw):
    return [run(center, ops.issue, kiosk, service, **kw) for _ in range(n)]


def serve(center, officer, number, minutes, clock):
    """Call, start, and after `minutes` complete one ticket at a counter."""
    run(center, ops.call_next, officer, number)
    run(center, ops.start, officer, number)
    clock.advance(minutes=minutes)
    run(center, ops.complete, officer, number, "done")


def test_first_in_line_waits_nothing(center, kiosk_actor):
    (t,) = issue(center, kiosk_actor)
    assert (t["ahead"], t["eta_minutes"]) == (0, 0)


def test_estimate_divides_by_the_open_counters_serving_the_service(
        center, officers, kiosk_actor):
    *_, last = issue(center, kiosk_actor, n=3)
    # nobody open yet: as if one counter served it (the default mean is 5 minutes)
    assert (view(center, last["id"])["ahead"], view(center, last["id"])["eta_minutes"]) == (2, 10)
    run(center, ops.open_counter, officers["o1"], 1)   # serves A, B
    assert view(center, last["id"])["eta_minutes"] == 10
    run(center, ops.open_counter, officers["o3"], 3)   # land only: does not help A
    assert view(center, last["id"])["eta_minutes"] == 10
    run(center, ops.open_counter, officers["o2"], 2)   # serves B, A
    assert view(center, last["id"])["eta_minutes"] == 5
    run(center, ops.pause_counter, officers["o2"], 2, "Nghỉ")  # a paused counter serves nobody
    assert view(center, last["id"])["eta_minutes"] == 10
    run(center, ops.open_counter, officers["o2"], 2)
    run(center, ops.close_counter, officers["o2"], 2)
    assert view(center, last["id"])["eta_minutes"] == 10


def test_a_busy_counter_still_counts_as_open(center, officers, kiosk_actor):
    *_, last = issue(center, kiosk_actor, n=4)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.open_counter, officers["o2"], 2)
    run(center, ops.call_next, officers["o1"], 1)
    run(center, ops.call_next, officers["o2"], 2)
    run(center, ops.start, officers["o2"], 2)
    assert (view(center, last["id"])["ahead"], view(center, last["id"])["eta_minutes"]) == (1, 3)


def test_estimate_rounds_up(center, officers, kiosk_actor):
    _, t = issue(center, kiosk_actor, n=2)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.open_counter, officers["o2"], 2)
    assert view(center, t["id"])["eta_minutes"] == 3  # 1 ÷ 2 × 5 = 2.5


def test_estimate_uses_todays_mean_service_time(center, officers, kiosk_actor, clock):
    issue(center, kiosk_actor, n=2)
    run(center, ops.open_counter, officers["o1"], 1)
    serve(center, officers["o1"], 1, 8, clock)
    serve(center, officers["o1"], 1, 4, clock)
    _, _, last = issue(center, kiosk_actor, n=3)
    assert view(center, last["id"])["eta_minutes"] == 12  # 2 ahead × (8 + 4) / 2
    with center.read() as r:
        s = r.conn.execute(select(db.services).where(db.services.c.code == "civil-status")).one()
        assert reading.mean_service_minutes(r, s) == 6.0


def test_only_the_ticket_s_own_service_times_count(center, officers, kiosk_actor, clock):
    issue(center, kiosk_actor, "certification")
    run(center, ops.open_counter, officers["o1"], 1)
    serve(center, officers["o1"], 1, 30, clock)
    _, last = issue(center, kiosk_actor, n=2)
    assert view(center, last["id"])["eta_minutes"] == 5


def test_waiting_time_before_start_does_not_count_as_service_time(
        center, officers, kiosk_actor, clock):
    issue(center, kiosk_actor)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    clock.advance(minutes=10)  # the citizen walks slowly to the counter
    run(center, ops.start, officers["o1"], 1)
    clock.advance(minutes=2)
    run(center, ops.complete, officers["o1"], 1, "done")
    _, last = issue(center, kiosk_actor, n=2)
    assert view(center, last["id"])["eta_minutes"] == 2


def test_without_service_times_today_the_default_is_used(center, officers, kiosk_actor, clock):
    issue(center, kiosk_actor)
    run(center, ops.open_counter, officers["o1"], 1)
    serve(center, officers["o1"], 1, 40, clock)  # yesterday's slow visit
    clock.advance(days=1)
    _, last = issue(center, kiosk_actor, n=2)
    assert view(center, last["id"])["eta_minutes"] == 5
    set_center(center, default_service_minutes=7)
    assert view(center, last["id"])["eta_minutes"] == 7
    set_service(center, "A", default_service_minutes=11)
    assert view(center, last["id"])["eta_minutes"] == 11


def test_ahead_follows_the_call_policy(center, kiosk_actor):
    normal, _ = issue(center, kiosk_actor, n=2)
    (prio,) = issue(center, kiosk_actor, priority="elderly")
    assert view(center, prio["id"])["ahead"] == 0
    assert view(center, normal["id"])["ahead"] == 1
    set_center(center, priority_policy="aging:0")
    assert view(center, prio["id"])["ahead"] == 2


def test_people_of_other_services_are_not_ahead(center, kiosk_actor):
    issue(center, kiosk_actor, "certification", n=3)
    (t,) = issue(center, kiosk_actor)
    assert view(center, t["id"])["ahead"] == 0


def test_a_ticket_that_no_longer_waits_has_no_estimate(center, officers, kiosk_actor):
    (t,) = issue(center, kiosk_actor)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    v = view(center, t["id"])
    assert (v["state"], v["ahead"], v["eta_minutes"]) == ("called", None, None)


def test_queue_for_a_counter_lists_its_call_order_with_each_service_s_ahead(
        center, officers, kiosk_actor, clock):
    issue(center, kiosk_actor, "certification")
    clock.advance(minutes=1)
    issue(center, kiosk_actor)
    clock.advance(minutes=1)
    issue(center, kiosk_actor, "certification", priority="merit")
    with center.read() as r:
        q = reading.queue_for(r, counter_number=1)
        assert [(t["label"], t["ahead"]) for t in q] == [("B002", 0), ("B001", 1), ("A001", 0)]
        assert [t["label"] for t in reading.queue_for(r, service_code="certification")] == [
            "B002", "B001"]
        for where in ({"service_code": "nope"}, {"counter_number": 99}):
            with pytest.raises(Invalid):
                reading.queue_for(r, **where)


def test_a_waiting_ticket_says_how_many_counters_are_open_for_its_service(
        center, officers, kiosk_actor):
    """0 before any counter opens (the kiosk and phone then say so, never "almost your
    turn"), and 0 for a service no open counter serves; a called ticket has none."""
    (first,) = issue(center, kiosk_actor)
    assert (first["ahead"], first["eta_minutes"], first["open_counters"]) == (0, 0, 0)
    run(center, ops.open_counter, officers["o3"], 3)   # land only
    assert view(center, first["id"])["open_counters"] == 0
    (land,) = issue(center, kiosk_actor, service="land")
    assert view(center, land["id"])["open_counters"] == 1
    run(center, ops.open_counter, officers["o1"], 1)   # serves A, B
    run(center, ops.open_counter, officers["o2"], 2)   # serves B, A
    assert view(center, first["id"])["open_counters"] == 2
    run(center, ops.pause_counter, officers["o2"], 2, "Nghỉ")
    assert view(center, first["id"])["open_counters"] == 1
    run(center, ops.call_next, officers["o1"], 1)
    assert view(center, first["id"])["open_counters"] is None  # called: no longer waits
