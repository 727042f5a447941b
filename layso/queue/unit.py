"""The unit of work: one write transaction, its clock reading, and the events it appends."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from layso import db, events
from layso.db import Database
from layso.events import Event, Hub


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (with a role) or an enrolled device (with a kind and maybe a counter)."""

    kind: str  # "user" | "device" | "system"
    id: int | None = None
    role: str | None = None  # admin | supervisor | officer (users); kiosk | display | feedback
    counter_id: int | None = None  # feedback devices are bound to one counter
    name: str = ""

    @property
    def user_id(self) -> int:
        """The id of the user this actor is (ValueError for a device or the system)."""
        if self.kind != "user" or self.id is None:
            raise ValueError(f"{self.kind} is not a user")
        return self.id

    @property
    def key(self) -> str:
        """A stable name for idempotency and rate limits."""
        return f"{self.kind}:{self.id}"

    @property
    def is_staff(self) -> bool:
        """Officers, supervisors and admins."""
        return self.kind == "user" and self.role in ("officer", "supervisor", "admin")

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins, who may act on any counter."""
        return self.kind == "user" and self.role in ("supervisor", "admin")


SYSTEM = Actor(kind="system", role="admin", name="system")

#: tickets in these states when their day ends get the state `expired`
ACTIVE_STATES = ("waiting", "called", "serving")


class ClockGuard:
    """Tells whether the wall clock still agrees with the monotonic clock.

    The monotonic clock never jumps; the wall clock can (a box without a real-time clock, a
    mistaken `date -s`, a time server far off). At start the guard notes their difference;
    when the wall clock later disagrees by more than TOLERANCE, it jumped, and no business
    day may be opened from it: a ticket issued meanwhile joins the current day. A new wall
    time that holds steady for SETTLE seconds of monotonic time is accepted (someone set the
    right time on purpose).
    """

    TOLERANCE = 120.0
    SETTLE = 30 * 60.0

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self._offset: float | None = None
        self._since: float | None = None  # monotonic time the current disagreement began
        self._jump: float = 0.0
        self.alerted = False
        self._lock = threading.Lock()

    def drift(self, now: datetime) -> float:
        """Seconds the wall clock moved against the monotonic clock (0.0: it agrees)."""
        mono = self.monotonic()
        offset = now.timestamp() - mono
        with self._lock:
            if self._offset is None:
                self._offset = offset
            drift = offset - self._offset
            if abs(drift) <= self.TOLERANCE:
                self._since, self._jump, self.alerted = None, 0.0, False
                return 0.0
            if self._since is None or abs(drift - self._jump) > self.TOLERANCE:
                self._since, self._jump, self.alerted = mono, drift, False
            elif mono - self._since >= self.SETTLE:
                self._offset, self._since, self._jump = offset, None, 0.0
                return 0.0  # the new time held steady: take it as the right one
            return drift


@dataclass
class Reader:
    """A read transaction with its clock reading and the center's settings."""

    conn: Connection
    now: datetime
    public_url: str = ""
    _center: Row[Any] | None = None
    # services by id, read once per transaction (the catalogue does not change inside one)
    _services: dict[int, Row[Any]] | None = None
    _clock_guard: ClockGuard | None = None

    @property
    def center(self) -> Row[Any]:
        """The center's settings row."""
        if self._center is None:
            self._center = self.conn.execute(_CENTER).one()
        return self._center

    @property
    def tz(self) -> ZoneInfo:
        """The center's time zone."""
        return ZoneInfo(self.center.timezone)

    @property
    def local_now(self) -> datetime:
        """Now, in the center's time zone."""
        return self.now.astimezone(self.tz)

    def shown_day(self) -> Row[Any] | None:
        """The day pages show now: the latest, unless the local date has moved past it (by a
        clock that did not jump)."""
        day = visible_day(self.conn, self.local_now.date())
        if day is None and self._clock_guard is not None and self._clock_guard.drift(self.now):
            return latest_day(self.conn)  # the clock jumped: the current day goes on
        return day


@dataclass
class Tx(Reader):
    """A write in progress. Domain operations read and write through `conn` and call `emit`."""

    _pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _emitted: list[Event] = field(default_factory=list)
    _day: Row[Any] | None = None
    _day_hint: Row[Any] | None = None
    #: (comment_days, token_days): what opening a day purges (None: nothing)
    _retention: tuple[int | None, int | None] | None = None
    #: the server's secret the days' keys for citizens' ID numbers derive from
    citizen_secret: bytes = b""

    def emit(self, type_: str, payload: dict[str, Any]) -> None:
        """Add an event to this transaction's log; it is published after commit."""
        self._pending.append((type_, payload))

    def flush(self) -> list[Event]:
        """Write the pending events to the log (one seq bump, one insert)."""
        if self._pending:
            self._emitted.extend(events.append_many(self.conn, self._pending, self.now))
            self._pending = []
        return self._emitted

    @property
    def events(self) -> list[Event]:
        """The events this transaction appended so far, numbered."""
        return self.flush()

    def shown_day(self) -> Row[Any] | None:
        """The day pages show; once this transaction opened the day, that one (no query)."""
        if self._day is not None:
            return self._day
        if self._day_hint is not None and self._day_hint.day == self.local_now.date():
            return self._day_hint  # as open_day: today's record, known from an earlier write
        return super().shown_day()

    def open_day(self) -> Row[Any]:
        """Today's business day, opening it (and a new epoch) when the local date moved on.

        The day is a record: a clock that jumps back never reopens an old day or restarts
        numbering; the latest day stays current until a later date arrives.
        """
        if self._day is not None:
            return self._day
        today = self.local_now.date()
        if self._day_hint is not None and self._day_hint.day == today:
            self._day = self._day_hint  # day rows never change: no query on the hot path
            return self._day
        latest = latest_day(self.conn)
        if latest is not None and latest.day >= today:
            self._day = latest
            return latest
        guard = self._clock_guard
        drift = guard.drift(self.now) if guard is not None and latest is not None else 0.0
        if drift and latest is not None:
            # a clock that jumped opens no day: the ticket joins the current one, and the
            # supervisors hear of it once
            if guard is not None and not guard.alerted:
                guard.alerted = True
                self.emit("clock.jumped", {"drift_seconds": round(drift),
                                           "day": latest.day.isoformat()})
            self._day = latest
            return latest
        expired = self._close_day(latest) if latest is not None else 0
        self.flush()  # events so far belong to the old epoch
        epoch = events.new_epoch(today.isoformat())
        day_id = db.inserted_id(self.conn.execute(
            insert(db.business_days).values(day=today, epoch=epoch, opened_at=self.now)))
        events.start_epoch(self.conn, epoch)
        # counters start the day closed and empty; yesterday's leftovers stay in the log
        self.conn.execute(
            db.counters.update().values(
                state="closed", current_ticket_id=None, pause_reason=None, officer_id=None,
                normal_streak=0, changed_at=self.now,
            )
        )
        from layso.queue import citizens  # the ended days' keys and hashes of ID numbers

        citizens.forget_ended_days(self, day_id)
        if self._retention is not None:
            from layso.queue import retention  # once a day: personal free text, spent tokens

            retention.purge(self.conn, self.now, *self._retention)
        opened: dict[str, Any] = {"day": today.isoformat()}
        # the log tells how the last day ended for the tickets it left open
        if expired and latest is not None:
            opened["expired"] = {"day": latest.day.isoformat(), "tickets": expired}
        self.emit("day.opened", opened)
        self._day = self.conn.execute(
            select(db.business_days).where(db.business_days.c.id == day_id)
        ).one()
        return self._day


    def _close_day(self, day: Row[Any]) -> int:
        """The earlier days' tickets still waiting, called or serving end with their day;
        returns how many."""
        end = datetime.combine(day.day + timedelta(days=1), dtime(0), tzinfo=self.tz)
        expired = self.conn.execute(
            update(db.tickets).where(db.tickets.c.state.in_(ACTIVE_STATES))
            .values(state="expired", finished_at=min(end, self.now))).rowcount
        return int(expired or 0)


_LATEST_DAY = select(db.business_days).order_by(db.business_days.c.day.desc()).limit(1)
_CENTER = select(db.center).where(db.center.c.id == 1)


def latest_day(conn: Connection) -> Row[Any] | None:
    """The most recent business day record."""
    return conn.execute(_LATEST_DAY).first()


def visible_day(conn: Connection, today: date) -> Row[Any] | None:
    """The day whose queue pages should show: the latest one, unless the date has moved past it."""
    day = latest_day(conn)
    if day is None or day.day < today:
        return None
    return day


T = TypeVar("T")


class _Op:
    """One caller's work waiting for a group commit."""

    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[Tx], Any]) -> None:
        self.fn = fn
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class Center:
    """The center's storage, clock and hub: every domain operation runs through `write`."""

    def __init__(self, database: Database, hub: Hub | None = None,
                 public_url: str = "http://127.0.0.1:8000",
                 clock: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.db = database
        self.hub = hub or Hub()
        self.public_url = public_url.rstrip("/")
        self.clock = clock or database.clock
        # the wall clock checked against the monotonic one: by default only on the real clock
        # (a test's clock moves days at will)
        if monotonic is None and self.clock is db.utcnow:
            monotonic = time.monotonic
        self.clock_guard = ClockGuard(monotonic) if monotonic is not None else None
        self.retention: tuple[int | None, int | None] | None = None
        #: what the days' keys for citizens' ID numbers derive from: every process serving
        #: the center must share it (create_app derives it from the secret key)
        self.citizen_secret = secrets.token_bytes(32)
        if self.clock_guard is not None:
            self.clock_guard.drift(self.clock())  # the reference: the clock as it is at start
        # writers in this process queue here first, so events publish in commit order
        self._write_lock = threading.Lock()
        self._day_hint: Row[Any] | None = None
        # group commit: callers of `run` queue here; one of them commits for all
        self._batch_cond = threading.Condition()
        self._batch: list[_Op] = []
        self._batch_leader = False

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run a write transaction; its events are published after it commits."""
        with self._write_lock:
            with self.db.write() as conn:
                tx = self._tx(conn, self._day_hint)
                yield tx
                tx.flush()
            if tx._day is not None:
                self._day_hint = tx._day
            self.hub.publish(tx._emitted)

    def _tx(self, conn: Connection, day_hint: Row[Any] | None) -> Tx:
        return Tx(conn=conn, now=self.clock(), public_url=self.public_url, _day_hint=day_hint,
                  _clock_guard=self.clock_guard, _retention=self.retention,
                  citizen_secret=self.citizen_secret)

    def run(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` in a write transaction shared with the callers waiting at the same moment.

        Group commit: while one caller commits, the others queue; the next of them runs the
        whole queue in one transaction, each call inside its own savepoint, so a refused
        action rolls back alone. One commit (and one disk flush) then serves the whole group,
        and each caller gets its own result or exception. `fn` must use only its `Tx`: it may
        run on another caller's thread.
        """
        op = _Op(fn)
        with self._batch_cond:
            self._batch.append(op)
            while not op.done and self._batch_leader:
                self._batch_cond.wait()
            if not op.done:
                self._batch_leader = True
                batch, self._batch = self._batch, []
        if not op.done:
            try:
                self._run_batch(batch)
            finally:
                with self._batch_cond:
                    self._batch_leader = False
                    self._batch_cond.notify_all()
        if op.error is not None:
            raise op.error
        return op.result

    def _run_batch(self, batch: list[_Op]) -> None:
        emitted: list[Event] = []
        try:
            with self._write_lock:
                try:
                    with self.db.write() as conn:
                        hint = self._day_hint
                        for op in batch:
                            tx = self._tx(conn, hint)
                            savepoint = conn.begin_nested() if len(batch) > 1 else None
                            try:
                                op.result = op.fn(tx)
                                tx.flush()
                            except Exception as exc:
                                if savepoint is None:
                                    raise
                                savepoint.rollback()
                                op.error = exc
                                continue
                            if savepoint is not None:
                                savepoint.commit()
                            emitted.extend(tx._emitted)
                            hint = tx._day or hint
                finally:
                    for op in batch:
                        op.done = True
                self._day_hint = hint
                self.hub.publish(emitted)
        except BaseException as exc:  # the commit failed, or the only action was refused
            for op in batch:
                if op.error is None:
                    op.result, op.error = None, exc
            if not isinstance(exc, Exception):
                raise

    def clock_drift(self) -> float:
        """Seconds the wall clock jumped against the monotonic one now (0.0: it agrees, or
        this center's clock is not checked)."""
        return self.clock_guard.drift(self.clock()) if self.clock_guard is not None else 0.0

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """A read-only view at one instant."""
        with self.db.read() as conn:
            yield Reader(conn=conn, now=self.clock(), public_url=self.public_url,
                         _clock_guard=self.clock_guard)

