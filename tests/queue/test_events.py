"""The event log: appended in the action's transaction, seq gap-free, nothing on a refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from layso import db, events
from layso.cli import new_epoch_after_restore
from layso.config import load
from layso.db import Database
from layso.events import Hub
from layso.queue import Center, Conflict, ops, reading
from tests.queue.helpers import days, log, refused, run, run_logged, snapshot, stream


def test_a_day_of_work_appends_one_gap_free_run_of_events(center, officers, kiosk_actor, clock):
    o1, o2 = officers["o1"], officers["o2"]
    steps = [
        (ops.issue, kiosk_actor, "civil-status"),
        (ops.issue, kiosk_actor, "certification", "elderly"),
        (ops.open_counter, o1, 1),
        (ops.open_counter, o2, 2),
        (ops.call_next, o1, 1),
        (ops.recall, o1, 1),
        (ops.start, o1, 1),
        (ops.transfer, o1, 1, "land", "front"),
        (ops.call_next, o2, 2),
        (ops.no_show, o2, 2),
        (ops.pause_counter, o2, 2, "Nghỉ"),
        (ops.close_counter, o2, 2),
    ]
    counts = []
    for op, actor, *args in steps:
        clock.advance(seconds=30)
        _, types = run_logged(center, op, actor, *args)
        counts.append(len(types))
    assert counts == [3, 2, 1, 1, 3, 1, 2, 3, 3, 2, 1, 1]
    epoch, seq = stream(center)
    rows = [r for r in log(center) if r[0] == epoch]
    assert [r[1] for r in rows] == list(range(1, seq + 1)) and seq == sum(counts)
    assert rows[0][2] == "day.opened"


def test_events_are_published_after_commit_in_log_order(center, officers, kiosk_actor):
    seen = []
    center.hub.subscribe(seen.append)
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    epoch, seq = stream(center)
    assert [(e.epoch, e.seq) for e in seen] == [(epoch, n) for n in range(1, seq + 1)]
    called = next(e for e in seen if e.type == "ticket.called")
    msg = called.as_message()
    assert (msg["type"], msg["epoch"], msg["seq"]) == ("ticket.called", epoch, called.seq)
    assert msg["ticket"]["label"] == "A001" and msg["counter"]["number"] == 1
    assert msg["at"].endswith("+00:00")


def test_a_refused_action_appends_and_publishes_nothing(center, officers, kiosk_actor):
    seen = []
    run(center, ops.issue, kiosk_actor, "civil-status")
    center.hub.subscribe(seen.append)
    before = stream(center)
    refused(center, Conflict, "counter_closed", ops.call_next, officers["o1"], 1)
    assert stream(center) == before and seen == []


def test_a_transaction_that_fails_after_an_action_leaves_no_trace(center, kiosk_actor):
    run(center, ops.issue, kiosk_actor, "civil-status")
    seen = []
    center.hub.subscribe(seen.append)
    before = snapshot(center)
    with pytest.raises(RuntimeError):
        with center.write() as tx:
            ops.issue(tx, kiosk_actor, "civil-status")
            assert len(tx.events) == 2
            raise RuntimeError("power cut")
    assert snapshot(center) == before and seen == []
    assert run(center, ops.issue, kiosk_actor, "civil-status")["label"] == "A002"


def test_a_failing_emitter_never_undoes_an_action(center, kiosk_actor):
    def broken(_event):
        raise OSError("socket gone")

    center.hub.subscribe(broken)
    assert run(center, ops.issue, kiosk_actor, "civil-status")["label"] == "A001"
    assert stream(center)[1] == 3


def test_since_replays_missed_events_or_asks_for_a_snapshot(center, kiosk_actor, clock):
    run(center, ops.issue, kiosk_actor, "civil-status")
    epoch, seq = stream(center)
    run(center, ops.issue, kiosk_actor, "civil-status")
    with center.db.read() as conn:
        missed = events.since(conn, epoch, seq)
        assert [(e.seq, e.type) for e in missed] == [(4, "ticket.issued"), (5, "queue.changed")]
        assert missed[0].payload["ticket"]["label"] == "A002"
        assert events.since(conn, epoch, seq + 2) == []
        assert events.since(conn, epoch, seq + 3) is None       # from the future
        assert events.since(conn, "other.epoch", 1) is None     # another day or a restore
        assert events.since(conn, epoch, 0, limit=4) is None    # too far behind
        assert len(events.since(conn, epoch, 0, limit=5)) == 5
    clock.advance(days=1)
    run(center, ops.issue, kiosk_actor, "civil-status")
    with center.db.read() as conn:
        assert events.since(conn, epoch, seq + 2) is None


def test_events_carry_no_personal_data(center, officers, kiosk_actor):
    t = run(center, ops.issue, kiosk_actor, "civil-status", priority="elderly")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    token = t["status_url"].rsplit("/", 1)[1]
    with center.db.read() as conn:
        payloads = conn.execute(select(db.events.c.payload)).scalars().all()
    assert payloads and all(token not in repr(p) for p in payloads)


def test_a_restored_backup_starts_a_new_epoch_in_the_same_business_day(
        center, officers, kiosk_actor, clock, db_url, tmp_path):
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    epoch0, seq0 = stream(center)
    day0 = days(center)
    center.db.dispose()
    # `layso restore` (server stopped), then the server starts again on the restored data
    new_epoch_after_restore(load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url}))
    clock.advance(minutes=5)
    restarted = Center(Database(db_url, clock=clock), Hub(), public_url="http://layso.test")
    try:
        epoch1, seq1 = stream(restarted)
        assert epoch1 != epoch0 and seq1 == 0
        with restarted.db.read() as conn:
            assert events.since(conn, epoch0, seq0) is None  # every client takes a snapshot
        view, types = run_logged(restarted, ops.issue, kiosk_actor, "civil-status")
        # the same business day goes on: no day.opened, numbering continues, seq starts at 1
        assert (view["label"], types) == ("A003", ["ticket.issued", "queue.changed"])
        assert stream(restarted) == (epoch1, 2) and days(restarted) == day0
        with restarted.read() as r:
            assert [c["ticket"]["label"] for c in reading.recent_calls(r)] == ["A001"]
        run(restarted, ops.open_counter, officers["o2"], 2)
        run(restarted, ops.call_next, officers["o2"], 2)
        with restarted.read() as r:  # the new epoch's call first, then the day's earlier ones
            assert [c["ticket"]["label"] for c in reading.recent_calls(r)] == ["A002", "A001"]
    finally:
        restarted.db.dispose()


def test_calls_made_after_the_clock_was_set_back_stay_on_the_board(
        center, officers, kiosk_actor, clock):
    for _ in range(3):
        run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.open_counter, officers["o2"], 2)
    clock.advance(minutes=5)
    run(center, ops.call_next, officers["o1"], 1)
    clock.advance(minutes=-30)  # the box's clock is corrected back, to before the day opened
    run(center, ops.call_next, officers["o2"], 2)
    clock.advance(minutes=1)
    run(center, ops.recall, officers["o1"], 1)
    with center.read() as r:
        labels = [c["ticket"]["label"] for c in reading.recent_calls(r)]
        # newest first, as they were made; the recalled A001 once, at its recall
        assert labels == ["A001", "A002"]
        assert [c["ticket"]["label"] for c in reading.board(r)["recent"]] == labels


def test_the_recent_calls_hold_each_citizen_once_and_drop_a_transferred_one(
        center, officers, kiosk_actor):
    for _ in range(3):
        run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, officers["o1"], 1)

    def recent() -> list[tuple[str, int]]:
        with center.read() as r:
            return [(c["ticket"]["label"], c["counter"]["number"])
                    for c in reading.recent_calls(r)]

    run(center, ops.call_next, officers["o1"], 1)
    run(center, ops.recall, officers["o1"], 1)
    run(center, ops.recall, officers["o1"], 1)
    assert recent() == [("A001", 1)]  # two recalls made no second or third tile
    run(center, ops.start, officers["o1"], 1)
    run(center, ops.complete, officers["o1"], 1, "done")
    run(center, ops.call_next, officers["o1"], 1)
    assert recent() == [("A002", 1), ("A001", 1)]
    # A002 belongs to another service: it waits there, nobody should go to counter 1 for it
    run(center, ops.start, officers["o1"], 1)
    run(center, ops.transfer, officers["o1"], 1, "certification", "front")
    assert recent() == [("A001", 1)]
    # called again where it now waits: back on the board, at that counter
    run(center, ops.open_counter, officers["o2"], 2)  # certification first
    run(center, ops.call_next, officers["o2"], 2)
    assert recent() == [("A002", 2), ("A001", 1)]
