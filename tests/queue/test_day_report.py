"""The dashboard's day report: what a new user found wrong with it, counted by hand."""

from __future__ import annotations

from layso.queue import reports
from tests.queue.helpers import utc
from tests.queue.test_reports import DAY, at, day  # noqa: F401 - the hand-counted morning


def day_report(center, the_day=None):
    with center.read() as r:
        return reports.day_report(r, the_day)


def test_a_reactivated_no_show_still_counts_as_one(center, day):  # noqa: F811
    rep = day_report(center, DAY)
    # A002 was absent at counter 1 (o1), reactivated, then served at counter 2: DESIGN counts
    # it in both served and no-show
    assert rep["totals"]["no_show"] == 1 and rep["totals"]["served"] == 4
    civil = next(s for s in rep["services"] if s["code"] == "civil-status")
    assert (civil["served"], civil["no_show"]) == (2, 1)
    by_counter = {c["number"]: c for c in rep["counters"]}
    assert (by_counter[1]["no_show"], by_counter[2]["no_show"]) == (1, 0)
    by_official = {o["name"]: o for o in rep["officials"]}
    assert (by_official["O1"]["no_show"], by_official["O2"]["no_show"]) == (1, 0)


def test_a_transfer_keeps_the_service_it_left(center, day):  # noqa: F811
    rep = day_report(center, DAY)
    svc = {s["code"]: s for s in rep["services"]}
    # C001 was issued for land and finished in certification
    assert (svc["land"]["issued"], svc["land"]["transferred"], svc["land"]["served"]) == (1, 1, 0)
    assert svc["certification"]["served"] == 2 and svc["certification"]["transferred"] == 0
    assert rep["totals"]["transferred"] == 1


def test_a_past_day_has_no_live_counters(center, day, clock):  # noqa: F811
    assert day_report(center, DAY)["live"] is True
    assert {c["state"] for c in day_report(center, DAY)["counters"]} != {None}
    clock.now = utc(2026, 11, 26, 2, 0)  # the next morning, 09:00 local
    rep = day_report(center, DAY)
    assert rep["live"] is False
    assert [c["state"] for c in rep["counters"]] == [None, None]
    assert [c["served"] for c in rep["counters"]] == [2, 2]
