"""Domain errors: each carries the API error code and the HTTP status it maps to."""

from __future__ import annotations


class QueueError(Exception):
    """A rule of the queue refused the action; nothing was changed."""

    status = 400

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class NotFound(QueueError):
    """The thing named does not exist."""

    status = 404


class Conflict(QueueError):
    """Illegal transition, closed service, cap reached, busy counter."""

    status = 409


class Invalid(QueueError):
    """A field has a value the center does not know or accept."""

    status = 422


class Forbidden(QueueError):
    """The actor may not do this (role, or a counter opened by someone else)."""

    status = 403
