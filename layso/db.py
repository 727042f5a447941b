"""Storage: SQLAlchemy 2 engine, tables and write transactions (SQLite or PostgreSQL)."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
    true,
)
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from layso import concurrency

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as naive UTC, so SQLite and PostgreSQL compare them alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


center = Table(
    "center",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name_vi", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, default="Asia/Ho_Chi_Minh"),
    # strict | ratio:N | aging:MINUTES
    Column("priority_policy", String(32), nullable=False, default="strict"),
    Column("recall_limit", Integer, nullable=False, default=3),
    Column("default_service_minutes", Integer, nullable=False, default=5),
    Column("notice_vi", Text, nullable=False, default=""),
    Column("notice_en", Text, nullable=False, default=""),
    Column("speech_mode", String(16), nullable=False, default="words"),
    Column("speak_english", Boolean, nullable=False, default=True),
    # five faces, or the three official levels (stored as 5, 4, 1)
    Column("rating_scale", String(8), nullable=False, default="five", server_default="five"),
    # numbers per citizen per service per business day (null: no limit)
    Column("citizen_daily_limit", Integer),
    # supervisors' alerts: a queue longer than this, a counter paused longer than this
    Column("alert_queue_length", Integer),
    Column("alert_pause_minutes", Integer),
    # the service whose queue a citizen joins to collect a result (kiosk "Nhận kết quả")
    Column("result_service", String(40)),
    # ... and a kiosk or board not seen for longer than this (minutes; null: no such alert)
    Column("alert_silent_minutes", Integer),
)

# The stream row: current epoch and the last seq written in it. Every write transaction locks it
# first, which serialises writers (SQLite does so anyway) and keeps seq gap-free.
stream = Table(
    "stream",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("epoch", String(40), nullable=False),
    Column("seq", BigInteger, nullable=False),
)

business_days = Table(
    "business_days",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False, unique=True),
    Column("epoch", String(40), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("prefix", String(3), nullable=False, unique=True),
    Column("name_vi", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("target_wait_minutes", Integer, nullable=False, default=30),
    Column("opens_at", String(5)),  # "HH:MM" local, null = all day
    Column("closes_at", String(5)),
    Column("daily_cap", Integer),
    Column("start_number", Integer, nullable=False, default=1),
    Column("default_service_minutes", Integer),
)

procedures = Table(
    "procedures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(60), nullable=False),
    Column("name_vi", String(300), nullable=False),
    Column("name_en", String(300), nullable=False),
    Column("position", Integer, nullable=False, default=0),
    # a retired procedure is no longer offered; tickets and reports keep its code
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    UniqueConstraint("service_id", "code"),
)

priority_categories = Table(
    "priority_categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name_vi", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("name_vi", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("mode", String(10), nullable=False, default="fifo"),
    Column("state", String(10), nullable=False, default="closed"),
    Column("pause_reason", String(200)),
    Column("current_ticket_id", Integer),
    Column("officer_id", ForeignKey("users.id")),
    # normal calls since this counter last called a priority ticket (the ratio:N policy)
    Column("normal_streak", Integer, nullable=False, default=0),
    Column("changed_at", UTCDateTime),
    # a retired counter leaves the board and the terminals; its history stays
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
)

counter_services = Table(
    "counter_services",
    metadata,
    Column("counter_id", ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("counter_id", ForeignKey("counters.id")),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("printer", String(300)),  # a kiosk's own printer URI (null: the center's)
    Column("last_seen_at", UTCDateTime),
    # the short one-time enrolment code (hashed) and until when it can be used
    Column("enrol_code_hash", String(64)),
    Column("enrol_expires_at", UTCDateTime),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

# The daily number of each service: one row per (day, service), bumped by an upsert.
day_numbers = Table(
    "day_numbers",
    metadata,
    Column("day_id", ForeignKey("business_days.id"), primary_key=True),
    Column("service_id", ForeignKey("services.id"), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day_id", ForeignKey("business_days.id"), nullable=False),
    Column("origin_service_id", ForeignKey("services.id"), nullable=False),
    Column("service_id", ForeignKey("services.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("label", String(12), nullable=False),
    Column("token", String(40), nullable=False, unique=True),
    Column("priority", String(40)),
    Column("procedure", String(60)),
    Column("lang", String(2), nullable=False, default="vi"),
    Column("state", String(12), nullable=False),
    # call order key: when it joined its current queue (a front transfer puts it before all)
    Column("queue_at", UTCDateTime, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("called_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("counter_id", ForeignKey("counters.id")),
    Column("officer_id", ForeignKey("users.id")),
    Column("recalls", Integer, nullable=False, default=0),
    Column("outcome", String(30)),
    Column("issued_by_device", ForeignKey("devices.id")),
    Column("issued_by_user", ForeignKey("users.id")),
    Column("print_state", String(20), nullable=False, default="none"),
    Column("dossier", String(40)),  # the one-stop system's dossier code (staff only)
    # named by hand: the naming convention would give both "uq_tickets_day_id", which
    # PostgreSQL refuses (one namespace for constraints); SQLite never minded
    UniqueConstraint("day_id", "origin_service_id", "number", name="uq_tickets_day_number"),
    UniqueConstraint("day_id", "label", name="uq_tickets_day_label"),
    Index("ix_tickets_queue", "day_id", "state", "service_id", "queue_at"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, unique=True),
    Column("counter_id", ForeignKey("counters.id")),
    Column("officer_id", ForeignKey("users.id")),
    Column("device_id", ForeignKey("devices.id")),
    Column("score", Integer, nullable=False),
    Column("reason", String(40)),
    Column("comment", Text),
    Column("at", UTCDateTime, nullable=False),
)

# What the ticket row forgets when the ticket moves on: each time it was marked absent and
# each service it was transferred out of, where and by whom (reports count both).
ticket_marks = Table(
    "ticket_marks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("day_id", ForeignKey("business_days.id"), nullable=False),
    Column("kind", String(12), nullable=False),  # no_show | transfer
    Column("service_id", ForeignKey("services.id"), nullable=False),
    Column("counter_id", ForeignKey("counters.id")),
    Column("officer_id", ForeignKey("users.id")),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ticket_marks_day", "day_id", "kind"),
    Index("ix_ticket_marks_ticket", "ticket_id"),
)

# The chip ID card's number is never stored. To apply `citizen_daily_limit` the center keeps,
# for the current business day only, a random nonce (the day's key is HMAC(secret key, nonce))
# and per service the keyed hashes of the numbers that took a ticket; both rows go when the
# day ends (layso.queue.citizens.forget_ended_days), and with the nonce the key is gone too.
citizen_days = Table(
    "citizen_days",
    metadata,
    Column("day_id", ForeignKey("business_days.id"), primary_key=True),
    Column("nonce", String(64), nullable=False),
)

citizen_counts = Table(
    "citizen_counts",
    metadata,
    Column("day_id", ForeignKey("business_days.id"), primary_key=True),
    Column("service_id", ForeignKey("services.id"), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("issued", Integer, nullable=False),
)

# A past business day's report sums per grouping (`by`, or "all"), computed once: the
# day no longer changes, and a year's report then reads 250 rows instead of 250,000 tickets.
report_rollups = Table(
    "report_rollups",
    metadata,
    Column("day_id", ForeignKey("business_days.id"), primary_key=True),
    Column("by", String(12), primary_key=True),
    Column("data", JSON, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("epoch", String(40), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_events_type_at", "type", "at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(300), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# every change made through the administration: who, what, when, and the values it set
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_kind", String(10), nullable=False),  # user | device | system
    Column("actor_id", Integer),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(40), nullable=False),  # e.g. service.created, user.updated
    Column("target", String(100), nullable=False),
    Column("changes", JSON, nullable=False),
    Index("ix_audit_at", "at"),
)

print_jobs = Table(
    "print_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("state", String(20), nullable=False),  # queued | printed | waiting_printer | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # where the job prints: the kiosk whose own printer it is (null: the center's printer),
    # and that printer's URI as it was when the job was made (`agent://`: the kiosk's agent)
    Column("device_id", ForeignKey("devices.id")),
    Column("printer", String(300)),
    Index("ix_print_jobs_open", "state", "printer", "id"),
    Index("ix_print_jobs_ticket", "ticket_id", "id"),
)


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT made."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("not the result of a single-row INSERT")
    return int(key[0])


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def private_file(path: str | os.PathLike[str]) -> None:
    """Create `path` if missing and make it readable by its owner only (0600).

    The database and its backups hold password hashes, token hashes and citizens' comments.
    SQLite gives its -wal and -shm files the mode of the database file.
    """
    p = Path(path)
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        for f in (p, Path(f"{p}-wal"), Path(f"{p}-shm"), Path(f"{p}-journal")):
            if f.exists() and f.stat().st_mode & 0o077:
                f.chmod(0o600)
    except PermissionError:
        pass  # not ours (a packaged install run by another user): leave it as it is


def make_engine(url: str, explicit_begin: bool = False) -> Engine:
    """Create the engine; SQLite gets WAL, synchronous=FULL, foreign keys and BEGIN IMMEDIATE.

    With `explicit_begin` the caller issues SQLite's BEGIN itself (as `Database` does): an
    engine with a "begin" listener runs SQLAlchemy's event dispatch on every statement,
    which more than doubled the cost of each query on the hot paths.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if url.startswith("sqlite:///"):
                private_file(path)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool if path == ":memory:" else None,
            # an error's message must never carry a statement's values (a password hash)
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite must not open transactions itself: `write()` starts each one with
            # BEGIN IMMEDIATE, so a writer takes the file's lock before it reads
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # a deleted row is overwritten with zeros, not left in a free page: a day's
            # citizen hashes and key, and comments past their retention, leave the file
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        if not explicit_begin:
            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    elif url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    return create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True,
                         hide_parameters=True)


# -- who holds the data directory --------------------------------------------------------------

DATA_DIR_LOCK = "server.lock"


class DataDirBusy(Exception):
    """Another process holds the data directory in a way that excludes this one."""


def hold_data_dir(data_dir: str | os.PathLike[str], exclusive: bool) -> int:
    """Lock the data directory for a server (shared: several processes may serve one center)
    or for a restore (exclusive: no server may run meanwhile); returns the open file, which
    holds the lock until it is closed or the process ends (even by SIGKILL)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(data_dir) / DATA_DIR_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise DataDirBusy(str(data_dir)) from exc
    return fd


# -- storage faults ---------------------------------------------------------------------------

#: below this much free space in the data directory, health says the disk is low; a commit
#: needs room for its WAL frames and a checkpoint
DISK_LOW_BYTES = 200 * 1024 * 1024
DISK_FULL_BYTES = 16 * 1024 * 1024

_FULL_WORDS = ("disk is full", "database or disk is full", "no space left",
               "could not extend file", "disk full")
_DISK_WORDS = ("disk i/o error", "readonly database", "read-only file system")


def fault_kind(exc: BaseException) -> str | None:
    """What a storage exception means for the center: `disk_full`, `disk_error`, `db_busy`,
    `db_unavailable`, or None when it is no storage fault (a bug: a 500)."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "disk_full"
        if exc.errno in (errno.EIO, errno.EROFS):
            return "disk_error"
        return None
    if isinstance(exc, PoolTimeout):
        return "db_busy"
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig if exc.orig is not None else exc).lower()
    if any(w in text for w in _FULL_WORDS):
        return "disk_full"
    if any(w in text for w in _DISK_WORDS):
        return "disk_error"
    if "database is locked" in text:
        return "db_busy"
    if exc.connection_invalidated or type(exc).__name__ in ("OperationalError",
                                                            "InterfaceError"):
        return "db_unavailable"
    return None


def disk_state(path: str | os.PathLike[str]) -> str:
    """`ok`, `low` or `full`: the free space where the data directory is."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "ok"  # not ours to judge (a missing directory is another error)
    if free < DISK_FULL_BYTES:
        return "full"
    return "low" if free < DISK_LOW_BYTES else "ok"


def _lock_file(fd: int) -> None:
    """Take the SQLite write lock file, waiting for another process's writer if need be: on a
    real thread under gevent (a blocking flock() would hold the whole loop still meanwhile)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        concurrency.run_off_loop(fcntl.flock, fd, fcntl.LOCK_EX)


class Database:
    """Owns the engine and hands out read and write transactions."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.url = url
        self.engine = make_engine(url)  # migrations, the CLI, tests
        self.clock = clock
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # read() and write(): on SQLite they start the transaction themselves (no listener)
        self._engine = make_engine(url, explicit_begin=True) if self.is_sqlite else self.engine
        # SQLite writers in several processes queue on a file lock (the kernel wakes the next
        # one at once) instead of SQLite's busy handler, which sleeps in steps of up to 100 ms
        path = url.split("///", 1)[-1] if self.is_sqlite else ""
        self._lock_path = f"{path}.writelock" if path and path != ":memory:" else None
        self._lock_fd: int | None = None
        self._lock_fd_guard = threading.Lock()
        #: the last storage fault (kind, wall time) until a write succeeds again: health
        #: tells what is wrong even while reads still work (a full disk)
        self.fault: tuple[str, float] | None = None

    def _noted(self, exc: BaseException) -> None:
        kind = fault_kind(exc)
        if kind is not None:
            self.fault = (kind, time.time())

    def _file_lock(self) -> int | None:
        if self._lock_path is None:
            return None
        with self._lock_fd_guard:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                        0o600)
            return self._lock_fd

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on SQLite WAL)."""
        try:
            with self._engine.connect() as conn:
                with conn.begin():
                    if self.is_sqlite:
                        conn.exec_driver_sql("BEGIN")
                    yield conn
        except (SQLAlchemyError, OSError) as exc:
            if fault_kind(exc) == "db_unavailable":
                self._noted(exc)
            raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that holds the center's write lock until it commits.

        Callers in one process are already serialised by `Center`'s lock, so the file lock
        only ever has one holder per process; it orders the processes that share a SQLite
        file (the server, a `layso` command run beside it, a second server).
        """
        fd = self._file_lock()
        if fd is not None:
            _lock_file(fd)
        try:
            with self._engine.connect() as conn:
                with conn.begin():
                    if self.is_sqlite:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    else:
                        conn.execute(text("SELECT seq FROM stream WHERE id = 1 FOR UPDATE"))
                    yield conn
            self.fault = None  # a write committed: the storage works again
        except (SQLAlchemyError, OSError) as exc:
            self._noted(exc)
            raise
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and empty it, so rows just
        deleted (overwritten with zeros there) leave no copy in the log either."""
        if not self.is_sqlite:
            return
        with self._engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self._engine is not self.engine:
            self._engine.dispose()
        with self._lock_fd_guard:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
