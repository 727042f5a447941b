"""Real-time printer status over DLE EOT (10 04 n): the requests and how to read the replies."""

from __future__ import annotations

import time
from collections.abc import Callable

NONE = "none"
OK = "ok"
PAPER_NEAR_END = "paper_near_end"
PAPER_OUT = "paper_out"
COVER_OPEN = "cover_open"
OFFLINE = "offline"
STATUSES = (NONE, OK, PAPER_NEAR_END, PAPER_OUT, COVER_OPEN, OFFLINE)
#: Statuses in which a job is sent (near end still has paper for some tickets).
PRINTABLE = (OK, PAPER_NEAR_END)

DLE_EOT = b"\x10\x04"
REQUESTS = (1, 2, 4)


def is_status_byte(value: int) -> bool:
    """Return True if value has the fixed bits of a DLE EOT reply (0xx1xx10)."""
    return value & 0b1001_0011 == 0b0001_0010


def interpret(printer: int, offline_cause: int, paper: int) -> str:
    """Return the status from the replies to DLE EOT n=1, n=2 and n=4."""
    if not all(is_status_byte(b) for b in (printer, offline_cause, paper)):
        return OFFLINE
    if offline_cause & 0x04:
        return COVER_OPEN
    if paper & 0x60 or offline_cause & 0x20:
        return PAPER_OUT
    if printer & 0x08 or offline_cause & 0x40:
        return OFFLINE
    if paper & 0x0C:
        return PAPER_NEAR_END
    return OK


def query(
    write: Callable[[bytes], None],
    read_byte: Callable[[float], bytes],
    timeout: float = 1.0,
) -> str:
    """Send DLE EOT 1, 2 and 4 and interpret the replies; silence within timeout is offline.

    ``read_byte(seconds)`` returns one byte, or b"" when nothing came in time; transport
    errors propagate so the caller can reconnect.
    """
    deadline = time.monotonic() + timeout
    replies: list[int] = []
    for n in REQUESTS:
        write(DLE_EOT + bytes([n]))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return OFFLINE
        got = read_byte(remaining)
        if not got:
            return OFFLINE
        replies.append(got[0])
    return interpret(*replies)
