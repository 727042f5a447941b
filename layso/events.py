"""The event log (epoch, seq) and the realtime hub that emits events after their commit.

No Flask or Socket.IO here: the hub calls whatever emitter the web layer registers.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from layso import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One row of the event log, as clients receive it."""

    epoch: str
    seq: int
    type: str
    at: datetime
    payload: dict[str, Any]

    def as_message(self) -> dict[str, Any]:
        """The wire form: `{epoch, seq, type, at, ...payload}`."""
        return {**self.payload, "epoch": self.epoch, "seq": self.seq, "type": self.type,
                "at": self.at.isoformat()}


_STREAM = select(db.stream.c.epoch, db.stream.c.seq).where(db.stream.c.id == 1)
_BUMP = (update(db.stream).where(db.stream.c.id == 1)
         .values(seq=db.stream.c.seq + bindparam("n", type_=BigInteger))
         .returning(db.stream.c.epoch, db.stream.c.seq))
_INSERT = insert(db.events)


def new_epoch(label: str) -> str:
    """A fresh epoch name; unique even when a restored backup reuses a day."""
    return f"{label}.{secrets.token_hex(4)}"


def ensure_stream(conn: Connection, now: datetime) -> None:
    """Create the stream row if the database has none yet."""
    if conn.execute(select(db.stream.c.id).where(db.stream.c.id == 1)).first() is None:
        conn.execute(insert(db.stream).values(id=1, epoch=new_epoch("init"), seq=0))


def current(conn: Connection) -> tuple[str, int]:
    """The current (epoch, seq)."""
    row = conn.execute(_STREAM).one()
    return row.epoch, int(row.seq)


def start_epoch(conn: Connection, epoch: str) -> None:
    """Begin a new epoch at seq 0 (a new business day, or a restored backup)."""
    conn.execute(update(db.stream).where(db.stream.c.id == 1).values(epoch=epoch, seq=0))


def append(conn: Connection, type_: str, payload: dict[str, Any], at: datetime) -> Event:
    """Append an event in the caller's transaction; seq is gap-free within the epoch."""
    return append_many(conn, [(type_, payload)], at)[0]


def append_many(conn: Connection, items: list[tuple[str, dict[str, Any]]],
                at: datetime) -> list[Event]:
    """Append several events with one seq bump and one insert (one transaction's events)."""
    if not items:
        return []
    row = conn.execute(_BUMP, {"n": len(items)}).one()
    epoch, last = row.epoch, int(row.seq)
    first = last - len(items) + 1
    out = [Event(epoch=epoch, seq=first + i, type=t, at=at, payload=p)
           for i, (t, p) in enumerate(items)]
    conn.execute(_INSERT, [{"epoch": e.epoch, "seq": e.seq, "type": e.type,
                            "payload": e.payload, "at": at} for e in out])
    return out


def since(conn: Connection, epoch: str, seq: int, limit: int = 1000) -> list[Event] | None:
    """Events after (epoch, seq), or None when the client must take a snapshot instead."""
    cur_epoch, cur_seq = current(conn)
    if epoch != cur_epoch or seq > cur_seq or cur_seq - seq > limit:
        return None
    rows = conn.execute(
        select(db.events)
        .where(db.events.c.epoch == epoch, db.events.c.seq > seq)
        .order_by(db.events.c.seq)
    ).all()
    return [Event(r.epoch, int(r.seq), r.type, r.at, r.payload) for r in rows]


Emitter = Callable[[Event], None]
BatchEmitter = Callable[[list[Event]], None]


@dataclass
class Hub:
    """Fans committed events out to the registered emitters, in commit order."""

    emitters: list[Emitter] = field(default_factory=list)
    batch_emitters: list[BatchEmitter] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, emitter: Emitter) -> None:
        """Register an emitter (the Socket.IO layer, a test probe, the print worker...)."""
        self.emitters.append(emitter)

    def subscribe_batch(self, emitter: BatchEmitter) -> None:
        """Register an emitter that takes each commit's events at once, in order."""
        self.batch_emitters.append(emitter)

    def publish(self, events: Iterable[Event]) -> None:
        """Emit events that have been committed; an emitter failure never reaches the caller."""
        events = list(events)
        if not events:
            return
        with self._lock:
            for emit_all in list(self.batch_emitters):
                try:
                    emit_all(events)
                except Exception:  # an emitter must never undo a committed action
                    log.exception("emitter failed on %d events from %s:%s", len(events),
                                  events[0].epoch, events[0].seq)
            for ev in events:
                for emit in list(self.emitters):
                    try:
                        emit(ev)
                    except Exception:  # an emitter must never undo a committed action
                        log.exception("emitter failed on %s %s:%s", ev.type, ev.epoch, ev.seq)
