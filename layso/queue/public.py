"""What the public channels see: the board (anyone may connect as one) and a citizen's phone.

Staff channels get the events as they are logged. A board gets only what a board shows: the
label, the service, that a ticket has priority (not which category), counters and their
state with the pause reason (the official types it for the room: the pause dialog says so),
waiting counts, the notice. Never an outcome, an official's name or a rating. Every event
keeps its `{epoch, seq, type, at}`, so a board still sees `seq` rise by one; an event type not
listed here reaches the board as those four keys alone.
"""

from __future__ import annotations

from typing import Any

#: the keys of the event envelope, kept on every event
ENVELOPE = ("epoch", "seq", "type", "at")
#: per event type, the payload keys a board may see (besides the envelope)
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "ticket.issued": ("ticket",),
    "ticket.called": ("ticket", "counter", "recall", "recalls", "speech", "clips"),
    "ticket.started": ("ticket", "counter"),
    "ticket.completed": ("ticket", "counter"),
    "ticket.no_show": ("ticket", "counter"),
    "ticket.transferred": ("ticket", "counter", "from_service", "to_service", "from_counter"),
    "ticket.released": ("ticket", "from_counter"),  # its official left: back to the queue
    "ticket.reactivated": ("ticket", "counter"),
    "ticket.cancelled": ("ticket", "counter"),
    "ticket.updated": ("ticket", "counter"),
    "ticket.printed": ("ticket",),
    "counter.changed": ("counter",),
    "queue.changed": ("waiting",),
    "printer.changed": ("printer", "alert", "device"),  # the kiosk whose printer it is
    "notice.changed": ("notice",),
    "day.opened": ("day",),
    "config.changed": ("what", "action", "ref"),  # which part of the setup changed (a user: no ref)
}
#: what a board may see of a counter
COUNTER_KEYS = ("number", "name", "state", "services", "current", "pause_reason",
                "pause_reason_en")
#: the replay a board may ask for; further back it gets a snapshot (today's state, no history)
BOARD_REPLAY_LIMIT = 50


def ticket(t: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ticket as a board shows it: label, service, state, and whether it has priority."""
    if not isinstance(t, dict):
        return None
    out: dict[str, Any] = {k: t[k] for k in ("label", "service", "state") if k in t}
    out["priority"] = True if t.get("priority") else None
    return out


def counter(c: dict[str, Any] | None) -> dict[str, Any] | None:
    """A counter as a board shows it (its current ticket made public too)."""
    if not isinstance(c, dict):
        return None
    out = {k: c[k] for k in COUNTER_KEYS if k in c}
    if "current" in out:
        out["current"] = ticket(out["current"])
    return out


def event(msg: dict[str, Any]) -> dict[str, Any]:
    """An event message as the board channel receives it."""
    out = {k: msg[k] for k in ENVELOPE if k in msg}
    for key in EVENT_KEYS.get(str(msg.get("type")), ()):
        if key not in msg:
            continue
        value = msg[key]
        if key == "ticket":
            value = ticket(value)
        elif key == "counter" and msg.get("type") == "counter.changed":
            value = counter(value)
        out[key] = value
    return out


def board(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The board snapshot with every ticket and counter in it made public."""
    return {**snapshot,
            "counters": [counter(c) for c in snapshot.get("counters", [])],
            "recent": [_recent_call(call) for call in snapshot.get("recent", [])]}


def _recent_call(call: dict[str, Any]) -> dict[str, Any]:
    """One of the snapshot's recent calls (a logged `ticket.called` payload with at, seq)."""
    out = {k: call[k] for k in EVENT_KEYS["ticket.called"] + ("at", "seq") if k in call}
    out["ticket"] = ticket(call.get("ticket"))
    return out
