"""What the center keeps, and for how long: personal free text and spent tokens go.

A rating's comment is free text a citizen typed (a phone number, a name); reports count
scores and reasons, and the comment is kept only `comment_days` for the leaders to read.
An expired or revoked login token opens nothing: it goes `token_days` after its end, so the
table does not keep a record of every login forever. Scores, reasons, tickets and the event
log stay: they are the center's statistics and audit trail and hold nothing typed by a
citizen (the ID card number is never stored, see DESIGN).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection

from layso import db


def purge(conn: Connection, now: datetime, comment_days: int | None,
          token_days: int | None) -> dict[str, int]:
    """Blank comments older than `comment_days` and delete tokens spent `token_days` ago
    (None: keep); returns how many of each."""
    out = {"comments": 0, "tokens": 0}
    if comment_days is not None:
        r = db.ratings
        out["comments"] = int(conn.execute(
            update(r).where(r.c.comment.is_not(None),
                            r.c.at < now - timedelta(days=comment_days))
            .values(comment=None)).rowcount or 0)
    if token_days is not None:
        t = db.api_tokens
        cutoff = now - timedelta(days=token_days)
        from layso import auth

        auth.forget_actors(conn)
        out["tokens"] = int(conn.execute(delete(t).where(
            (t.c.expires_at < cutoff) | (t.c.revoked.is_(True) & (t.c.created_at < cutoff))
        )).rowcount or 0)
    return out
