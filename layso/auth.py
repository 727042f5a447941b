"""Users, roles, device tokens, API tokens, sessions and CSRF."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from layso import concurrency, db
from layso.config import center_key
from layso.queue.errors import Conflict, Invalid
from layso.queue.text import check_username, clean_text
from layso.queue.unit import Actor

ROLES = ("admin", "supervisor", "officer")
DEVICE_KINDS = ("kiosk", "display", "feedback")
#: Argon2id at OWASP's minimum (m=19 MiB, t=2, p=1): a commune's 2-core box verifies one in
#: tens of milliseconds, and with at most LOGIN_CONCURRENT_HASHES verifications at a time a
#: login flood holds a few tens of MiB, not 64 MiB per attempt as the library's default did
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                         parallelism=ARGON2_PARALLELISM)
# verified against when the username is unknown, so timing does not reveal which users exist:
# made by the hasher in force the first time it is needed (a CLI command or a server start that
# logs nobody in pays no hash for it), and again only when the hasher changes
_dummy: tuple[PasswordHasher, str] | None = None


def password_hasher() -> PasswordHasher:
    """The hasher passwords are hashed and verified with."""
    return _hasher


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use `hasher` from now on (a test suite's cheap one, say); answers the previous one."""
    global _hasher
    previous = _hasher
    _hasher = hasher
    return previous


def _dummy_hash() -> str:
    """The stored hash an unknown username is verified against, by the hasher in force."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("not a password"))
    return _dummy[1]


#: letters, digits, dot, dash and underscore, at most 80
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


def hash_password(password: str) -> str:
    """An Argon2id hash of a password (slow on purpose: never inside a write transaction).

    Under gevent it runs on a real thread, so the loop (every socket) goes on meanwhile."""
    return concurrency.run_off_loop(_hasher.hash, password)


def unusable_password() -> str:
    """A stored hash no password matches (an account that cannot log in until one is set)."""
    return "!" + secrets.token_hex(16)


def new_device_token(kind: str) -> str:
    """A fresh bearer token for a device of this kind (`dk_…`, `dd_…`, `df_…`)."""
    return f"d{kind[0]}_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we keep of a bearer token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, username: str, password: str, role: str, name: str = "") -> int:
    """Create a user with an Argon2id password hash."""
    if role not in ROLES:
        raise Invalid("invalid_role", f"role must be one of {', '.join(ROLES)}")
    username = check_username(username.lower() if isinstance(username, str) else username)
    name = clean_text(name or "", "name", 200)
    if len(password) < 8:
        raise Invalid("weak_password", "password must have at least 8 characters")
    if conn.execute(select(db.users.c.id).where(
            func.lower(db.users.c.username) == username)).first() is not None:
        raise Conflict("user_exists", f"User {username!r} exists already")
    try:
        forget_actors(conn)
        return db.inserted_id(conn.execute(insert(db.users).values(
            username=username, name=name, role=role, password_hash=hash_password(password),
            active=True, created_at=db.utcnow())))
    except IntegrityError as exc:
        raise Conflict("user_exists", f"User {username!r} exists already") from exc


def set_password(conn: Connection, username: str, password: str) -> None:
    """Replace a user's password."""
    if len(password) < 8:
        raise Invalid("weak_password", "password must have at least 8 characters")
    forget_actors(conn)
    conn.execute(update(db.users).where(db.users.c.username == username)
                 .values(password_hash=hash_password(password)))
    user_id = conn.execute(select(db.users.c.id).where(
        db.users.c.username == username)).scalar()
    if user_id is not None:
        revoke_all_user_tokens(conn, user_id)  # a new password ends every session and token


def _verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with no stored hash (an unknown username) it costs
    the same and answers False."""
    try:
        if stored is None:
            _hasher.verify(_dummy_hash(), password)
            return False
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def check_password(conn: Connection, username: str, password: str,
                   slots: HashSlots | None = None) -> Actor | None:
    """The user, if the username and password match an active account.

    It only reads: call it outside any write transaction, because Argon2 takes tens of
    milliseconds on purpose, and a write lock held meanwhile would hold back every kiosk.
    With `slots` (held by the caller) the hash runs on their threads; never on gevent's loop.
    """
    rows = conn.execute(select(db.users).where(
        db.users.c.username.in_({username, username.lower()}))).all()
    # the exact name first (an account made before usernames were lower-cased)
    row = next((r for r in rows if r.username == username), rows[0] if rows else None)
    stored = row.password_hash if row else None
    ok = (slots.run(_verify, stored, password) if slots
          else concurrency.run_off_loop(_verify, stored, password))
    if not ok:
        return None
    if row is None or not row.active:
        return None
    return user_actor(row)


def upgrade_password_hash(conn: Connection, user_id: int, password: str) -> None:
    """After a successful login: a hash made with weaker settings than today's is replaced."""
    stored = conn.execute(select(db.users.c.password_hash)
                          .where(db.users.c.id == user_id)).scalar_one()
    if _hasher.check_needs_rehash(stored):
        conn.execute(update(db.users).where(db.users.c.id == user_id)
                     .values(password_hash=hash_password(password)))


def user_actor(row: Any) -> Actor:
    """The actor for a user row."""
    return Actor(kind="user", id=row.id, role=row.role, name=row.name or row.username)


def issue_user_token(conn: Connection, user_id: int, hours: int) -> str:
    """A new bearer token for a logged-in user."""
    return issue_login(conn, user_id, hours)[0]


def issue_login(conn: Connection, user_id: int, hours: int) -> tuple[str, int]:
    """A login: its bearer token and the token row's id, which the login's session names too,
    so that ending one ends the other."""
    token = "u_" + secrets.token_urlsafe(32)
    now = db.utcnow()
    forget_actors(conn)
    token_id = db.inserted_id(conn.execute(insert(db.api_tokens).values(
        token_hash=token_digest(token), user_id=user_id, created_at=now,
        expires_at=now + timedelta(hours=hours), revoked=False)))
    return token, int(token_id)


def revoke_user_token(conn: Connection, token: str) -> None:
    """Log a bearer token out."""
    forget_actors(conn)
    conn.execute(update(db.api_tokens).where(db.api_tokens.c.token_hash == token_digest(token))
                 .values(revoked=True))


def revoke_login(conn: Connection, token_id: int) -> None:
    """End a login by its token row: the session and the bearer token of it stop at once."""
    forget_actors(conn)
    conn.execute(update(db.api_tokens).where(db.api_tokens.c.id == token_id)
                 .values(revoked=True))


def revoke_all_user_tokens(conn: Connection, user_id: int) -> None:
    """End every login of a user (password changed, account deactivated)."""
    forget_actors(conn)
    conn.execute(update(db.api_tokens).where(db.api_tokens.c.user_id == user_id)
                 .values(revoked=True))


def add_device(conn: Connection, name: str, kind: str, counter_id: int | None = None) -> str:
    """Enrol a device; returns its token (shown once, stored hashed)."""
    if kind not in DEVICE_KINDS:
        raise Invalid("invalid_kind", f"kind must be one of {', '.join(DEVICE_KINDS)}")
    if kind == "feedback" and counter_id is None:
        raise Invalid("counter_required", "a feedback device belongs to one counter")
    token = new_device_token(kind)
    forget_actors(conn)
    conn.execute(insert(db.devices).values(
        name=name, kind=kind, counter_id=counter_id, token_hash=token_digest(token),
        active=True, created_at=db.utcnow()))
    return token


# built once: every API request looks its token up
_USER_BY_TOKEN = (select(db.users, db.api_tokens.c.expires_at, db.api_tokens.c.revoked)
                  .join(db.api_tokens, db.api_tokens.c.user_id == db.users.c.id)
                  .where(db.api_tokens.c.token_hash == bindparam("digest")))
_USER_BY_LOGIN = (select(db.users, db.api_tokens.c.expires_at, db.api_tokens.c.revoked)
                  .join(db.api_tokens, db.api_tokens.c.user_id == db.users.c.id)
                  .where(db.api_tokens.c.id == bindparam("token_id")))
_DEVICE_BY_TOKEN = select(db.devices).where(db.devices.c.token_hash == bindparam("digest"))
_USER_BY_ID = select(db.users).where(db.users.c.id == bindparam("id"))


def actor_for_token(conn: Connection, token: str) -> Actor | None:
    """The user or device a bearer token stands for, or None."""
    found = _lookup_token(conn, token)
    if found is None:
        return None
    actor, expires_at = found
    return actor if expires_at is None or expires_at > db.utcnow() else None


def _lookup_token(conn: Connection, token: str) -> tuple[Actor, datetime | None] | None:
    """The actor of a usable (known, active, unrevoked) token and when it expires (None: never,
    as a device's token)."""
    digest = token_digest(token)
    if token.startswith("u_"):
        row = conn.execute(_USER_BY_TOKEN, {"digest": digest}).first()
        if row is None or row.revoked or not row.active:
            return None
        return user_actor(row), row.expires_at
    dev = conn.execute(_DEVICE_BY_TOKEN, {"digest": digest}).first()
    if dev is None or not dev.active:
        return None
    return Actor(kind="device", id=dev.id, role=dev.kind, counter_id=dev.counter_id,
                 name=dev.name), None


def user_by_id(conn: Connection, user_id: int) -> Actor | None:
    """The active user with this id."""
    row = conn.execute(_USER_BY_ID, {"id": user_id}).first()
    return user_actor(row) if row is not None and row.active else None


# -- who a request is, remembered for a few seconds ------------------------------------------
#
# Every API request names its actor (a kiosk's token, an official's token or session), and
# reading that costs a transaction of its own. A process remembers the answer for TOKEN_TTL
# seconds. Every write to users, devices or api_tokens goes through a function of this module,
# which calls `forget_actors`: this process forgets at once, and again when the transaction
# ends (readers meanwhile saw the old row); a write by another process (the CLI, another
# server) takes effect within TOKEN_TTL. Token expiry is compared on every use, so an expired
# token is refused at the exact second. No statement listener: an engine with one pays
# SQLAlchemy's event dispatch on every query.

TOKEN_TTL = 5.0
_MAX_REMEMBERED = 4096
_FORGET_FLAG = "layso_auth_write"


class ActorCache:
    """Actors by key (a token digest, or a session's user id), for one database."""

    def __init__(self) -> None:
        self.generation = 0
        self._entries: dict[Any, tuple[float, Actor, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[Actor, datetime | None] | None:
        """The remembered actor and expiry, if still fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1], entry[2]

    def put(self, key: Any, actor: Actor, expires_at: datetime | None, generation: int) -> None:
        """Remember an answer read at `generation`, unless something was forgotten since."""
        with self._lock:
            if generation != self.generation:
                return  # a write to the auth tables happened while it was read: not trusted
            if len(self._entries) >= _MAX_REMEMBERED:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + TOKEN_TTL, actor, expires_at)

    def forget(self) -> None:
        """Forget every actor (the auth tables changed)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()


_caches: dict[str, ActorCache] = {}
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()
_by_engine: weakref.WeakKeyDictionary[Engine, ActorCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def actor_cache(engine: Engine) -> ActorCache:
    """The actor cache of the database this engine opens (engines on one URL share it)."""
    cache = _by_engine.get(engine)
    if cache is None:
        key = engine.url.render_as_string(hide_password=False)
        with _caches_lock:
            cache = _caches.setdefault(key, ActorCache())
            _by_engine[engine] = cache
    return cache


def forget_actors(conn: Connection) -> None:
    """Call inside a transaction that changes users, devices or tokens."""
    engine = conn.engine
    cache = actor_cache(engine)
    cache.forget()
    conn.info[_FORGET_FLAG] = True
    if engine not in _watched:
        with _caches_lock:
            if engine not in _watched:
                def on_checkin(_dbapi_conn: Any, record: Any) -> None:
                    if record is not None and record.info.pop(_FORGET_FLAG, False):
                        cache.forget()  # the transaction is over: forget what was read meanwhile

                event.listen(engine, "checkin", on_checkin)  # a pool event: no cost per query
                _watched.add(engine)


def _cached_actor(database: Any, key: tuple[str, Any],
                  look: Callable[[Connection], tuple[Actor, datetime | None] | None]
                  ) -> Actor | None:
    """The actor under `key` in the engine's cache, else `look`ed up (and remembered when
    found: who is unknown is never remembered, so a new token or login works at once); None
    once it expired."""
    cache = actor_cache(database.engine)
    found = cache.get(key)
    if found is None:
        generation = cache.generation
        with database.read() as conn:
            found = look(conn)
        if found is None:
            return None
        cache.put(key, found[0], found[1], generation)
    actor, expires_at = found
    return actor if expires_at is None or expires_at > db.utcnow() else None


def bearer_actor(database: Any, token: str) -> Actor | None:
    """`actor_for_token` through the engine's cache: most requests read nothing."""
    return _cached_actor(database, ("token", token_digest(token)),
                         lambda conn: _lookup_token(conn, token))


def login_actor(conn: Connection, token_id: int) -> tuple[Actor, datetime | None] | None:
    """The active user of a login (a token row) that was not revoked, and when it expires."""
    row = conn.execute(_USER_BY_LOGIN, {"token_id": token_id}).first()
    if row is None or row.revoked or not row.active:
        return None
    return user_actor(row), row.expires_at


def session_actor(database: Any, token_id: int) -> Actor | None:
    """The user of a session, through the engine's cache: the session names its login's token
    row, so a logout, a new password or a deactivation ends it at once."""
    return _cached_actor(database, ("login", token_id),
                         lambda conn: login_actor(conn, token_id))


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time CSRF token comparison."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class RateLimiter:
    """A sliding one-minute window per key, in this process's memory."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + window

    def allow(self, key: str) -> bool:
        """Count a hit; False when the key is over its limit."""
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                # keys whose hits have all left the window go, so a guesser trying many
                # usernames cannot grow this without bound
                since = now - self.window
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > since}
                self._next_sweep = now + self.window
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            return True

    def __len__(self) -> int:
        """How many keys are being counted."""
        return len(self._hits)


class SharedRateLimiter:
    """The same sliding window kept in Redis, so every server process counts the same hits.

    Several processes (PostgreSQL + Redis, see DESIGN) would otherwise each allow a kiosk its
    full budget, and a password guesser as many tries as there are processes. The window is
    one sorted set per key, trimmed and counted in one script on Redis's own clock. When
    Redis does not answer, this process's own window decides, so a kiosk never stops issuing
    because the message queue is down.
    """

    # KEYS[1] the key's set; ARGV: window in microseconds, limit, a member unique to this hit
    _SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000))
return 1
"""

    def __init__(self, url: str, name: str, per_minute: int, window: float = 60.0) -> None:
        import redis

        self.per_minute = per_minute
        self.window = window
        self.prefix = f"layso:rate:{name}:"  # `name` tells the center and the limit apart
        self.local = RateLimiter(per_minute, window)
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = client.register_script(self._SCRIPT)
        self._errors = (redis.RedisError, OSError)
        self._warned = 0.0
        self._retry_at = 0.0

    #: after Redis failed, this many seconds of counting locally before asking it again, so a
    #: hung Redis costs one timeout, not one per ticket
    RETRY_AFTER = 5.0

    def allow(self, key: str) -> bool:
        """Count a hit in Redis; False when the key is over its limit across all processes."""
        now = time.monotonic()
        if now >= self._retry_at:
            try:
                return bool(self._script(keys=[self.prefix + key],
                                         args=[int(self.window * 1_000_000), self.per_minute,
                                               uuid.uuid4().hex]))
            except self._errors as exc:
                self._retry_at = now + self.RETRY_AFTER
                if now - self._warned > 60:
                    self._warned = now
                    logging.getLogger(__name__).warning(
                        "rate limit: Redis did not answer (%s); counting in this process", exc)
        return self.local.allow(key)


Limiter = RateLimiter | SharedRateLimiter


def rate_limiter(message_queue: str | None, database_url: str, name: str,
                 per_minute: int) -> Limiter:
    """A limiter shared through Redis when the processes share one, else this process's own.

    The processes of one center share its database, so the database's address names the
    center's keys: two centers (or two test runs) on one Redis never count each other's hits.
    """
    if message_queue and message_queue.startswith(("redis://", "rediss://", "unix://")):
        return SharedRateLimiter(message_queue, f"{center_key(database_url)}:{name}",
                                 per_minute)
    return RateLimiter(per_minute)


class HashSlots:
    """At most `n` password verifications at once in this process, on `n` threads of their own.

    Each Argon2 verification holds its memory for its whole run, so unbounded concurrent
    logins are unbounded memory. A login that finds no slot within `wait` seconds is refused
    (the caller answers 429), so a flood queues briefly and never grows. The hashes run on a
    fixed pool of threads: the C allocator keeps freed memory per thread arena, so hashes
    spread over hundreds of request threads kept hundreds of MiB after the flood had passed.
    """

    def __init__(self, n: int, wait: float) -> None:
        self.n = max(1, n)
        self.wait = wait
        self._sem = threading.BoundedSemaphore(self.n)
        # real OS threads under gevent too: a hash on the loop would hold every socket still
        self._pool = concurrency.ThreadPool(self.n, "layso-hash")

    def acquire(self) -> bool:
        """Take a slot, waiting at most `wait` seconds; False when none came free."""
        return self._sem.acquire(timeout=self.wait)

    def release(self) -> None:
        """Give the slot back."""
        self._sem.release()

    def run(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)` run on one of the pool's threads (hold a slot first)."""
        return self._pool.run(fn, *args)


def new_csrf_token() -> str:
    """A fresh CSRF token for a session."""
    return secrets.token_urlsafe(24)
