"""Counter states and every transition: the legal ones, the illegal ones, and who may act."""

from __future__ import annotations

import pytest

from layso.queue import Actor, Conflict, Forbidden, Invalid, NotFound, ops
from tests.queue.helpers import counter, refused, run, run_logged, ticket


def bring(center, officers, kiosk, state: str, number: int = 1) -> int | None:
    """Put counter `number` (opened by o1) in `state`; returns its ticket id if it has one."""
    o1 = officers["o1"]
    t = run(center, ops.issue, kiosk, "civil-status")
    if state == "closed":
        return None
    run(center, ops.open_counter, o1, number)
    if state == "paused":
        run(center, ops.pause_counter, o1, number, "Nghỉ giải lao")
    if state in ("calling", "serving"):
        run(center, ops.call_next, o1, number)
    if state == "serving":
        run(center, ops.start, o1, number)
    c = counter(center, number)
    assert c.state == state
    return t["id"] if state in ("calling", "serving") else None


def test_a_counter_starts_closed_and_empty(center):
    c = counter(center, 1)
    assert (c.state, c.current_ticket_id, c.officer_id, c.pause_reason) == (
        "closed", None, None, None)


# -- legal transitions -----------------------------------------------------------------------

def test_open_pause_resume_close(center, officers):
    o1 = officers["o1"]
    view, types = run_logged(center, ops.open_counter, o1, 1)
    assert (view["state"], types) == ("open", ["day.opened", "counter.changed"])
    assert counter(center, 1).officer_id == o1.id
    view, types = run_logged(center, ops.pause_counter, o1, 1, "  Họp giao ban  ")
    assert (view["state"], view["pause_reason"], types) == (
        "paused", "Họp giao ban", ["counter.changed"])
    view, types = run_logged(center, ops.pause_counter, o1, 1, "Nghỉ trưa")
    assert (view["pause_reason"], types) == ("Nghỉ trưa", ["counter.changed"])
    view, types = run_logged(center, ops.open_counter, o1, 1)
    assert (view["state"], view["pause_reason"], types) == ("open", None, ["counter.changed"])
    run(center, ops.pause_counter, o1, 1, "Nghỉ trưa")
    view, types = run_logged(center, ops.close_counter, o1, 1)
    assert (view["state"], view["pause_reason"], types) == ("closed", None, ["counter.changed"])
    assert counter(center, 1).officer_id is None
    view, _ = run_logged(center, ops.open_counter, o1, 1)
    assert view["state"] == "open"
    view, _ = run_logged(center, ops.close_counter, o1, 1)
    assert view["state"] == "closed"


def test_repeating_a_state_change_changes_nothing(center, officers):
    o1 = officers["o1"]
    run(center, ops.close_counter, o1, 1)  # closed → closed
    run(center, ops.open_counter, o1, 1)
    before = counter(center, 1)
    _, types = run_logged(center, ops.open_counter, o1, 1)
    assert types == [] and counter(center, 1) == before
    run(center, ops.pause_counter, o1, 1, "Nghỉ trưa")
    _, types = run_logged(center, ops.pause_counter, o1, 1, "Nghỉ trưa")
    assert types == []
    run(center, ops.close_counter, o1, 1)
    _, types = run_logged(center, ops.close_counter, o1, 1)
    assert types == []


def test_open_calling_serving_open(center, officers, kiosk_actor):
    o1 = officers["o1"]
    tid = bring(center, officers, kiosk_actor, "calling")
    c, t = counter(center, 1), ticket(center, tid)
    assert (c.current_ticket_id, t.state, t.counter_id, t.officer_id) == (
        tid, "called", c.id, o1.id)
    run(center, ops.start, o1, 1)
    assert (counter(center, 1).state, ticket(center, tid).state) == ("serving", "serving")
    run(center, ops.complete, o1, 1, "done")
    c = counter(center, 1)
    assert (c.state, c.current_ticket_id) == ("open", None)


def test_opening_a_busy_counter_again_keeps_its_citizen(center, officers, kiosk_actor):
    tid = bring(center, officers, kiosk_actor, "serving")
    _, types = run_logged(center, ops.open_counter, officers["o1"], 1)
    assert types == []
    c = counter(center, 1)
    assert (c.state, c.current_ticket_id) == ("serving", tid)


# -- illegal transitions: a Conflict with a clear code, and nothing changed -------------------

ILLEGAL = [
    # (state, action, code)
    ("closed", "pause", "counter_closed"),
    ("closed", "call_next", "counter_closed"),
    ("closed", "call_ticket", "counter_closed"),
    ("paused", "call_next", "counter_paused"),
    ("paused", "call_ticket", "counter_paused"),
    ("calling", "call_next", "counter_busy"),
    ("calling", "call_ticket", "counter_busy"),
    ("serving", "call_next", "counter_busy"),
    ("serving", "call_ticket", "counter_busy"),
    ("calling", "pause", "counter_busy"),
    ("serving", "pause", "counter_busy"),
    ("calling", "close", "counter_busy"),
    ("serving", "close", "counter_busy"),
    ("serving", "start", "illegal_transition"),
    ("serving", "recall", "illegal_transition"),
    ("serving", "no_show", "illegal_transition"),
    ("calling", "complete", "illegal_transition"),
] + [(state, action, "no_current_ticket")
     for state in ("closed", "open", "paused")
     for action in ("recall", "start", "no_show", "complete", "transfer")]


def action(name: str, actor: Actor, number: int = 1):
    """A counter action as a function of a transaction."""
    return {
        "open": lambda tx: ops.open_counter(tx, actor, number),
        "pause": lambda tx: ops.pause_counter(tx, actor, number, "Nghỉ"),
        "close": lambda tx: ops.close_counter(tx, actor, number),
        "call_next": lambda tx: ops.call_next(tx, actor, number),
        "call_ticket": lambda tx: ops.call_ticket(tx, actor, number, "A002"),
        "recall": lambda tx: ops.recall(tx, actor, number),
        "start": lambda tx: ops.start(tx, actor, number),
        "no_show": lambda tx: ops.no_show(tx, actor, number),
        "complete": lambda tx: ops.complete(tx, actor, number, "done"),
        "transfer": lambda tx: ops.transfer(tx, actor, number, "certification", "back"),
    }[name]


@pytest.mark.parametrize("state,name,code", ILLEGAL)
def test_illegal_transition(center, officers, kiosk_actor, state, name, code):
    bring(center, officers, kiosk_actor, state)
    run(center, ops.issue, kiosk_actor, "civil-status")  # A002, for call_ticket
    refused(center, Conflict, code, action(name, officers["o1"]))


def test_a_pause_needs_a_short_reason(center, officers):
    o1 = officers["o1"]
    run(center, ops.open_counter, o1, 1)
    for reason in ("", "   ", None, 5):
        refused(center, Invalid, "invalid_reason", ops.pause_counter, o1, 1, reason)
    refused(center, Invalid, "invalid_reason", ops.pause_counter, o1, 1, "x" * 201)
    assert run(center, ops.pause_counter, o1, 1, "x" * 200)["state"] == "paused"


def test_unknown_counter(center, officers):
    for name in ("open", "pause", "close", "call_next", "recall", "complete"):
        refused(center, NotFound, "unknown_counter", action(name, officers["o1"], 99))


# -- who may act -----------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["open", "paused", "calling", "serving"])
def test_another_officer_may_not_touch_a_counter_someone_opened(
        center, officers, kiosk_actor, state):
    bring(center, officers, kiosk_actor, state)
    run(center, ops.issue, kiosk_actor, "civil-status")
    for name in ("open", "pause", "close", "call_next", "call_ticket", "recall", "start",
                 "no_show", "complete", "transfer"):
        refused(center, Forbidden, "not_your_counter", action(name, officers["o2"]))


def test_a_supervisor_may_act_on_any_counter(center, officers, kiosk_actor):
    sup = officers["sup"]
    tid = bring(center, officers, kiosk_actor, "calling")
    run(center, ops.recall, sup, 1)
    run(center, ops.start, sup, 1)
    run(center, ops.complete, sup, 1, "advised")
    assert ticket(center, tid).officer_id == officers["o1"].id  # served by who called it
    run(center, ops.pause_counter, sup, 1, "Họp")
    run(center, ops.open_counter, sup, 1)
    assert counter(center, 1).officer_id == officers["o1"].id  # still the officer's counter
    run(center, ops.close_counter, sup, 1)
    run(center, ops.open_counter, officers["o2"], 1)  # closed: anyone may open it now
    assert counter(center, 1).officer_id == officers["o2"].id


def test_a_counter_a_supervisor_opened_is_theirs(center, officers):
    run(center, ops.open_counter, officers["sup"], 3)
    refused(center, Forbidden, "not_your_counter", ops.call_next, officers["o1"], 3)


@pytest.mark.parametrize("actor", [
    Actor(kind="device", id=1, role="kiosk"),
    Actor(kind="device", id=2, role="feedback", counter_id=1),
    Actor(kind="device", id=3, role="display"),
])
def test_devices_do_not_act_on_counters(center, officers, kiosk_actor, actor):
    bring(center, officers, kiosk_actor, "open")
    for name in ("open", "pause", "close", "call_next"):
        refused(center, Forbidden, "forbidden", action(name, actor))
    refused(center, Forbidden, "forbidden", action("open", actor, 2))


def test_an_officer_may_run_two_counters_each_their_own(center, officers, kiosk_actor):
    o1, o2 = officers["o1"], officers["o2"]
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, o1, 1)
    run(center, ops.open_counter, o2, 2)
    a = run(center, ops.call_next, o1, 1)
    b = run(center, ops.call_next, o2, 2)
    assert (a["label"], b["label"]) == ("A001", "A002")
    assert (a["counter"]["number"], b["counter"]["number"]) == (1, 2)


# -- an official leaving with a citizen at the counter ---------------------------------------

@pytest.mark.parametrize("state", ["calling", "serving"])
def test_release_hands_the_citizen_back_to_the_front_and_closes_the_counter(
        center, officers, kiosk_actor, state):
    o1 = officers["o1"]
    held = bring(center, officers, kiosk_actor, state)
    behind = run(center, ops.issue, kiosk_actor, "civil-status")
    view, types = run_logged(center, ops.release, o1, 1)
    assert (view["id"], view["state"], view["counter"]) == (held, "waiting", None)
    assert types == ["ticket.released", "counter.changed", "queue.changed"]
    c = counter(center, 1)
    assert (c.state, c.current_ticket_id, c.officer_id) == ("closed", None, None)
    t = ticket(center, held)
    assert (t.counter_id, t.called_at, t.recalls) == (None, None, 0)
    # the next official calls the released citizen before anyone who came later
    run(center, ops.open_counter, officers["o2"], 2)
    assert run(center, ops.call_next, officers["o2"], 2)["id"] == held
    assert ticket(center, behind["id"]).state == "waiting"


def test_release_of_an_idle_counter_just_closes_it(center, officers):
    o1 = officers["o1"]
    run(center, ops.open_counter, o1, 1)
    view, types = run_logged(center, ops.release, o1, 1)
    assert (view["state"], types) == ("closed", ["counter.changed"])


def test_only_the_counters_official_releases_it(center, officers, kiosk_actor):
    bring(center, officers, kiosk_actor, "calling")
    refused(center, Forbidden, "not_your_counter", ops.release, officers["o2"], 1)
    assert counter(center, 1).state == "calling"
