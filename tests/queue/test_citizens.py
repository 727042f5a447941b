"""Citizens' ID card numbers (counted per service per business day, never kept) and dossier
codes (checked, kept on the ticket, staff only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from layso import db
from layso.cli import main
from layso.db import Database
from layso.queue import SYSTEM, Center, Conflict, Invalid, citizens, ops
from tests.conftest import Clock
from tests.queue.helpers import refused, run, set_center

ID = "001089012345"
OTHER = "079190000123"


def issue(center: Center, actor: Any, service: str = "civil-status", **kw: Any) -> Any:
    return run(center, ops.issue, actor, service, **kw)


def kept(center: Center) -> tuple[int, int]:
    """How many day nonces and keyed hashes the center holds."""
    with center.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(db.citizen_days)).scalar_one(),
                conn.execute(select(func.count()).select_from(db.citizen_counts)).scalar_one())


def test_the_limit_is_per_citizen_per_service_per_day(center, kiosk_actor, clock) -> None:
    set_center(center, citizen_daily_limit=2)
    assert issue(center, kiosk_actor, citizen_id=ID)["label"] == "A001"
    assert issue(center, kiosk_actor, citizen_id=ID)["label"] == "A002"
    err = refused(center, Conflict, "citizen_limit", ops.issue, kiosk_actor, "civil-status",
                  citizen_id=ID)
    assert err.details == {"limit": 2}
    assert "help desk" in err.message and ID not in err.message
    # another service, another citizen, a ticket without a card: not limited by it
    assert issue(center, kiosk_actor, "land", citizen_id=ID)["label"] == "C001"
    assert issue(center, kiosk_actor, citizen_id=OTHER)["label"] == "A003"
    assert issue(center, kiosk_actor)["label"] == "A004"
    # the refused ticket was not counted, nor numbered
    refused(center, Conflict, "citizen_limit", ops.issue, kiosk_actor, "civil-status",
            citizen_id=ID)
    assert kept(center) == (1, 3)  # one day's nonce; (A, ID), (C, ID), (A, OTHER)
    # the next business day starts afresh, and forgets the last one's hashes
    clock.advance(days=1)
    assert issue(center, kiosk_actor, citizen_id=ID)["label"] == "A001"
    assert kept(center) == (1, 1)


def test_the_day_changes_in_the_center_time_zone_not_utc(center, kiosk_actor, clock) -> None:
    set_center(center, citizen_daily_limit=1)
    clock.now = datetime(2026, 11, 25, 16, 59, tzinfo=UTC)  # 23:59 in Hà Nội
    issue(center, kiosk_actor, citizen_id=ID)
    clock.now = datetime(2026, 11, 25, 16, 59, 50, tzinfo=UTC)
    refused(center, Conflict, "citizen_limit", ops.issue, kiosk_actor, "civil-status",
            citizen_id=ID)
    clock.now = datetime(2026, 11, 25, 17, 0, 1, tzinfo=UTC)  # 00:00 the next day
    assert issue(center, kiosk_actor, citizen_id=ID)["label"] == "A001"


def test_without_a_limit_nothing_is_kept(center, kiosk_actor) -> None:
    for _ in range(3):
        issue(center, kiosk_actor, citizen_id=ID)
    assert kept(center) == (0, 0)


@pytest.mark.parametrize("bad", ["00108901234", "0010890123456", "00108901234x", " 001089012345",
                                 "００１０８９０１２３４５", 1089012345, "", ["001089012345"]])
def test_an_id_that_is_not_12_digits_is_refused(center, kiosk_actor, bad) -> None:
    set_center(center, citizen_daily_limit=1)
    err = refused(center, Invalid, "invalid_citizen_id", ops.issue, kiosk_actor,
                  "civil-status", citizen_id=bad)
    assert err.details == {"field": "citizen_id"}
    assert "0010890" not in err.message


def test_an_ended_day_is_forgotten_even_with_no_ticket_after_it(center, kiosk_actor,
                                                                 clock) -> None:
    set_center(center, citizen_daily_limit=1)
    issue(center, kiosk_actor, citizen_id=ID)
    assert citizens.forget_if_ended(center) == 0  # the day goes on
    assert kept(center) == (1, 1)
    clock.advance(hours=16)  # past midnight, and nobody takes a number
    assert citizens.forget_if_ended(center) == 1
    assert kept(center) == (0, 0)


def test_the_same_number_hashes_apart_on_two_days_and_in_two_services(center, kiosk_actor,
                                                                       clock) -> None:
    set_center(center, citizen_daily_limit=5)
    issue(center, kiosk_actor, citizen_id=ID)
    issue(center, kiosk_actor, "land", citizen_id=ID)
    with center.db.read() as conn:
        first = set(conn.execute(select(db.citizen_counts.c.digest)).scalars())
    assert len(first) == 2  # a service's hashes do not link a citizen across services
    clock.advance(days=1)
    issue(center, kiosk_actor, citizen_id=ID)
    with center.db.read() as conn:
        second = set(conn.execute(select(db.citizen_counts.c.digest)).scalars())
    assert len(second) == 1 and not second & first  # nor across days


# -- dossier codes ----------------------------------------------------------------------------

@pytest.mark.parametrize("code,stored", [
    ("000.00.17.H56-251202-0007", "000.00.17.H56-251202-0007"),
    ("  000.00.17.h56-251202-0007 ", "000.00.17.H56-251202-0007"),
    ("H56.22-240101-12345", "H56.22-240101-12345"),  # an older or another agency's layout
    ("A", "A"), ("9" * 40, "9" * 40),
])
def test_dossier_codes_that_design_allows(code, stored) -> None:
    assert citizens.check_dossier(code) == stored


@pytest.mark.parametrize("code", ["", "   ", "...", "--", "9" * 41, "000 00 17", "H56/25",
                                  "hồ-sơ-1", "<script>", 7, None])
def test_dossier_codes_that_design_refuses(code) -> None:
    with pytest.raises(Invalid) as info:
        citizens.check_dossier(code)
    assert info.value.code == "invalid_dossier" and info.value.details == {"field": "dossier"}


def test_a_dossier_recorded_on_complete_is_kept_on_the_ticket(center, kiosk_actor,
                                                              officers) -> None:
    o1 = officers["o1"]
    t = issue(center, kiosk_actor)
    run(center, ops.open_counter, o1, 1)
    run(center, ops.call_next, o1, 1)
    run(center, ops.start, o1, 1)
    refused(center, Invalid, "invalid_dossier", ops.complete, o1, 1, "received",
            dossier="not a code")
    done = run(center, ops.complete, o1, 1, "received", dossier="000.00.17.h56-251202-0007")
    assert done["dossier"] == "000.00.17.H56-251202-0007" and done["id"] == t["id"]
    with center.read() as r:
        from layso.queue import reading

        row = reading.get_ticket_row(r, t["id"])
        assert "dossier" not in reading.ticket_view(r, row, public=True)
        # no event of the stream carries it (the board and phones hear the stream)
        payloads = r.conn.execute(select(db.events.c.payload)).scalars().all()
    assert "H56" not in repr(payloads)


def test_a_pickup_ticket_carries_its_dossier_to_the_officials(center, kiosk_actor,
                                                              officers) -> None:
    t = issue(center, kiosk_actor, "certification", dossier="000.00.17.H56-251202-0007")
    assert t["dossier"] == "000.00.17.H56-251202-0007" and t["service"]["code"] == "certification"
    with center.read() as r:
        from layso.queue import reading

        (queued,) = reading.queue_for(r, "certification")
    assert queued["dossier"] == "000.00.17.H56-251202-0007"
    # completing without a code keeps the one it came with
    o1 = officers["o1"]
    run(center, ops.open_counter, o1, 1)
    run(center, ops.call_next, o1, 1)
    run(center, ops.start, o1, 1)
    done = run(center, ops.complete, o1, 1, "result_returned")
    assert done["dossier"] == "000.00.17.H56-251202-0007"
    refused(center, Invalid, "invalid_dossier", ops.issue, kiosk_actor, "certification",
            dossier="x" * 41)



def test_layso_purge_forgets_an_ended_day_too(tmp_path, monkeypatch, capsys) -> None:
    for var in ("LAYSO_DATABASE_URL", "LAYSO_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAYSO_DATA_DIR", str(tmp_path / "data"))
    assert main(["init", "--demo"]) == 0
    # a ticket on a card yesterday; nobody took a number since
    yesterday = Clock(datetime.now(UTC) - timedelta(days=1))
    center = Center(Database(f"sqlite:///{tmp_path / 'data' / 'layso.db'}", clock=yesterday))
    set_center(center, citizen_daily_limit=1)
    issue(center, SYSTEM, "land", citizen_id=ID)
    assert kept(center) == (1, 1)
    capsys.readouterr()
    assert main(["purge"]) == 0
    assert "ended days' ID card hashes forgotten: 1" in capsys.readouterr().out
    assert kept(center) == (0, 0)
    center.db.dispose()


def test_kiosks_at_the_same_instant_give_a_citizen_no_more_than_the_limit(center,
                                                                          kiosk_actor) -> None:
    """Group commit runs simultaneous issues in one transaction, each in its savepoint: the
    refused ones roll back their count, the others see each other's."""
    import threading

    set_center(center, citizen_daily_limit=2)
    results: list[str] = []
    start = threading.Barrier(8)

    def kiosk() -> None:
        start.wait()
        try:
            t = center.run(lambda tx: ops.issue(tx, kiosk_actor, "land", citizen_id=ID))
            results.append(t["label"])
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["C001", "C002"] + ["citizen_limit"] * 6
    with center.db.read() as conn:
        assert conn.execute(select(db.citizen_counts.c.issued)).scalar_one() == 2
