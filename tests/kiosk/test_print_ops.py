"""The domain side of printing: print results, print jobs, reprint and printer events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from layso import db
from layso.queue import Conflict, Forbidden, Invalid, ops


def events_of(center, kind: str) -> list:
    got: list = []
    center.hub.subscribe(lambda e: got.append(e) if e.type == kind else None)
    return got


def test_print_result_records_jobs_and_emits_only_on_change(center, kiosk_actor) -> None:
    printed = events_of(center, "ticket.printed")
    with center.write() as tx:
        t = ops.issue(tx, kiosk_actor, "land", print_state="queued")
    with center.write() as tx:
        assert ops.print_result(tx, t["id"], "waiting_printer", "paper out")["print"] == {
            "state": "waiting_printer"}
    with center.write() as tx:
        assert ops.print_result(tx, t["id"], "waiting_printer", "paper out") is None
    with center.write() as tx:
        ops.print_result(tx, t["id"], "printed")
    assert [e.payload["print"]["state"] for e in printed] == ["waiting_printer", "printed"]
    assert printed[0].payload["ticket"]["label"] == "C001"
    assert "status_url" not in printed[0].payload["ticket"]  # events never open the page
    with center.read() as r:
        jobs = r.conn.execute(select(db.print_jobs)).all()
    assert [(j.state, j.attempts, j.error) for j in jobs] == [("printed", 3, None)]
    with center.write() as tx, pytest.raises(Invalid):
        ops.print_result(tx, t["id"], "none")


def test_reprint_is_for_staff_and_starts_a_new_job(center, kiosk_actor, officers) -> None:
    with center.write() as tx:
        t = ops.issue(tx, kiosk_actor, "land", print_state="queued")
        ops.print_result(tx, t["id"], "printed")
    with center.write() as tx, pytest.raises(Forbidden):
        ops.reprint(tx, kiosk_actor, t["id"])
    with center.write() as tx:
        assert ops.reprint(tx, officers["o1"], t["id"])["print"]["state"] == "queued"
    with center.read() as r:
        assert len(r.conn.execute(select(db.print_jobs)).all()) == 2
    with center.write() as tx:
        ops.cancel(tx, officers["o1"], t["id"])
    with center.write() as tx, pytest.raises(Conflict):
        ops.reprint(tx, officers["o1"], t["id"])


def test_printer_changed_is_an_alert_only_for_trouble(center) -> None:
    changes = events_of(center, "printer.changed")
    with center.write() as tx:
        ops.printer_changed(tx, "paper_out", "ok", "x" * 500, waiting=2)
        ops.printer_changed(tx, "paper_near_end", "paper_out")
    assert [(c.payload["printer"], c.payload["alert"]) for c in changes] == [
        ("paper_out", True), ("paper_near_end", False)]
    assert len(changes[0].payload["error"]) == 200 and changes[0].payload["waiting"] == 2
    with center.write() as tx, pytest.raises(Invalid):
        ops.printer_changed(tx, "on_fire")

