"""The queue domain: every rule of issuing, calling and serving lives here, free of Flask."""

from layso.queue.errors import Conflict, Forbidden, Invalid, NotFound, QueueError
from layso.queue.unit import SYSTEM, Actor, Center, Reader, Tx

__all__ = ["SYSTEM", "Actor", "Center", "Conflict", "Forbidden", "Invalid", "NotFound",
           "QueueError", "Reader", "Tx"]
