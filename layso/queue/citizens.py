"""Citizens' ID card numbers and dossier codes: how they are checked, counted and forgotten.

An ID card number (CCCD, 12 digits) reaches the server only to apply the center's
`citizen_daily_limit` (numbers per citizen per service per business day). It is never stored,
logged or returned: the center keeps, for the current business day only, an HMAC of it under
the day's key, per service, with how many tickets it took. The day's key is derived from the
server's secret key and a random nonce kept for that day; when the day ends the nonce and the
hashes are deleted, so not even the server can tell afterwards whose numbers they were
(Personal Data Protection Law 91/2025/QH15; docs/operations.md says what is kept).

A dossier code (mã hồ sơ) is the one-stop system's code of a citizen's file, e.g.
`000.00.17.H56-251202-0007` (Circular 04/2025/TT-VPCP): staff see it, the public never does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, text
from sqlalchemy.engine import Row

from layso import db
from layso.queue.errors import Conflict, Invalid
from layso.queue.unit import Center, Reader, Tx

CITIZEN_ID_RE = re.compile(r"^[0-9]{12}$")
#: 1–40 letters, digits, dots and dashes (DESIGN), with at least one letter or digit
DOSSIER_RE = re.compile(r"^(?=.*[A-Za-z0-9])[A-Za-z0-9.-]{1,40}$")


def check_citizen_id(value: Any) -> str:
    """The 12 digits of a chip ID card, or Invalid (whose message never repeats the value)."""
    if not isinstance(value, str) or not CITIZEN_ID_RE.match(value):
        raise Invalid("invalid_citizen_id",
                      "citizen_id must be the 12 digits of a chip ID card (CCCD)",
                      field="citizen_id")
    return value


def check_dossier(value: Any) -> str:
    """A dossier code as stored: trimmed, capital letters (scanners and keyboards differ in
    case, the one-stop system's codes are capitals), or Invalid."""
    if not isinstance(value, str) or not DOSSIER_RE.match(value.strip()):
        raise Invalid("invalid_dossier",
                      "dossier must be a dossier code: 1-40 letters, digits, . and -",
                      field="dossier")
    return value.strip().upper()


def _day_key(tx: Tx, day_id: int) -> bytes:
    """The day's HMAC key: the server's secret and the day's nonce (made on first use)."""
    nonce = tx.conn.execute(select(db.citizen_days.c.nonce).where(
        db.citizen_days.c.day_id == day_id)).scalar()
    if nonce is None:
        nonce = secrets.token_hex(32)
        tx.conn.execute(insert(db.citizen_days).values(day_id=day_id, nonce=nonce))
    return hmac.new(tx.citizen_secret, nonce.encode(), hashlib.sha256).digest()


_COUNT = text(
    "INSERT INTO citizen_counts (day_id, service_id, digest, issued) "
    "VALUES (:day, :service, :digest, 1) "
    "ON CONFLICT (day_id, service_id, digest) "
    "DO UPDATE SET issued = citizen_counts.issued + 1 "
    "RETURNING issued")


def count_ticket(tx: Tx, service: Row[Any], citizen_id: str) -> None:
    """Count one more ticket of this citizen in this service today, or refuse it (409
    `citizen_limit`) when the center's limit is reached. Nothing is kept without a limit."""
    limit = tx.center.citizen_daily_limit
    if not limit or limit <= 0:
        return
    day = tx.open_day()
    digest = hmac.new(_day_key(tx, day.id), f"{service.id}:{citizen_id}".encode(),
                      hashlib.sha256).hexdigest()
    issued = tx.conn.execute(_COUNT, {"day": day.id, "service": service.id,
                                      "digest": digest}).scalar_one()
    if issued > limit:
        # the transaction (or its savepoint) rolls back: the refused ticket is not counted
        raise Conflict(
            "citizen_limit",
            f"You already took {limit} number{'s' if limit > 1 else ''} today for "
            f"{service.name_en}. Please wait to be called with the number you have, or ask "
            "at the help desk.", limit=limit)


def _ended(r: Reader) -> list[int]:
    """Ids of the days, earlier than today's date, whose citizen rows are still kept."""
    today = r.local_now.date()
    d = db.business_days.c
    days = select(db.citizen_days.c.day_id.label("day_id")).union(
        select(db.citizen_counts.c.day_id)).subquery()
    return [int(x) for x in r.conn.execute(
        select(d.id).where(d.id.in_(select(days.c.day_id)), d.day < today)).scalars()]


def forget_ended_days(tx: Tx, keep_day_id: int | None = None) -> int:
    """Delete the nonces and hashes of every day but `keep_day_id` (or, without it, of the
    days before today's date); returns how many days were forgotten."""
    cond_days: ColumnElement[bool]
    cond_counts: ColumnElement[bool]
    if keep_day_id is None:
        ended = _ended(tx)
        if not ended:
            return 0
        cond_days = db.citizen_days.c.day_id.in_(ended)
        cond_counts = db.citizen_counts.c.day_id.in_(ended)
    else:
        cond_days = db.citizen_days.c.day_id != keep_day_id
        cond_counts = db.citizen_counts.c.day_id != keep_day_id
    tx.conn.execute(delete(db.citizen_counts).where(cond_counts))
    return int(tx.conn.execute(delete(db.citizen_days).where(cond_days)).rowcount or 0)


def forget_if_ended(center: Center) -> int:
    """Forget the ended days' citizen rows if any are left (a day with no ticket after it
    opens no new day): a cheap read, and a write only when there is something to delete."""
    with center.read() as r:
        if not _ended(r):
            return 0
    with center.write() as tx:
        n = forget_ended_days(tx)
    center.db.checkpoint()
    return n
