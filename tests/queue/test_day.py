"""Business day, daily numbering, labels, opening hours and daily caps."""

from __future__ import annotations

from datetime import date

import pytest

from layso.queue import Conflict, Invalid, catalog, ops, reading
from tests.queue.helpers import (
    counter,
    days,
    refused,
    run,
    run_logged,
    set_center,
    set_service,
    stream,
    ticket,
    utc,
)


def issue(center, kiosk, service="civil-status", **kw):
    return run(center, ops.issue, kiosk, service, **kw)


def test_numbers_count_per_service_from_one(center, kiosk_actor):
    labels = [issue(center, kiosk_actor, s)["label"] for s in
              ("civil-status", "civil-status", "certification", "civil-status", "land")]
    assert labels == ["A001", "A002", "B001", "A003", "C001"]


def test_labels_pad_to_three_digits_and_grow_past_999(center, kiosk_actor):
    set_service(center, "A", start_number=23)
    set_service(center, "B", start_number=999)
    assert issue(center, kiosk_actor)["label"] == "A023"
    assert [issue(center, kiosk_actor, "certification")["label"] for _ in range(3)] == [
        "B999", "B1000", "B1001"]


def test_business_day_is_the_local_date_not_utc(center, clock, kiosk_actor):
    clock.now = utc(2026, 11, 25, 16, 30)  # 23:30 in Hà Nội, still the 25th
    late = issue(center, kiosk_actor)
    clock.now = utc(2026, 11, 25, 23, 30)  # 23:30 UTC is 06:30 on the 26th in Hà Nội
    early = issue(center, kiosk_actor)
    assert (late["label"], early["label"]) == ("A001", "A001")
    assert [d.day for d in days(center)] == [date(2026, 11, 25), date(2026, 11, 26)]
    assert ticket(center, early["id"]).day_id == days(center)[1].id


def test_a_three_letter_prefix_and_prefixes_that_are_refused(center, kiosk_actor):
    def prefix(code, value):
        with center.db.write() as conn:
            catalog.upsert_service(conn, code, value, "Hộ tịch", "Civil status")

    prefix("civil-status", "HTA")
    assert [issue(center, kiosk_actor)["label"] for _ in range(2)] == ["HTA001", "HTA002"]
    for value in ("", "ABCD", "a", "A1", "Đ"):
        with pytest.raises(Invalid) as info:
            prefix("certification", value)
        assert info.value.code == "invalid_prefix"


def test_the_business_day_follows_the_center_s_time_zone(center, clock, kiosk_actor):
    with center.read() as r:
        assert r.center.timezone == "Asia/Ho_Chi_Minh"  # the default
    issue(center, kiosk_actor)
    set_center(center, timezone="Asia/Tokyo")
    clock.now = utc(2026, 11, 25, 15, 30)  # 22:30 in Hà Nội, but 00:30 on the 26th in Tokyo
    assert issue(center, kiosk_actor)["label"] == "A001"
    assert [d.day for d in days(center)] == [date(2026, 11, 25), date(2026, 11, 26)]


def test_reading_on_a_new_date_opens_no_day_and_shows_no_old_queue(center, clock, kiosk_actor):
    issue(center, kiosk_actor)
    clock.advance(days=1)
    with center.read() as r:
        board = reading.board(r)
    assert board["day"] == "2026-11-26" and board["waiting"]["civil-status"] == 0
    assert [d.day for d in days(center)] == [date(2026, 11, 25)]  # the first ticket opens it


def test_numbering_restarts_at_the_start_number_each_day(center, clock, kiosk_actor):
    set_service(center, "A", start_number=50)
    assert [issue(center, kiosk_actor)["label"] for _ in range(2)] == ["A050", "A051"]
    clock.advance(days=1)
    assert issue(center, kiosk_actor)["label"] == "A050"


def test_numbering_restarts_each_local_day(center, clock, kiosk_actor):
    for _ in range(3):
        issue(center, kiosk_actor)
    clock.now = utc(2026, 11, 25, 17, 0)  # local midnight
    assert issue(center, kiosk_actor)["label"] == "A001"


def test_a_new_day_opens_a_new_epoch_and_closes_counters(center, clock, kiosk_actor, officers):
    issue(center, kiosk_actor)
    run(center, ops.open_counter, officers["o1"], 1)
    run(center, ops.call_next, officers["o1"], 1)
    run(center, ops.open_counter, officers["o2"], 2)
    epoch0, _ = stream(center)
    clock.advance(days=1)
    view, types = run_logged(center, ops.issue, kiosk_actor, "civil-status")
    epoch1, seq1 = stream(center)
    assert view["label"] == "A001"
    assert epoch1 != epoch0 and types == ["day.opened", "ticket.issued", "queue.changed"]
    assert seq1 == 3
    for n in (1, 2):
        c = counter(center, n)
        assert (c.state, c.current_ticket_id, c.officer_id) == ("closed", None, None)
    assert days(center)[-1].epoch == epoch1


def test_opening_a_counter_opens_the_day_so_the_first_ticket_keeps_it_open(
        center, clock, kiosk_actor, officers):
    clock.advance(days=1)
    _, types = run_logged(center, ops.open_counter, officers["o1"], 1)
    assert types == ["day.opened", "counter.changed"]
    issue(center, kiosk_actor)
    assert counter(center, 1).state == "open"


def test_a_clock_that_goes_back_keeps_the_day_and_its_numbers(center, clock, kiosk_actor):
    clock.now = utc(2026, 11, 26, 1, 0)
    assert [issue(center, kiosk_actor)["label"] for _ in range(2)] == ["A001", "A002"]
    epoch, _ = stream(center)
    clock.now = utc(2026, 11, 24, 1, 0)  # a box that booted two days behind
    assert issue(center, kiosk_actor)["label"] == "A003"
    clock.now = utc(2026, 11, 25, 23, 0)  # still behind, but later the same day...
    assert issue(center, kiosk_actor)["label"] == "A004"
    assert [d.day for d in days(center)] == [date(2026, 11, 26)]
    assert stream(center)[0] == epoch


def test_a_clock_that_goes_back_does_not_let_new_tickets_jump_the_queue(
        center, clock, kiosk_actor, officers):
    first = issue(center, kiosk_actor)
    clock.advance(minutes=-50)
    second = issue(center, kiosk_actor)
    run(center, ops.open_counter, officers["o1"], 1)
    assert run(center, ops.call_next, officers["o1"], 1)["id"] == first["id"]
    run(center, ops.start, officers["o1"], 1)
    run(center, ops.complete, officers["o1"], 1, "done")
    assert run(center, ops.call_next, officers["o1"], 1)["id"] == second["id"]


def test_daily_cap_refuses_without_using_a_number(center, kiosk_actor):
    set_service(center, "A", daily_cap=2)
    assert [issue(center, kiosk_actor)["label"] for _ in range(2)] == ["A001", "A002"]
    refused(center, Conflict, "daily_cap_reached", ops.issue, kiosk_actor, "civil-status")
    refused(center, Conflict, "daily_cap_reached", ops.issue, kiosk_actor, "civil-status")
    assert issue(center, kiosk_actor, "certification")["label"] == "B001"
    set_service(center, "A", daily_cap=3)
    assert issue(center, kiosk_actor)["label"] == "A003"


def test_daily_cap_counts_from_the_start_number(center, kiosk_actor):
    set_service(center, "A", daily_cap=1, start_number=50)
    assert issue(center, kiosk_actor)["label"] == "A050"
    refused(center, Conflict, "daily_cap_reached", ops.issue, kiosk_actor, "civil-status")


def test_daily_cap_is_per_day(center, clock, kiosk_actor):
    set_service(center, "A", daily_cap=1)
    issue(center, kiosk_actor)
    refused(center, Conflict, "daily_cap_reached", ops.issue, kiosk_actor, "civil-status")
    clock.advance(days=1)
    assert issue(center, kiosk_actor)["label"] == "A001"


def test_opening_hours_are_local_time(center, clock, kiosk_actor):
    set_service(center, "A", opens_at="09:00", closes_at="11:00")
    clock.now = utc(2026, 11, 25, 1, 59)  # 08:59 local
    err = refused(center, Conflict, "service_closed", ops.issue, kiosk_actor, "civil-status")
    assert err.details == {"opens_at": "09:00", "closes_at": "11:00"}
    assert issue(center, kiosk_actor, "certification")["label"] == "B001"  # open all day
    clock.now = utc(2026, 11, 25, 2, 0)  # 09:00 local
    assert issue(center, kiosk_actor)["label"] == "A001"
    clock.now = utc(2026, 11, 25, 3, 59)  # 10:59
    assert issue(center, kiosk_actor)["label"] == "A002"
    clock.now = utc(2026, 11, 25, 4, 0)  # 11:00: closed
    refused(center, Conflict, "service_closed", ops.issue, kiosk_actor, "civil-status")


def test_a_refused_first_ticket_does_not_open_the_day(center, clock, kiosk_actor):
    issue(center, kiosk_actor, "certification")
    set_service(center, "A", closes_at="17:00")
    clock.now = utc(2026, 11, 26, 11, 0)  # 18:00 on the 26th
    refused(center, Conflict, "service_closed", ops.issue, kiosk_actor, "civil-status")
    set_service(center, "A", closes_at=None, daily_cap=0)
    refused(center, Conflict, "daily_cap_reached", ops.issue, kiosk_actor, "civil-status")
    assert [d.day for d in days(center)] == [date(2026, 11, 25)]


def test_invalid_issue_requests_change_nothing(center, kiosk_actor):
    issue(center, kiosk_actor)
    refused(center, Invalid, "unknown_service", ops.issue, kiosk_actor, "nope")
    refused(center, Invalid, "invalid_service", ops.issue, kiosk_actor, 7)
    refused(center, Invalid, "invalid_service", ops.issue, kiosk_actor, None)
    refused(center, Invalid, "unknown_priority", ops.issue, kiosk_actor, "civil-status",
            priority="vip")
    refused(center, Invalid, "unknown_priority", ops.issue, kiosk_actor, "civil-status",
            priority=3)
    refused(center, Invalid, "unknown_procedure", ops.issue, kiosk_actor, "civil-status",
            procedure="signature")  # a procedure of certification, not civil status
    refused(center, Invalid, "unknown_procedure", ops.issue, kiosk_actor, "land",
            procedure="anything")
    refused(center, Invalid, "invalid_lang", ops.issue, kiosk_actor, "civil-status", lang="fr")
    set_service(center, "C", active=False)
    refused(center, Invalid, "unknown_service", ops.issue, kiosk_actor, "land")


def test_issue_keeps_priority_procedure_and_language(center, kiosk_actor):
    t = issue(center, kiosk_actor, priority="elderly", procedure="birth-registration",
              lang="en")
    row = ticket(center, t["id"])
    assert (t["priority"], t["procedure"], t["state"], t["ahead"]) == (
        "elderly", "birth-registration", "waiting", 0)
    assert (row.lang, row.number, row.recalls, row.issued_at) == ("en", 1, 0, row.queue_at)


def test_issued_time_is_shown_with_the_local_offset(center, kiosk_actor):
    t = issue(center, kiosk_actor)
    assert t["issued_at"] == "2026-11-25T08:30:00+07:00"


@pytest.mark.parametrize("field,value", [
    ("start_number", 0), ("start_number", -1), ("start_number", "1"), ("start_number", True),
    ("daily_cap", -1), ("daily_cap", "10"), ("daily_cap", 2.5),
])
def test_service_numbering_settings_are_checked(center, field, value):
    with pytest.raises(Invalid) as info:
        set_service(center, "A", **{field: value})
    assert info.value.code == f"invalid_{field}"


@pytest.mark.parametrize("fields,code", [
    ({"recall_limit": True}, "invalid_recall_limit"),
    ({"recall_limit": 21}, "invalid_recall_limit"),
    ({"default_service_minutes": 0}, "invalid_default_service_minutes"),
    ({"default_service_minutes": -5}, "invalid_default_service_minutes"),
    ({"default_service_minutes": "5"}, "invalid_default_service_minutes"),
    ({"priority_policy": 3}, "invalid_policy"),
    ({"timezone": "Mars/Base"}, "invalid_timezone"),
    ({"colour": "red"}, "unknown_setting"),
])
def test_center_settings_are_checked(center, fields, code):
    refused(center, Invalid, code, catalog.update_center, **fields)
