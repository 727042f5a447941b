"""Arrivals per hour of the day for each weekday: live for today, from rollups afterwards."""

from __future__ import annotations

from datetime import date

from layso.queue import ops, reports
from tests.queue.helpers import run, utc
from tests.queue.test_reports import DAY, at, day  # noqa: F401 - the hand-counted morning


def arrivals(center, first, last):
    with center.read() as r:
        return reports.arrivals(r, first, last)


def test_the_morning_by_hour_live_and_from_rollups(center, day, clock, kiosk_actor):  # noqa: F811
    week = (date(2026, 11, 23), date(2026, 11, 29))
    live = arrivals(center, *week)
    # five numbers between 08:30 and 08:38 on Wednesday 25 November (Hà Nội time)
    assert live["weekdays"] == [{"key": 2, "name": {"vi": "Thứ tư", "en": "Wednesday"},
                                 "days": 1, "hours": {"08": {"issued": 5, "mean": 5.0}}}]
    # Thursday: 06:59 and 07:00 local fall in two hours (00:00 UTC is 07:00 here)
    clock.now = utc(2026, 11, 25, 23, 59)
    run(center, ops.issue, kiosk_actor, "land")
    clock.now = utc(2026, 11, 26, 0, 0)
    run(center, ops.issue, kiosk_actor, "land")
    # the next week: both days are past, read from their rollups
    clock.now = utc(2026, 12, 1, 2, 0)
    assert reports.ensure_rollups(center, *week) == 2
    got = arrivals(center, *week)["weekdays"]
    assert [(w["key"], w["days"], w["hours"]) for w in got] == [
        (2, 1, {"08": {"issued": 5, "mean": 5.0}}),
        (3, 1, {"06": {"issued": 1, "mean": 1.0}, "07": {"issued": 1, "mean": 1.0}})]
    assert got == arrivals(center, *week)["weekdays"]  # the same again, from the rollups


def test_a_weekday_mean_is_over_the_days_that_had_tickets(center, clock, kiosk_actor):
    for d in (2, 9):  # two Wednesdays: three numbers, then one, at 09:xx
        for i in range(3 if d == 2 else 1):
            clock.now = utc(2026, 12, d, 2, 10 + i)
            run(center, ops.issue, kiosk_actor, "civil-status")
    clock.now = utc(2026, 12, 10, 2, 0)
    [w] = arrivals(center, date(2026, 12, 1), date(2026, 12, 10))["weekdays"]
    assert (w["key"], w["days"], w["hours"]) == (2, 2, {"09": {"issued": 4, "mean": 2.0}})
    assert DAY.weekday() == 2
