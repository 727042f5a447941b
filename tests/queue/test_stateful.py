"""A hypothesis state machine that runs the center through random days against a small model.

Each step predicts its outcome from the model (success, nothing to do, or the exact refusal),
runs the domain operation in its own transaction, and compares. After every step the database
must agree with the model and hold the invariants: one ticket per counter and one counter per
ticket, no label twice in a day, numbers gap-free, tickets conserved across states, queue order
by issue order within a service and class, and a gap-free event seq.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from layso import auth, db, events
from layso.queue import Actor, Conflict, Forbidden, Invalid, NotFound, QueueError, catalog, ops
from layso.queue.policy import Candidate, parse_policy, pick_next
from tests.conftest import Clock, _pg_database, make_center

PG_URL = os.environ.get("LAYSO_TEST_DATABASE_URL")

SERVICES = ["civil-status", "certification", "land", "social", "online-help"]
COUNTERS = [1, 2, 3, 4]
PEOPLE = ["o1", "o2", "o3", "o4", "sup"]
CAPPED = "online-help"
OUTCOMES = [*ops.OUTCOMES, "finished"]  # the last one is not an outcome
STATS: Tally[str] = Tally()  # outcomes seen, printed after each run (pytest -s shows them)
KIOSK = Actor(kind="device", id=None, role="kiosk")


@dataclass
class T:
    """The model of a ticket."""

    id: int
    label: str
    service: str
    origin: str
    priority: bool
    day: date
    state: str = "waiting"
    counter: int | None = None
    recalls: int = 0
    moved: bool = False  # transferred: its queue time is no longer its issue time


@dataclass
class C:
    """The model of a counter."""

    number: int
    services: list[str]
    mode: str = "fifo"
    state: str = "closed"
    owner: int | None = None
    current: int | None = None
    streak: int = 0
    reason: str | None = None


def fn_name(fn: Any) -> str:
    """The domain operation a step's lambda calls (for hypothesis' statistics)."""
    names = [n for n in fn.__code__.co_names if hasattr(ops, n)]
    return names[-1] if names else "?"


Expect = tuple[type[QueueError], str] | None
NOTHING = object()  # an action that was right to change nothing


class QueueMachine(RuleBasedStateMachine):
    """The center, driven at random through issue, calls, serving, transfers, pauses and days."""

    database = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="layso-sm-"))
        self.clock = Clock()
        self._pg = None
        if self.database == "postgresql":
            self._pg = _pg_database(PG_URL)
            url = next(self._pg)
        else:
            url = f"sqlite:///{self.tmp / 'layso.db'}"
        self.center = make_center(url, self.tmp, self.clock)
        self.people: dict[str, Actor] = {}
        with self.center.db.write() as conn:
            for name in PEOPLE:
                role = "supervisor" if name == "sup" else "officer"
                uid = auth.add_user(conn, "sm-" + name, "password-" + name, role, name.upper())
                self.people[name] = Actor(kind="user", id=uid, role=role, name=name.upper())
            self.sid = {s.code: s.id for s in conn.execute(select(db.services)).all()}
            self.prefix = {s.code: s.prefix for s in conn.execute(select(db.services)).all()}
        self.tickets: dict[int, T] = {}
        self.counters: dict[int, C] = {}
        self.day: date | None = None
        self.issued: Tally[tuple[date, str]] = Tally()
        self.steps = 0

    def teardown(self) -> None:
        self.center.db.dispose()
        if self._pg is not None:
            next(self._pg, None)
        shutil.rmtree(self.tmp, ignore_errors=True)  # one folder per example, dozens a run

    # -- set-up ------------------------------------------------------------------------------

    @initialize(policy=st.sampled_from(["strict", "ratio:1", "ratio:2", "aging:0", "aging:5"]),
                recall_limit=st.sampled_from([0, 1, 3]), cap=st.sampled_from([2, 3]),
                mode2=st.sampled_from(["fifo", "ordered"]),
                mode4=st.sampled_from(["fifo", "ordered"]),
                first=st.lists(st.sampled_from(SERVICES), max_size=8),
                opened=st.sets(st.sampled_from(COUNTERS)))
    def configure(self, policy: str, recall_limit: int, cap: int, mode2: str, mode4: str,
                  first: list[str], opened: set[int]) -> None:
        self.policy = parse_policy(policy)
        self.recall_limit = recall_limit
        self.cap = cap
        with self.center.write() as tx:
            catalog.update_center(tx, priority_policy=policy, recall_limit=recall_limit)
        with self.center.db.write() as conn:
            s = conn.execute(select(db.services).where(db.services.c.code == CAPPED)).one()
            catalog.upsert_service(conn, s.code, s.prefix, s.name_vi, s.name_en, s.position,
                                   daily_cap=cap)
            catalog.upsert_counter(conn, 2, ["certification", "civil-status"], mode2)
            catalog.upsert_counter(conn, 4, ["social", "online-help"], mode4)
        served = {1: ["civil-status", "certification"], 2: ["certification", "civil-status"],
                  3: ["land"], 4: ["social", "online-help"]}
        modes = {2: mode2, 4: mode4}
        self.counters = {n: C(n, served[n], modes.get(n, "fifo")) for n in COUNTERS}
        # the morning: some citizens already wait and some counters are open
        for service in first:
            self.issue(service, None)
        for number in sorted(opened):
            self.open(number, "owner")

    # -- the model's reading of the rules ----------------------------------------------------

    @property
    def local_date(self) -> date:
        return self.clock().astimezone(self.center_tz).date()

    @property
    def center_tz(self) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Ho_Chi_Minh")

    def shown_day(self) -> date | None:
        """The day the queue shows: the latest one unless the local date moved past it."""
        return self.day if self.day is not None and self.day >= self.local_date else None

    def day_turns(self) -> bool:
        return self.day is None or self.local_date > self.day

    def turn_day(self) -> None:
        # the day that ends leaves no ticket waiting, called or serving: they expire
        for t in self.tickets.values() if isinstance(self.tickets, dict) else self.tickets:
            if self.day is not None and t.day == self.day and t.state in (
                    "waiting", "called", "serving"):
                t.state = "expired"
        self.day = self.local_date
        for c in self.counters.values():
            c.state, c.owner, c.current, c.streak, c.reason = "closed", None, None, 0, None

    def who(self, name: str, number: int) -> Actor:
        """'owner' is whoever opened the counter (or its usual officer); else a named person."""
        if name == "owner":
            owner = self.counters[number].owner
            if owner is not None:
                return next(a for a in self.people.values() if a.id == owner)
            return self.people[f"o{number}"]
        return self.people[name]

    def may_act(self, actor: Actor, c: C) -> Expect:
        if actor.role == "supervisor" or c.owner is None or c.owner == actor.id:
            return None
        return (Forbidden, "not_your_counter")

    def ready_to_call(self, actor: Actor, c: C) -> Expect:
        return self.may_act(actor, c) or {
            "closed": (Conflict, "counter_closed"), "paused": (Conflict, "counter_paused"),
            "calling": (Conflict, "counter_busy"), "serving": (Conflict, "counter_busy"),
        }.get(c.state)

    def current(self, actor: Actor, c: C, states: tuple[str, ...]) -> Expect:
        if (e := self.may_act(actor, c)) is not None:
            return e
        if c.current is None:
            return (Conflict, "no_current_ticket")
        if self.tickets[c.current].state not in states:
            return (Conflict, "illegal_transition")
        return None

    def pick(self, index: int) -> T | None:
        if not self.tickets:
            return None
        ids = sorted(self.tickets)
        return self.tickets[ids[index % len(ids)]]

    def guard(self, t: T, state: str) -> Expect:
        """What a ticket action legal only in `state` answers (reactivate, cancel)."""
        if t.day != self.shown_day():
            return (Conflict, "ticket_expired")
        if t.state != state:
            return (Conflict, "illegal_transition")
        return None

    # -- running one action ------------------------------------------------------------------

    def digest(self) -> list[Any]:
        with self.center.db.read() as conn:
            out: list[Any] = [events.current(conn)]
            for table in (db.tickets, db.counters, db.day_numbers, db.business_days):
                out.append(sorted(repr(tuple(r)) for r in conn.execute(select(table)).all()))
        return out

    def act(self, fn: Any, expect: Expect, events_: int | None = None,
            day_opens: bool = False) -> Any:
        """Run `fn` in one transaction; it must be refused exactly as `expect` says, or succeed
        appending `events_` events (plus day.opened when the day turns)."""
        self.steps += 1
        before = self.digest() if expect is not None else None
        try:
            with self.center.write() as tx:
                result = fn(tx)
                types = [e.type for e in tx.events]
        except QueueError as err:
            assert expect is not None, f"refused unexpectedly: {err.code}: {err.message}"
            assert (type(err), err.code) == expect, f"{err.code} instead of {expect}"
            assert self.digest() == before, "a refused action changed something"
            STATS[f"{fn_name(fn)}: {err.code}"] += 1
            return NOTHING
        assert expect is None, f"expected {expect}, but it went through"
        if events_ is not None:
            if day_opens:
                assert types[:1] == ["day.opened"], types
                types = types[1:]
            assert len(types) == events_, types
        STATS[f"{fn_name(fn)}: {'ok' if types else 'nothing to do'}"] += 1
        return result

    # -- rules -------------------------------------------------------------------------------

    @rule(service=st.sampled_from(SERVICES), priority=st.sampled_from([None, None, "elderly"]))
    def issue(self, service: str, priority: str | None) -> None:
        turns = self.day_turns()
        day = self.local_date if turns else self.day
        n = self.issued[(day, service)] + 1
        expect = (Conflict, "daily_cap_reached") if service == CAPPED and n > self.cap else None
        view = self.act(lambda tx: ops.issue(tx, KIOSK, service, priority), expect, 2, turns)
        if view is NOTHING:
            return
        if turns:
            self.turn_day()
        self.issued[(day, service)] = n
        assert view["label"] == f"{self.prefix[service]}{n:03d}"
        self.tickets[view["id"]] = T(view["id"], view["label"], service, service,
                                     priority is not None, day)

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def open(self, number: int, name: str) -> None:
        actor = self.who(name, number)
        turns = self.day_turns()
        c = C(number, []) if turns else self.counters[number]  # a new day closes every counter
        expect = self.may_act(actor, c)
        changes = c.state in ("closed", "paused")
        view = self.act(lambda tx: ops.open_counter(tx, actor, number), expect,
                        1 if changes else 0, turns)
        if view is NOTHING:
            return
        if turns:
            self.turn_day()
        c = self.counters[number]
        if c.state == "closed":
            c.owner, c.streak = actor.id, 0
        if c.state in ("closed", "paused"):
            c.state, c.reason = "open", None
        assert view["state"] == c.state

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]),
          reason=st.sampled_from(["Nghỉ giải lao", "Họp"]))
    def pause(self, number: int, name: str, reason: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.may_act(actor, c) or {
            "closed": (Conflict, "counter_closed"), "calling": (Conflict, "counter_busy"),
            "serving": (Conflict, "counter_busy")}.get(c.state)
        same = c.state == "paused" and c.reason == reason
        if self.act(lambda tx: ops.pause_counter(tx, actor, number, reason), expect,
                    0 if same else 1) is not NOTHING:
            c.state, c.reason = "paused", reason

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def close(self, number: int, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.may_act(actor, c) or {
            "calling": (Conflict, "counter_busy"), "serving": (Conflict, "counter_busy")
        }.get(c.state)
        if self.act(lambda tx: ops.close_counter(tx, actor, number), expect,
                    0 if c.state == "closed" else 1) is not NOTHING:
            c.state, c.owner, c.reason = "closed", None, None

    def expected_next(self, c: C) -> T | None:
        """What the policy says this counter calls now, from the model's waiting tickets."""
        shown = self.shown_day()
        waiting = [t for t in self.tickets.values()
                   if t.day == shown and t.state == "waiting" and t.service in c.services]
        if not waiting:
            return None
        with self.center.db.read() as conn:
            queue_at = dict(conn.execute(select(db.tickets.c.id, db.tickets.c.queue_at).where(
                db.tickets.c.id.in_([t.id for t in waiting]))).all())
        cands = [Candidate(t.id, self.sid[t.service], t.priority, queue_at[t.id])
                 for t in waiting]
        order = [self.sid[s] for s in c.services] if c.mode == "ordered" else None
        chosen = pick_next(cands, self.policy, c.streak, order)
        # whatever the policy, within one service and one class it is first come, first served
        mine = self.tickets[chosen.id]
        same = [x for x in cands if x.service_id == chosen.service_id
                and x.priority == chosen.priority]
        assert min(same, key=lambda x: (x.queue_at, x.id)) == chosen, mine.label
        return mine

    def called(self, c: C, t: T) -> None:
        t.state, t.counter, t.recalls = "called", c.number, 0
        c.state, c.current = "calling", t.id
        c.streak = 0 if t.priority else c.streak + 1

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", "owner",
                                                                 *PEOPLE]))
    def call_next(self, number: int, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.ready_to_call(actor, c)
        want = self.expected_next(c) if expect is None else None
        view = self.act(lambda tx: ops.call_next(tx, actor, number), expect,
                        3 if want is not None else 0)
        if view is NOTHING:
            return
        if want is None:
            assert view is None
            return
        assert view["id"] == want.id, (view["label"], want.label)
        self.called(c, want)

    @rule(number=st.sampled_from(COUNTERS), index=st.integers(0, 200),
          how=st.sampled_from(["id", "label", "label", "unknown"]))
    def call_specific(self, number: int, index: int, how: str) -> None:
        actor, c = self.who("owner", number), self.counters[number]
        t = self.pick(index)
        shown = self.shown_day()
        if t is None or how == "unknown":
            ref: Any = "Z999" if how != "id" else 10**6
            t = None
        else:
            ref = t.id if how == "id" else t.label.lower()
            if how == "label" and t.day != shown:
                # numbers start again each day: the label may name today's ticket instead
                t = next((x for x in self.tickets.values()
                          if x.day == shown and x.label == t.label), t)
        expect = self.ready_to_call(actor, c)
        if expect is None:
            if t is None or (how == "label" and t.day != shown):
                expect = (NotFound, "unknown_ticket")
            elif t.day != shown:
                expect = (Conflict, "ticket_expired")
            elif t.state != "waiting":
                expect = (Conflict, "ticket_not_waiting")
            elif t.service not in c.services:
                expect = (Conflict, "not_served_here")
        if self.act(lambda tx: ops.call_ticket(tx, actor, number, ref), expect, 3) is not NOTHING:
            self.called(c, t)

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def recall(self, number: int, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.current(actor, c, ("called",))
        if expect is None and self.tickets[c.current].recalls >= self.recall_limit:
            expect = (Conflict, "recall_limit")
        view = self.act(lambda tx: ops.recall(tx, actor, number), expect, 1)
        if view is not NOTHING:
            self.tickets[c.current].recalls += 1
            assert view["recalls"] == self.tickets[c.current].recalls

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def start(self, number: int, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.current(actor, c, ("called",))
        if self.act(lambda tx: ops.start(tx, actor, number), expect, 2) is not NOTHING:
            self.tickets[c.current].state, c.state = "serving", "serving"

    @rule(number=st.sampled_from(COUNTERS), name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def no_show(self, number: int, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        expect = self.current(actor, c, ("called",))
        if self.act(lambda tx: ops.no_show(tx, actor, number), expect, 2) is not NOTHING:
            self.tickets[c.current].state = "no_show"
            c.state, c.current = "open", None

    @rule(number=st.sampled_from(COUNTERS), outcome=st.sampled_from(OUTCOMES),
          name=st.sampled_from(["owner", "owner", *PEOPLE]))
    def complete(self, number: int, outcome: str, name: str) -> None:
        actor, c = self.who(name, number), self.counters[number]
        if outcome not in ops.OUTCOMES:
            expect: Expect = (Invalid, "invalid_outcome")
        else:
            expect = self.current(actor, c, ("serving",))
        if self.act(lambda tx: ops.complete(tx, actor, number, outcome), expect,
                    2) is not NOTHING:
            self.tickets[c.current].state = "done"
            c.state, c.current = "open", None

    @rule(number=st.sampled_from(COUNTERS), service=st.sampled_from(SERVICES),
          position=st.sampled_from(["front", "back"]))
    def transfer(self, number: int, service: str, position: str) -> None:
        actor, c = self.who("owner", number), self.counters[number]
        expect = self.current(actor, c, ("called", "serving"))
        if expect is None and self.tickets[c.current].service == service:
            expect = (Conflict, "same_service")  # it would count a transfer, moving nobody
        if self.act(lambda tx: ops.transfer(tx, actor, number, service, position), expect,
                    3) is not NOTHING:
            t = self.tickets[c.current]
            t.state, t.service, t.counter, t.recalls, t.moved = (
                "waiting", service, None, 0, True)
            c.state, c.current = "open", None

    @rule(index=st.integers(0, 200), name=st.sampled_from(PEOPLE))
    def reactivate(self, index: int, name: str) -> None:
        t = self.pick(index)
        if t is None:
            return
        actor = self.people[name]
        expect = self.guard(t, "no_show")
        if self.act(lambda tx: ops.reactivate(tx, actor, t.id), expect, 2) is not NOTHING:
            t.state, t.counter, t.recalls = "waiting", None, 0

    @rule(index=st.integers(0, 200), name=st.sampled_from(PEOPLE))
    def cancel(self, index: int, name: str) -> None:
        t = self.pick(index)
        if t is None:
            return
        actor = self.people[name]
        expect = self.guard(t, "waiting")
        if self.act(lambda tx: ops.cancel(tx, actor, t.id), expect, 2) is not NOTHING:
            t.state = "cancelled"

    @rule(service=st.sampled_from(SERVICES), priority=st.sampled_from([None, "merit"]))
    def issue_again(self, service: str, priority: str | None) -> None:
        """Citizens keep coming (a second rule, so issuing is drawn more often)."""
        self.issue(service, priority)

    @rule(number=st.sampled_from(COUNTERS), choice=st.integers(0, 5),
          service=st.sampled_from(SERVICES))
    def work(self, number: int, choice: int, service: str) -> None:
        """What the counter's own officer would do next: open, call, start, serve."""
        state = self.counters[number].state
        if state in ("closed", "paused"):
            self.open(number, "owner")
        elif state == "open":
            self.call_next(number, "owner")
        elif state == "calling":
            (self.recall if choice == 0 else self.no_show if choice == 1 else self.start)(
                number, "owner")
        elif choice == 0:
            self.transfer(number, service, "back" if service != "land" else "front")
        else:
            self.complete(number, ops.OUTCOMES[choice], "owner")

    @rule(minutes=st.sampled_from([1, 2, 3, 5, 8, 13, 21, 40]))
    def clock_forward(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule(hours=st.sampled_from([7, 16, 24]))
    def clock_jumps_ahead(self, hours: int) -> None:
        """Evening, night, or a whole day passes."""
        self.clock.advance(hours=hours)

    @precondition(lambda self: self.day is not None)
    @rule(minutes=st.sampled_from([10, 90, 26 * 60]))
    def clock_back(self, minutes: int) -> None:
        """The box's clock is set back (a wrong NTP answer, a dead RTC battery)."""
        self.clock.advance(minutes=-minutes)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with self.center.db.read() as conn:
            tickets = {t.id: t for t in conn.execute(select(db.tickets)).all()}
            counters = {c.number: c for c in conn.execute(select(db.counters)).all()}
            day_rows = conn.execute(select(db.business_days)).all()
            epoch, seq = events.current(conn)
            seqs = conn.execute(select(db.events.c.seq).where(db.events.c.epoch == epoch)
                                .order_by(db.events.c.seq)).scalars().all()
        by_id = {c.id: n for n, c in counters.items()}

        # tickets conserved: every issued ticket is in exactly one state, as the model says
        assert len(tickets) == sum(self.issued.values()) == len(self.tickets)
        assert sum(Tally(t.state for t in tickets.values()).values()) == len(tickets)
        for tid, m in self.tickets.items():
            t = tickets[tid]
            assert (t.label, t.state, t.service_id, t.recalls) == (
                m.label, m.state, self.sid[m.service], m.recalls), m
            assert t.origin_service_id == self.sid[m.origin]
            if m.state in ("called", "serving", "done", "no_show", "expired"):
                assert by_id.get(t.counter_id) == m.counter, m
            else:
                assert t.counter_id is None, m

        for n, m in self.counters.items():
            c = counters[n]
            assert (c.state, c.officer_id, c.current_ticket_id, c.normal_streak,
                    c.pause_reason) == (m.state, m.owner, m.current, m.streak, m.reason), m

        # one ticket per counter and one counter per ticket, read both ways from the database
        latest = max(day_rows, key=lambda d: d.day) if day_rows else None
        held = [c.current_ticket_id for c in counters.values() if c.current_ticket_id]
        assert len(held) == len(set(held))
        for c in counters.values():
            busy = {"calling": "called", "serving": "serving"}.get(c.state)
            if busy is None:
                assert c.current_ticket_id is None, c
            else:
                t = tickets[c.current_ticket_id]
                assert (t.state, t.counter_id, t.day_id) == (busy, c.id, latest.id), c
        for t in tickets.values():
            if t.state in ("called", "serving") and latest and t.day_id == latest.id:
                assert held.count(t.id) == 1 and counters[by_id[t.counter_id]].current_ticket_id \
                    == t.id, t

        # no label twice in a day; each service's numbers run from 1 without a gap
        per_day: dict[int, list[Any]] = {}
        for t in tickets.values():
            per_day.setdefault(t.day_id, []).append(t)
        for rows in per_day.values():
            assert len({t.label for t in rows}) == len(rows)
            for origin in {t.origin_service_id for t in rows}:
                numbers = sorted(t.number for t in rows if t.origin_service_id == origin)
                assert numbers == list(range(1, len(numbers) + 1))

        # one business day per date, the latest is the model's, and its epoch is current
        assert len({d.day for d in day_rows}) == len(day_rows)
        if latest is not None:
            assert latest.day == self.day and latest.epoch == epoch

        # the log of the current epoch is 1, 2, ..., seq
        assert list(seqs) == list(range(1, seq + 1))

        # within a service and a class, tickets that were never moved wait in issue order
        if latest is not None:
            groups: dict[tuple[int, bool], list[Any]] = {}
            for t in tickets.values():
                if t.day_id == latest.id and t.state == "waiting" and not self.tickets[t.id].moved:
                    groups.setdefault((t.service_id, t.priority is not None), []).append(t)
            for rows in groups.values():
                by_queue = sorted(rows, key=lambda t: (t.queue_at, t.id))
                assert [t.number for t in by_queue] == sorted(t.number for t in rows)


def run_machine(machine: type[QueueMachine], examples: int, steps: int) -> None:
    STATS.clear()
    # a fixed seed, so CI runs the same examples each time
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    print(f"\n{machine.database}: {sum(STATS.values())} actions")
    for name, n in sorted(STATS.items()):
        print(f"  {n:5}  {name}")


def test_queue_state_machine_sqlite() -> None:
    run_machine(QueueMachine, examples=20, steps=50)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need LAYSO_TEST_DATABASE_URL")
def test_queue_state_machine_postgresql() -> None:
    class PgMachine(QueueMachine):
        database = "postgresql"

    run_machine(PgMachine, examples=10, steps=40)

