"""Ticket rules: call next and call one, recall limit, no-show, reactivate, cancel, transfer,
complete, and the priority policies as a counter sees them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from layso import db
from layso.db import Database
from layso.events import Hub
from layso.queue import Actor, Center, Conflict, Forbidden, Invalid, NotFound, admin, ops, reading
from tests.queue.helpers import (
    counter,
    refused,
    run,
    run_logged,
    set_center,
    set_counter,
    snapshot,
    ticket,
)


@pytest.fixture
def desk(center, officers, kiosk_actor):
    """Short calls on the demo center: desk.issue('A'), desk.next(1), desk.do(ops.start, 1)."""

    class Desk:
        def issue(self, prefix="A", **kw):
            from tests.queue.helpers import SERVICES

            return run(center, ops.issue, kiosk_actor, SERVICES[prefix], **kw)

        def open(self, number=1, who="o1"):
            return run(center, ops.open_counter, officers[who], number)

        def next(self, number=1, who="o1"):
            return run(center, ops.call_next, officers[who], number)

        def do(self, op, *args, who="o1"):
            return run(center, op, officers[who], *args)

        def serve(self, number=1, outcome="done", who="o1"):
            self.do(ops.start, number, who=who)
            return self.do(ops.complete, number, outcome, who=who)

        def labels(self, number=1, who="o1"):
            """Call and finish everyone this counter would call, in order."""
            out = []
            while (t := self.next(number, who)) is not None:
                out.append(t["label"])
                self.serve(number, who=who)
            return out

    return Desk()


# -- call next -------------------------------------------------------------------------------

def test_call_next_takes_the_oldest_and_says_where_to_go(center, desk, officers):
    a1, _ = desk.issue(), desk.issue()
    desk.open()
    view, types = run_logged(center, ops.call_next, officers["o1"], 1)
    assert (view["id"], view["state"], view["counter"]["number"]) == (a1["id"], "called", 1)
    assert view["called_at"] == "2026-11-25T08:30:00+07:00"
    assert types == ["ticket.called", "counter.changed", "queue.changed"]


def test_call_next_when_nobody_waits_changes_nothing(center, desk, officers):
    desk.open()
    assert run_logged(center, ops.call_next, officers["o1"], 1) == (None, [])
    desk.issue("C")  # land: not served at counter 1
    assert run_logged(center, ops.call_next, officers["o1"], 1) == (None, [])
    assert counter(center, 1).state == "open"


def test_counters_calling_at_the_same_instant_never_get_the_same_ticket(
        center, officers, kiosk_actor, db_url, clock):
    # two server processes on one database: each has its own engine, locks and group commit
    other = Center(Database(db_url, clock=clock), Hub(), public_url="http://layso.test")
    for n in (3, 4, 5):
        set_counter(center, n, ["A"])
    issued = {run(center, ops.issue, kiosk_actor, "civil-status")["id"] for _ in range(40)}
    for n in range(1, 6):
        run(center, ops.open_counter, officers[f"o{n}"], n)
    go = threading.Barrier(5)
    called: dict[int, list[int]] = {n: [] for n in range(1, 6)}
    errors: list[BaseException] = []

    def desk(n: int) -> None:
        server, officer = (center if n % 2 else other), officers[f"o{n}"]
        try:
            go.wait(30)
            while (t := server.run(lambda tx: ops.call_next(tx, officer, n))) is not None:
                called[n].append(t["id"])
                server.run(lambda tx: ops.start(tx, officer, n))
                server.run(lambda tx: ops.complete(tx, officer, n, "done"))
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=desk, args=(n,)) for n in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    other.db.dispose()
    assert errors == []
    everyone = [tid for ids in called.values() for tid in ids]
    assert sorted(everyone) == sorted(issued)  # each ticket called once, by one counter
    with center.db.read() as conn:
        calls = conn.execute(select(db.events.c.payload).where(
            db.events.c.type == "ticket.called")).scalars().all()
        states = set(conn.execute(select(db.tickets.c.state)).scalars())
    assert sorted(p["ticket"]["id"] for p in calls) == sorted(issued)
    assert states == {"done"}


def test_fifo_counter_takes_the_oldest_across_its_services(desk, clock):
    desk.issue("B")
    clock.advance(minutes=1)
    desk.issue("A")
    clock.advance(minutes=1)
    desk.issue("B")
    desk.open()
    assert desk.labels() == ["B001", "A001", "B002"]


def test_ordered_counter_takes_its_first_service_first(center, desk, clock):
    set_counter(center, 2, ["B", "A"], mode="ordered")
    desk.issue("A")
    clock.advance(minutes=1)
    desk.issue("B")
    clock.advance(minutes=1)
    desk.issue("A")
    desk.open(2)
    assert desk.labels(2) == ["B001", "A001", "A002"]


def test_strict_policy_calls_priority_first(desk, clock):
    desk.issue()
    clock.advance(minutes=1)
    desk.issue(priority="elderly")
    clock.advance(minutes=1)
    desk.issue()
    clock.advance(minutes=1)
    desk.issue(priority="disability")
    desk.open()
    assert desk.labels() == ["A002", "A004", "A001", "A003"]


def test_ratio_policy_lets_n_normal_calls_pass_between_priority_calls(center, desk, clock):
    set_center(center, priority_policy="ratio:2")
    for _ in range(5):
        desk.issue()
        clock.advance(minutes=1)
    desk.issue(priority="elderly")
    clock.advance(minutes=1)
    desk.issue(priority="merit")
    desk.open()
    assert desk.labels() == ["A001", "A002", "A006", "A003", "A004", "A007", "A005"]


def test_ratio_streak_is_kept_per_counter_across_calls(center, desk, clock):
    set_center(center, priority_policy="ratio:1")
    desk.issue()
    desk.open()
    assert desk.labels() == ["A001"]  # one normal call; no priority waited
    clock.advance(minutes=1)
    desk.issue()
    clock.advance(minutes=1)
    desk.issue(priority="pregnant")
    assert desk.labels() == ["A003", "A002"]


def test_aging_policy_counts_priority_as_having_waited_longer(center, desk, clock):
    set_center(center, priority_policy="aging:10")
    desk.issue()                      # A001 at 08:30
    clock.advance(minutes=8)
    desk.issue(priority="elderly")    # A002 at 08:38 counts as 08:28
    clock.advance(minutes=4)
    desk.issue(priority="elderly")    # A003 at 08:42 counts as 08:32
    desk.open()
    assert desk.labels() == ["A002", "A001", "A003"]


def test_the_default_priority_categories_each_go_first(center, desk, clock):
    with center.read() as r:
        cats = reading.list_categories(r)
    assert [(c["code"], c["name"]["vi"].lower()) for c in cats] == [
        ("elderly", "người cao tuổi"), ("disability", "người khuyết tật"),
        ("pregnant", "phụ nữ mang thai hoặc có con nhỏ"),
        ("merit", "người có công với cách mạng")]
    desk.issue()
    for c in cats:
        clock.advance(minutes=1)
        desk.issue(priority=c["code"])
    desk.open()
    assert desk.labels() == ["A002", "A003", "A004", "A005", "A001"]


def test_staff_can_correct_a_declared_priority(center, desk, officers):
    desk.issue()
    a2 = desk.issue(priority="elderly")
    _, types = run_logged(center, ops.set_priority, officers["o1"], a2["id"], None)
    assert types == ["ticket.updated", "queue.changed"]
    desk.open()
    assert desk.labels() == ["A001", "A002"]
    refused(center, Conflict, "illegal_transition", ops.set_priority, officers["o1"], a2["id"],
            "elderly")


# -- call one --------------------------------------------------------------------------------

def test_call_a_chosen_ticket_by_id_or_label(center, desk, officers):
    desk.issue()
    a2, a3 = desk.issue(), desk.issue()
    desk.open()
    _, types = run_logged(center, ops.call_ticket, officers["o1"], 1, a3["id"])
    assert ticket(center, a3["id"]).state == "called"
    assert types == ["ticket.called", "counter.changed", "queue.changed"]
    desk.serve()
    assert desk.do(ops.call_ticket, 1, " a002 ")["id"] == a2["id"]


def test_calling_a_ticket_that_cannot_be_called(center, desk, officers, clock):
    o1 = officers["o1"]
    a1 = desk.issue()
    c1 = desk.issue("C")
    desk.open()
    desk.open(2, who="o2")
    desk.do(ops.call_ticket, 2, "A001", who="o2")
    refused(center, Conflict, "ticket_not_waiting", ops.call_ticket, o1, 1, a1["id"])
    refused(center, Conflict, "not_served_here", ops.call_ticket, o1, 1, c1["id"])
    refused(center, NotFound, "unknown_ticket", ops.call_ticket, o1, 1, "A999")
    refused(center, NotFound, "unknown_ticket", ops.call_ticket, o1, 1, 99999)
    for ref in ("", None, 1.0, True, ["A001"]):
        refused(center, Invalid, "invalid_ticket", ops.call_ticket, o1, 1, ref)
    clock.advance(days=1)
    desk.issue("B")
    desk.open()
    refused(center, Conflict, "ticket_expired", ops.call_ticket, o1, 1, c1["id"])
    refused(center, NotFound, "unknown_ticket", ops.call_ticket, o1, 1, "A001")


# -- every ticket state against every action on a ticket -------------------------------------

TICKET_STATES = ("waiting", "called", "serving", "done", "no_show", "cancelled")


@pytest.fixture
def one_of_each(center, desk, officers):
    """A001..A006 of today, one in each ticket state; counter 5 (serves A) is open and idle."""
    ts = {state: desk.issue()["id"] for state in TICKET_STATES}
    for n in (3, 5):
        set_counter(center, n, ["A"])
        desk.open(n, who=f"o{n}")
    desk.do(ops.call_ticket, 3, ts["done"], who="o3")
    desk.serve(3, who="o3")
    desk.do(ops.call_ticket, 3, ts["no_show"], who="o3")
    desk.do(ops.no_show, 3, who="o3")
    desk.open(1)
    desk.do(ops.call_ticket, 1, ts["called"])
    desk.open(2, who="o2")
    desk.do(ops.call_ticket, 2, ts["serving"], who="o2")
    desk.do(ops.start, 2, who="o2")
    desk.do(ops.cancel, ts["cancelled"])
    assert {s: ticket(center, tid).state for s, tid in ts.items()} == {
        s: s for s in TICKET_STATES}
    return ts


@pytest.mark.parametrize("name,legal_from,becomes,code", [
    ("cancel", "waiting", "cancelled", "illegal_transition"),
    ("reactivate", "no_show", "waiting", "illegal_transition"),
    ("call_ticket", "waiting", "called", "ticket_not_waiting"),
    ("set_priority", "waiting", "waiting", "illegal_transition"),
])
def test_a_ticket_action_is_legal_from_one_state_only(
        center, officers, one_of_each, name, legal_from, becomes, code):
    sup = officers["sup"]
    act = {
        "cancel": lambda tid: (ops.cancel, sup, tid),
        "reactivate": lambda tid: (ops.reactivate, sup, tid),
        "call_ticket": lambda tid: (ops.call_ticket, officers["o5"], 5, tid),
        "set_priority": lambda tid: (ops.set_priority, sup, tid, "elderly"),
    }[name]
    for state in TICKET_STATES:
        if state == legal_from:
            continue
        t = ticket(center, one_of_each[state])
        err = refused(center, Conflict, code, *act(t.id))
        assert err.status == 409 and t.label in err.message and state in err.message
    tid = one_of_each[legal_from]
    before = snapshot(center)
    run(center, *act(tid))
    assert ticket(center, tid).state == becomes and snapshot(center) != before


# -- recall ----------------------------------------------------------------------------------

def test_called_once_then_recalled_up_to_the_limit(center, desk, officers):
    desk.issue()
    desk.open()
    desk.next()
    for n in (1, 2, 3):
        view, types = run_logged(center, ops.recall, officers["o1"], 1)
        assert (view["recalls"], view["state"], types) == (n, "called", ["ticket.called"])
    err = refused(center, Conflict, "recall_limit", ops.recall, officers["o1"], 1)
    assert "3" in err.message
    assert desk.do(ops.no_show, 1)["state"] == "no_show"


@pytest.mark.parametrize("limit", [0, 1, 5])
def test_the_recall_limit_is_configurable(center, desk, officers, limit):
    set_center(center, recall_limit=limit)
    desk.issue()
    desk.open()
    desk.next()
    for _ in range(limit):
        desk.do(ops.recall, 1)
    refused(center, Conflict, "recall_limit", ops.recall, officers["o1"], 1)


def test_a_recall_event_says_it_is_a_recall(center, desk, officers):
    desk.issue()
    desk.open()
    desk.next()
    with center.write() as tx:
        ops.recall(tx, officers["o1"], 1)
        (ev,) = tx.events
    assert (ev.payload["recall"], ev.payload["recalls"]) == (True, 1)
    assert ev.payload["speech"]["vi"].startswith("Mời công dân có số A")


# -- no-show and reactivate ------------------------------------------------------------------

def test_no_show_frees_the_counter_and_reactivate_keeps_number_and_place(
        center, desk, officers, clock):
    a1 = desk.issue()
    clock.advance(minutes=1)
    desk.issue()
    desk.open()
    desk.next()
    desk.do(ops.recall, 1)
    view, types = run_logged(center, ops.no_show, officers["o1"], 1)
    assert (view["state"], types) == ("no_show", ["ticket.no_show", "counter.changed"])
    c = counter(center, 1)
    assert (c.state, c.current_ticket_id) == ("open", None)
    view, types = run_logged(center, ops.reactivate, officers["o2"], a1["id"])
    assert (view["label"], view["state"], view["recalls"], view["ahead"]) == (
        "A001", "waiting", 0, 0)
    assert types == ["ticket.reactivated", "queue.changed"]
    assert ticket(center, a1["id"]).number == 1
    assert desk.labels() == ["A001", "A002"]


def test_reactivate_only_an_absent_ticket_of_today(center, desk, officers, kiosk_actor, clock):
    a1 = desk.issue()
    refused(center, Conflict, "illegal_transition", ops.reactivate, officers["o1"], a1["id"])
    refused(center, Forbidden, "forbidden", ops.reactivate, kiosk_actor, a1["id"])
    refused(center, NotFound, "unknown_ticket", ops.reactivate, officers["o1"], 12345)
    desk.open()
    desk.next()
    desk.do(ops.no_show, 1)
    clock.advance(days=1)
    desk.issue()
    refused(center, Conflict, "ticket_expired", ops.reactivate, officers["o1"], a1["id"])


# -- cancel ----------------------------------------------------------------------------------

def test_cancel_a_waiting_ticket(center, desk, officers, kiosk_actor):
    a1, a2 = desk.issue(), desk.issue()
    refused(center, Forbidden, "forbidden", ops.cancel, kiosk_actor, a1["id"])
    view, types = run_logged(center, ops.cancel, officers["o1"], a1["id"])
    assert (view["state"], types) == ("cancelled", ["ticket.cancelled", "queue.changed"])
    with center.read() as r:
        assert reading.waiting_counts(r)["civil-status"] == 1
    refused(center, Conflict, "illegal_transition", ops.cancel, officers["o1"], a1["id"])
    desk.open()
    desk.next()
    refused(center, Conflict, "illegal_transition", ops.cancel, officers["o1"], a2["id"])
    refused(center, NotFound, "unknown_ticket", ops.cancel, officers["o1"], 4242)


def test_a_ticket_of_an_earlier_day_cannot_be_cancelled(center, desk, officers, clock):
    a1 = desk.issue()
    clock.advance(days=1)
    desk.issue()
    refused(center, Conflict, "ticket_expired", ops.cancel, officers["o1"], a1["id"])


def test_a_ticket_of_an_earlier_day_keeps_its_priority(center, desk, officers, clock):
    a1 = desk.issue()
    clock.advance(days=1)
    desk.issue()
    refused(center, Conflict, "ticket_expired", ops.set_priority, officers["sup"], a1["id"],
            "elderly")
    assert ticket(center, a1["id"]).priority is None


# -- transfer --------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["called", "serving"])
def test_transfer_to_the_back_keeps_the_label(center, desk, officers, clock, state):
    a1 = desk.issue()
    clock.advance(minutes=1)
    desk.issue("B")
    desk.open()
    desk.next()
    if state == "serving":
        desk.do(ops.start, 1)
    clock.advance(minutes=1)
    view, types = run_logged(center, ops.transfer, officers["o1"], 1, "certification", "back")
    assert (view["label"], view["state"], view["service"]["code"]) == (
        "A001", "waiting", "certification")
    assert (view["ahead"], view["counter"], view["recalls"]) == (1, None, 0)
    assert types == ["ticket.transferred", "counter.changed", "queue.changed"]
    row = ticket(center, a1["id"])
    assert (row.origin_service_id != row.service_id, row.called_at, row.started_at) == (
        True, None, None)
    assert (counter(center, 1).state, counter(center, 1).current_ticket_id) == ("open", None)
    desk.open(2, who="o2")
    assert desk.labels(2, who="o2") == ["B001", "A001"]


def test_transfer_to_the_front_goes_before_everyone_waiting(center, desk, officers, clock):
    desk.issue("C")
    clock.advance(minutes=1)
    desk.issue("C")
    clock.advance(minutes=1)
    desk.issue()
    desk.open()
    desk.next()
    clock.advance(minutes=5)
    view = desk.do(ops.transfer, 1, "land", "front")
    assert (view["label"], view["ahead"]) == ("A001", 0)
    desk.open(3, who="o3")
    assert desk.labels(3, who="o3") == ["A001", "C001", "C002"]


def test_transfer_to_the_front_of_an_empty_queue(desk):
    desk.issue()
    desk.open()
    desk.next()
    assert desk.do(ops.transfer, 1, "land", "front")["ahead"] == 0
    desk.open(3, who="o3")
    assert desk.labels(3, who="o3") == ["A001"]


def test_a_transferred_priority_ticket_keeps_its_priority(desk, clock):
    desk.issue()
    desk.issue(priority="elderly")
    desk.issue("B")
    desk.open()
    assert desk.next()["label"] == "A002"
    desk.do(ops.transfer, 1, "certification", "back")
    desk.open(2, who="o2")
    assert desk.labels(2, who="o2") == ["A002", "A001", "B001"]


def test_transfer_refusals(center, desk, officers):
    o1 = officers["o1"]
    desk.issue()
    desk.open()
    desk.next()
    for position in ("middle", None, 1):
        refused(center, Invalid, "invalid_position", ops.transfer, o1, 1, "land", position)
    refused(center, Invalid, "unknown_service", ops.transfer, o1, 1, "nowhere", "back")
    refused(center, Invalid, "invalid_service", ops.transfer, o1, 1, None, "back")
    # a service no counter takes: the citizen would wait there for ever; nothing changes
    adm = Actor(kind="user", id=None, role="admin", name="Quản trị")
    run(center, admin.create_service, adm, {"code": "justice", "prefix": "G",
                                            "name": {"vi": "Tư pháp", "en": "Justice"}})
    refused(center, Conflict, "service_unserved", ops.transfer, o1, 1, "justice", "back")
    # into the service it is in: the reports would count a transfer that moved nobody
    refused(center, Conflict, "same_service", ops.transfer, o1, 1, "civil-status", "front")
    with center.read() as r:
        [c1] = [c for c in reading.counters_by_id(r).values() if c.number == 1]
        assert reading.counter_view(r, c1)["current"]["state"] == "called"


# -- complete --------------------------------------------------------------------------------

# the outcomes DESIGN.md lists, written out: a test over ops.OUTCOMES would not miss one
OUTCOMES = ("done", "received", "result_returned", "advised", "needs_more_documents",
            "redirected", "rejected")


def test_the_outcomes_are_those_of_the_design():
    assert set(ops.OUTCOMES) == set(OUTCOMES)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_complete_records_the_outcome(center, desk, officers, clock, outcome):
    desk.issue()
    desk.open()
    desk.next()
    desk.do(ops.start, 1)
    clock.advance(minutes=7)
    view, types = run_logged(center, ops.complete, officers["o1"], 1, outcome)
    assert (view["state"], view["outcome"], view["procedure"]) == ("done", outcome, None)
    assert view["finished_at"] == "2026-11-25T08:37:00+07:00"
    assert types == ["ticket.completed", "counter.changed"]


def test_complete_with_the_procedure_handled(center, desk, officers):
    a1 = desk.issue(procedure="birth-registration")
    desk.open()
    desk.next()
    desk.do(ops.start, 1)
    o1 = officers["o1"]
    for outcome in ("finished", "", None, "DONE", 1):
        refused(center, Invalid, "invalid_outcome", ops.complete, o1, 1, outcome)
    refused(center, Invalid, "unknown_procedure", ops.complete, o1, 1, "done", "signature")
    refused(center, Invalid, "unknown_procedure", ops.complete, o1, 1, "done", 3)
    view = desk.do(ops.complete, 1, "received", "marriage-registration")
    assert (view["outcome"], view["procedure"]) == ("received", "marriage-registration")
    assert ticket(center, a1["id"]).procedure == "marriage-registration"


def test_complete_names_the_officer_in_its_event(center, desk, officers):
    desk.issue()
    desk.open()
    desk.next()
    desk.do(ops.start, 1)
    with center.write() as tx:
        ops.complete(tx, officers["sup"], 1, "done")
        ev = tx.events[0]
    assert ev.type == "ticket.completed"
    assert (ev.payload["outcome"], ev.payload["officer"]) == ("done", {"name": "O1"})
    assert ev.payload["ticket"]["id"] and "token" not in ev.payload["ticket"]


def test_a_retired_priority_category_cannot_be_given(center, desk, officers):
    from sqlalchemy import update

    from layso import db

    t = desk.issue()
    with center.db.write() as conn:
        conn.execute(update(db.priority_categories)
                     .where(db.priority_categories.c.code == "merit").values(active=False))
    refused(center, Invalid, "unknown_priority", ops.issue, officers["o1"],
            "civil-status", priority="merit")
    refused(center, Invalid, "unknown_priority", ops.set_priority, officers["o1"], t["id"],
            "merit")
    assert desk.do(ops.set_priority, t["id"], "elderly")["priority"] == "elderly"
