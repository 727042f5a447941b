"""Helpers of the queue domain tests: run one action, snapshot the database, check refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from layso import db, events
from layso.queue import Center, QueueError, Tx, catalog

SERVICES = {"A": "civil-status", "B": "certification", "C": "land", "D": "social",
            "E": "business", "F": "online-help"}


def run(center: Center, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run one domain operation in its own write transaction."""
    with center.write() as tx:
        return fn(tx, *args, **kw)


def run_logged(center: Center, fn: Callable[..., Any], *args: Any, **kw: Any
               ) -> tuple[Any, list[str]]:
    """Run one operation; return its result and the types of the events it appended.

    Also checks that the rows in the log are exactly the events the transaction reported,
    numbered on from the seq before it, one by one.
    """
    epoch0, seq0 = stream(center)
    with center.write() as tx:
        result = fn(tx, *args, **kw)
        emitted = list(tx.events)
    rows = log(center)
    epoch1, seq1 = stream(center)
    if emitted and emitted[0].type == "day.opened":
        assert epoch1 != epoch0 and emitted[0].seq == 1
        start = 0
    else:
        assert epoch1 == epoch0
        start = seq0
    new = [r for r in rows if r[0] == epoch1 and r[1] > start]
    assert [(e.epoch, e.seq, e.type) for e in emitted] == new
    assert [r[1] for r in new] == list(range(start + 1, start + 1 + len(new)))
    assert seq1 == start + len(new)
    return result, [e.type for e in emitted]


def stream(center: Center) -> tuple[str, int]:
    """The current (epoch, seq)."""
    with center.db.read() as conn:
        return events.current(conn)


def log(center: Center) -> list[tuple[str, int, str]]:
    """Every event row as (epoch, seq, type), in log order."""
    with center.db.read() as conn:
        return [(r.epoch, int(r.seq), r.type) for r in conn.execute(
            select(db.events.c.epoch, db.events.c.seq, db.events.c.type)
            .order_by(db.events.c.epoch, db.events.c.seq)).all()]


def snapshot(center: Center) -> dict[str, list[str]]:
    """Every row of every table, as sorted text: equal snapshots mean nothing changed."""
    out = {}
    with center.db.read() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def refused(center: Center, error: type[QueueError], code: str,
            fn: Callable[..., Any], *args: Any, **kw: Any) -> QueueError:
    """The operation raises `error` with `code` and changes nothing: no row, no event."""
    before = snapshot(center)
    with pytest.raises(error) as info:
        with center.write() as tx:
            fn(tx, *args, **kw)
    assert info.value.code == code, info.value.message
    assert info.value.message
    assert snapshot(center) == before
    return info.value


def ticket(center: Center, ticket_id: int) -> Any:
    """A ticket row."""
    with center.db.read() as conn:
        return conn.execute(select(db.tickets).where(db.tickets.c.id == ticket_id)).one()


def counter(center: Center, number: int) -> Any:
    """A counter row."""
    with center.db.read() as conn:
        return conn.execute(select(db.counters).where(db.counters.c.number == number)).one()


def days(center: Center) -> list[Any]:
    """Every business day record, oldest first."""
    with center.db.read() as conn:
        return conn.execute(select(db.business_days).order_by(db.business_days.c.day)).all()


def set_service(center: Center, prefix: str, **extra: Any) -> None:
    """Change a demo service's settings (hours, cap, start number...)."""
    with center.db.write() as conn:
        s = conn.execute(select(db.services).where(db.services.c.prefix == prefix)).one()
        catalog.upsert_service(conn, s.code, s.prefix, s.name_vi, s.name_en, s.position, **extra)


def set_center(center: Center, **fields: Any) -> None:
    """Change center settings through the domain."""
    run(center, catalog.update_center, **fields)


def set_counter(center: Center, number: int, prefixes: list[str], mode: str = "fifo") -> None:
    """Change which services a counter serves, and its mode."""
    with center.db.write() as conn:
        catalog.upsert_counter(conn, number, [SERVICES[p] for p in prefixes], mode)


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


__all__ = ["SERVICES", "Tx", "counter", "days", "log", "refused", "run", "run_logged",
           "set_center", "set_counter", "set_service", "snapshot", "stream", "ticket", "utc"]
