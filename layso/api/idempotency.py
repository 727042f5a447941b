"""Actions: one transaction in the center's group commit, replayed for a repeated
Idempotency-Key (per user or device, kept 24 hours)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, request
from sqlalchemy import delete, insert, select

from layso import db, identity
from layso.api.errors import ApiError
from layso.queue import Actor, Reader, Tx

IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
KEEP = timedelta(hours=24)


def act(fn: Callable[[Tx], Any], status: int = 200) -> Response:
    """Run a domain action in one transaction; an Idempotency-Key replays its first answer.

    The action joins the center's group commit, so `fn` must not touch Flask's request
    context (`g`, `request`): it may run on the thread of another request.
    """
    actor = identity.actor()
    assert actor is not None  # every action view requires a role first
    key, fingerprint = request_key()

    def op(tx: Tx) -> tuple[int, str]:
        if key is not None and (first := first_answer(tx, actor, key, fingerprint)):
            return first
        result = fn(tx)
        code = 204 if result is None else status
        text = "" if result is None else json.dumps(result, ensure_ascii=False)
        if key is not None:
            _remember(tx, actor, key, fingerprint, code, text)
        return code, text

    return replay(*identity.center().run(op))


def _remember(tx: Tx, actor: Actor, key: str, fingerprint: str, code: int, text: str) -> None:
    keys = db.idempotency_keys.c
    if random.random() < 0.01:  # keys live 24 h; sweep now and then
        tx.conn.execute(delete(db.idempotency_keys).where(keys.created_at <= tx.now - KEEP))
    tx.conn.execute(delete(db.idempotency_keys).where(keys.actor == actor.key, keys.key == key))
    tx.conn.execute(insert(db.idempotency_keys).values(
        actor=actor.key, key=key, fingerprint=fingerprint, status=code, body=text,
        created_at=tx.now))


def request_key() -> tuple[str | None, str]:
    """The request's Idempotency-Key (checked) and what makes two requests the same one."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_RE.match(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key: 1-200 visible characters")
    fingerprint = f"{request.method} {request.path} " + hashlib.sha256(
        _without_citizen_id(request.get_data(cache=True))).hexdigest()
    return key, fingerprint


def _without_citizen_id(raw: bytes) -> bytes:
    """The body as fingerprinted: an ID card number is left out, since a plain hash of it
    kept 24 hours could be reversed by trying every number (it is never kept, see DESIGN)."""
    if b"citizen_id" not in raw:
        return raw
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return raw
    if not isinstance(data, dict) or "citizen_id" not in data:
        return raw
    data["citizen_id"] = data["citizen_id"] is not None
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode()


def first_answer(r: Reader, actor: Actor, key: str,
                 fingerprint: str) -> tuple[int, str] | None:
    """The stored answer to this actor's key (kept 24 h), or None; 422 for another request."""
    keys = db.idempotency_keys.c
    row = r.conn.execute(select(db.idempotency_keys).where(
        keys.actor == actor.key, keys.key == key, keys.created_at > r.now - KEEP)).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for another request")
    return row.status, row.body


def stored_answer(actor: Actor) -> Response | None:
    """The first answer to this request's Idempotency-Key, if it was already answered."""
    key, fingerprint = request_key()
    if key is None:
        return None
    with identity.center().read() as r:
        first = first_answer(r, actor, key, fingerprint)
    return replay(*first) if first is not None else None


def replay(status: int, text: str) -> Response:
    """An answer as first given: its status and its exact body."""
    if status == 204:
        return Response(status=204)
    return Response(text, status=status, mimetype="application/json")
