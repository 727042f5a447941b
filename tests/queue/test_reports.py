"""Reports over a period: every figure against days counted by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from layso.queue import Actor, Invalid, ops, reports
from tests.queue.helpers import run, set_center, utc

TABLET = Actor(kind="device", id=None, role="feedback")
DAY = date(2026, 11, 25)


def at(clock: Any, hh: int, mm: int) -> None:
    """Set the clock to a local time (Hà Nội, UTC+7) on 25 November 2026."""
    clock.now = utc(2026, 11, 25, hh - 7, mm)


@pytest.fixture
def day(center, officers, kiosk_actor, clock):
    """A morning counted by hand (times local):

    08:30 A001, 08:32 A002, 08:34 B001, 08:36 C001, 08:38 A003 issued.
    08:40 counter 1 (o1) calls A001 and starts; counter 3 (o3) calls C001 and starts.
    08:45 A003 cancelled. 08:50 A001 completed (rated 5); C001 transferred to certification,
    front. 08:50 counter 1 calls A002; 08:52 absent. 08:52 counter 1 calls C001 (now B) and
    starts. 09:00 A002 reactivated. 09:02 C001 completed (rated 4). 09:05 counter 2 (o2) calls
    A002, starts; 09:15 completed (rated 2, long wait, comment). 09:15 counter 2 calls B001,
    starts; 09:21 completed.
    """
    o1, o2, o3 = officers["o1"], officers["o2"], officers["o3"]
    t = {}
    for hh, mm, name, svc in ((8, 30, "A001", "civil-status"), (8, 32, "A002", "civil-status"),
                              (8, 34, "B001", "certification"), (8, 36, "C001", "land"),
                              (8, 38, "A003", "civil-status")):
        at(clock, hh, mm)
        t[name] = run(center, ops.issue, kiosk_actor, svc)
        assert t[name]["label"] == name
    at(clock, 8, 40)
    run(center, ops.open_counter, o1, 1)
    assert run(center, ops.call_next, o1, 1)["label"] == "A001"
    run(center, ops.start, o1, 1)
    run(center, ops.open_counter, o3, 3)
    assert run(center, ops.call_next, o3, 3)["label"] == "C001"
    run(center, ops.start, o3, 3)
    at(clock, 8, 45)
    run(center, ops.cancel, o1, t["A003"]["id"])
    at(clock, 8, 50)
    run(center, ops.complete, o1, 1, "done")
    run(center, ops.rate, TABLET, t["A001"]["id"], 5)
    run(center, ops.transfer, o3, 3, "certification", "front")
    assert run(center, ops.call_next, o1, 1)["label"] == "A002"
    at(clock, 8, 52)
    run(center, ops.no_show, o1, 1)
    assert run(center, ops.call_next, o1, 1)["label"] == "C001"
    run(center, ops.start, o1, 1)
    at(clock, 9, 0)
    run(center, ops.reactivate, o1, t["A002"]["id"])
    at(clock, 9, 2)
    run(center, ops.complete, o1, 1, "received")
    run(center, ops.rate, TABLET, t["C001"]["id"], 4)
    at(clock, 9, 5)
    run(center, ops.open_counter, o2, 2)
    assert run(center, ops.call_next, o2, 2)["label"] == "A002"
    run(center, ops.start, o2, 2)
    at(clock, 9, 15)
    run(center, ops.complete, o2, 2, "done")
    run(center, ops.rate, TABLET, t["A002"]["id"], 2, "long_wait", "Chờ lâu quá")
    assert run(center, ops.call_next, o2, 2)["label"] == "B001"
    run(center, ops.start, o2, 2)
    at(clock, 9, 21)
    run(center, ops.complete, o2, 2, "advised")
    return t


def scale(center, value):
    """Set the center's rating scale (its settings page belongs to the administration)."""
    from sqlalchemy import update

    from layso import db
    with center.db.write() as conn:
        conn.execute(update(db.center).values(rating_scale=value))


def report(center, by, first=DAY, last=DAY):
    with center.read() as r:
        return reports.period_report(r, first, last, by)


def ratings(count, mean, scores, levels):
    return {"count": count, "mean": mean,
            "by_score": {str(i): scores.get(i, 0) for i in range(1, 6)},
            "by_level": dict(zip(("very_satisfied", "satisfied", "unsatisfied"), levels,
                                 strict=True))}


def figures(issued, served, no_show, cancelled, transferred, wait, p90_wait, service,
            p90_service, within, rating):
    return {"issued": issued, "served": served, "no_show": no_show, "cancelled": cancelled,
            "transferred": transferred, "mean_wait_minutes": wait,
            "p90_wait_minutes": p90_wait, "mean_service_minutes": service,
            "p90_service_minutes": p90_service, "within_target_pct": within, "ratings": rating}


# waits 10 (A001), 33 (A002), 41 (B001), 16 (C001); service 10, 10, 6, 10; target 30
TOTALS = figures(5, 4, 1, 1, 1, 25.0, 41.0, 9.0, 10.0, 50.0,
                 ratings(3, 3.67, {5: 1, 4: 1, 2: 1}, (1, 1, 1)))


def items(rep):
    return {i["key"]: {k: v for k, v in i.items() if k not in ("key", "name")}
            for i in rep["items"]}


@pytest.mark.parametrize("by", reports.BYS)
def test_totals_are_the_same_whatever_the_grouping(center, day, by):
    rep = report(center, by)
    assert (rep["from"], rep["to"], rep["by"]) == ("2026-11-25", "2026-11-25", by)
    assert rep["totals"] == TOTALS


def test_by_day_and_by_hour_the_morning_is_one_group(center, day):
    assert items(report(center, "day")) == {"2026-11-25": TOTALS}
    assert report(center, "day")["items"][0]["name"]["vi"] == "Thứ tư, 25/11/2026"
    rep = report(center, "hour")
    assert items(rep) == {"08": TOTALS}
    assert rep["items"][0]["name"]["vi"] == "08:00–09:00"


def test_by_service_a_transfer_counts_where_it_finished_and_where_it_left(center, day):
    got = items(report(center, "service"))
    assert list(got) == ["civil-status", "certification", "land"]
    # A: A001, A002 served (A002 also absent once), A003 cancelled
    assert got["civil-status"] == figures(3, 2, 1, 1, 0, 21.5, 33.0, 10.0, 10.0, 50.0,
                                          ratings(2, 3.5, {5: 1, 2: 1}, (1, 0, 1)))
    # B: B001 issued here; C001 finished here after its transfer from C
    assert got["certification"] == figures(1, 2, 0, 0, 0, 28.5, 41.0, 8.0, 10.0, 50.0,
                                           ratings(1, 4.0, {4: 1}, (0, 1, 0)))
    assert got["land"] == figures(1, 0, 0, 0, 1, None, None, None, None, None,
                                  ratings(0, None, {}, (0, 0, 0)))


def test_by_counter_and_officer_absences_and_transfers_stay_where_they_happened(center, day):
    counter = items(report(center, "counter"))
    assert counter == {
        1: figures(None, 2, 1, 0, 0, 13.0, 16.0, 10.0, 10.0, 100.0,
                   ratings(2, 4.5, {5: 1, 4: 1}, (1, 1, 0))),
        2: figures(None, 2, 0, 0, 0, 37.0, 41.0, 8.0, 10.0, 0.0,
                   ratings(1, 2.0, {2: 1}, (0, 0, 1))),
        3: figures(None, 0, 0, 0, 1, None, None, None, None, None,
                   ratings(0, None, {}, (0, 0, 0))),
    }
    officer = report(center, "officer")
    assert items(officer) == {"o1": counter[1], "o2": counter[2], "o3": counter[3]}
    assert [i["name"]["vi"] for i in officer["items"]] == ["O1", "O2", "O3"]
    names = [i["name"]["vi"] for i in report(center, "counter")["items"]]
    assert names == ["Quầy 1", "Quầy 2", "Quầy 3"]


def test_by_procedure_groups_the_tickets_that_name_one(center, officers, kiosk_actor, clock):
    with center.read() as r:
        from sqlalchemy import select

        from layso import db
        procs = r.conn.execute(select(db.procedures.c.code, db.procedures.c.name_vi)
                               .join(db.services).where(db.services.c.code == "civil-status")
                               ).all()
    if not procs:
        pytest.skip("the demo center has no procedures")
    code, name = procs[0]
    run(center, ops.issue, kiosk_actor, "civil-status", procedure=code)
    run(center, ops.issue, kiosk_actor, "civil-status")
    rep = report(center, "procedure")
    # the one without a procedure has its own row, last, so the rows account for the total
    assert [(i["key"], i["name"]["vi"], i["issued"]) for i in rep["items"]] == [
        (code, name, 1), ("", "Không ghi thủ tục", 1)]
    assert rep["totals"]["issued"] == 2


def test_a_day_is_the_business_day_of_the_center_not_utc(center, kiosk_actor, clock):
    clock.now = utc(2026, 11, 25, 16, 50)  # 23:50 in Hà Nội, 25 November
    run(center, ops.issue, kiosk_actor, "land")
    clock.now = utc(2026, 11, 25, 17, 10)  # 00:10 in Hà Nội, 26 November (UTC: still the 25th)
    run(center, ops.issue, kiosk_actor, "land")
    run(center, ops.issue, kiosk_actor, "land")
    assert report(center, "day", DAY, DAY)["totals"]["issued"] == 1
    two = report(center, "day", DAY, date(2026, 11, 26))
    assert {i["key"]: i["issued"] for i in two["items"]} == {"2026-11-25": 1, "2026-11-26": 2}
    hours = report(center, "hour", DAY, date(2026, 11, 26))
    assert {i["key"]: i["issued"] for i in hours["items"]} == {"00": 2, "23": 1}


def test_hours_follow_another_time_zone(center, kiosk_actor, clock):
    set_center(center, timezone="Asia/Kolkata")  # UTC+5:30: hours do not fall on UTC hours
    clock.now = utc(2026, 11, 25, 3, 40)  # 09:10 in Kolkata
    run(center, ops.issue, kiosk_actor, "land")
    hours = report(center, "hour")
    assert [i["key"] for i in hours["items"]] == ["09"]


def test_the_three_levels_scale_counts_in_both_views(center, officers, kiosk_actor, clock):
    scale(center, "three")
    o1 = officers["o1"]
    run(center, ops.open_counter, o1, 3)
    for score in (5, 4, 1, 4):
        t = run(center, ops.issue, kiosk_actor, "land")
        run(center, ops.call_next, o1, 3)
        run(center, ops.start, o1, 3)
        clock.advance(minutes=3)
        run(center, ops.complete, o1, 3, "done")
        run(center, ops.rate, TABLET, t["id"], score, "attitude" if score == 1 else None)
    rep = report(center, "service")["totals"]["ratings"]
    assert rep == ratings(4, 3.5, {5: 1, 4: 2, 1: 1}, (1, 2, 1))


def test_a_reactivated_absence_still_counts_once_when_absent_twice(center, officers,
                                                                   kiosk_actor, clock):
    o1 = officers["o1"]
    t = run(center, ops.issue, kiosk_actor, "land")
    run(center, ops.open_counter, o1, 3)
    for _ in range(2):
        run(center, ops.call_next, o1, 3)
        run(center, ops.no_show, o1, 3)
        run(center, ops.reactivate, o1, t["id"])
    run(center, ops.call_next, o1, 3)
    run(center, ops.start, o1, 3)
    run(center, ops.complete, o1, 3, "done")
    totals = report(center, "day")["totals"]
    assert (totals["issued"], totals["served"], totals["no_show"]) == (1, 1, 1)


def test_days_with_nothing_give_zeros_and_no_items(center):
    rep = report(center, "day", date(2020, 1, 1), date(2020, 12, 31))
    assert rep["items"] == []
    assert rep["totals"] == figures(0, 0, 0, 0, 0, None, None, None, None, None,
                                    ratings(0, None, {}, (0, 0, 0)))


def test_comments_name_the_ticket_service_counter_and_official(center, day):
    with center.read() as r:
        got = reports.comments(r, DAY, DAY)
    assert len(got) == 1
    (c,) = got
    assert (c["ticket"], c["service"]["code"], c["counter"]["number"], c["official"],
            c["score"], c["level"], c["reason"]["code"], c["reason"]["name"]["vi"],
            c["comment"]) == ("A002", "civil-status", 2, "O2", 2, "unsatisfied", "long_wait",
                              "Thời gian chờ lâu", "Chờ lâu quá")
    assert c["at"].endswith("+07:00")


@pytest.mark.parametrize(("first", "last", "code"), [
    ("2026-11-25", "2026-11-24", "invalid_period"),
    ("2026-02-30", "2026-03-01", "invalid_period"),
    ("25-11-2026", "2026-11-25", "invalid_period"),
    (None, "2026-11-25", "invalid_period"),
    ("2025-01-01", "2026-01-02", "period_too_long"),
])
def test_a_bad_or_too_long_period_is_refused(first, last, code):
    with pytest.raises(Invalid) as info:
        reports.parse_period(first, last)
    assert info.value.code == code


def test_a_leap_year_fits_in_one_report():
    assert reports.parse_period("2028-01-01", "2028-12-31") == (date(2028, 1, 1),
                                                                 date(2028, 12, 31))
    with pytest.raises(Invalid):
        reports.parse_by("week")


def test_the_official_levels():
    assert [reports.level(s) for s in (1, 2, 3, 4, 5)] == [
        "unsatisfied", "unsatisfied", "satisfied", "satisfied", "very_satisfied"]


def test_past_days_read_from_their_rollups_give_the_same_figures(center, day, clock):
    live = {by: report(center, by) for by in reports.BYS}
    assert reports.ensure_rollups(center, DAY, DAY) == 0  # today is still counted live
    clock.now = utc(2026, 11, 26, 2, 0)
    assert reports.ensure_rollups(center, DAY, date(2026, 11, 26)) == 1
    assert reports.ensure_rollups(center, DAY, DAY) == 0  # once
    for by in reports.BYS:
        assert report(center, by) == live[by], by
    with center.read() as r:
        from sqlalchemy import func, select

        from layso import db
        assert r.conn.execute(select(func.count()).select_from(db.report_rollups)).scalar() \
            == len(reports.ROLLUP_BYS)


@pytest.mark.parametrize("waits", [
    [20, 25, 40],  # the P90 read 0.5 min, below the mean 0.5…, the dashboard 0.7
    list(range(31, 60, 2)),  # fifteen in one bucket, evenly spread
    [65, 65, 65, 125, 610],  # equal values on a bucket's edge
], ids=["one-per-bucket", "spread-in-a-bucket", "on-the-edge"])
def test_the_p90_wait_is_the_dashboards_not_a_buckets_lower_edge(
        center, officers, kiosk_actor, clock, waits):
    """The period reports read percentiles from 30-second histograms; the P90 was the bucket's
    lower edge, up to half a minute under the dashboard's for the same day. Live and rolled up,
    it now agrees with the dashboard's exact nearest-rank value, and never reads below the
    mean wait when the dashboard does not."""
    from datetime import timedelta

    o1 = officers["o1"]
    at(clock, 8, 0)
    start = clock.now
    for _ in waits:
        run(center, ops.issue, kiosk_actor, "civil-status")
    run(center, ops.open_counter, o1, 1)
    for w in waits:
        clock.now = start + timedelta(seconds=w)
        run(center, ops.call_next, o1, 1)
        run(center, ops.start, o1, 1)
        run(center, ops.complete, o1, 1, "done")
    with center.read() as r:
        dash = reports.day_report(r, DAY)["wait_minutes"]
    exact = sorted(waits)[-(-len(waits) * 9 // 10) - 1] / 60
    assert dash["p90"] == round(exact, 1)
    live = report(center, "service")["totals"]
    assert live["p90_wait_minutes"] == dash["p90"]
    assert live["mean_wait_minutes"] == dash["mean"]
    assert live["p90_wait_minutes"] >= live["mean_wait_minutes"]
    clock.now = utc(2026, 11, 26, 2, 0)
    assert reports.ensure_rollups(center, DAY, DAY) == 1
    assert report(center, "service")["totals"]["p90_wait_minutes"] == dash["p90"]
