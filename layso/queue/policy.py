"""Call order: which waiting ticket a counter calls next, under the center's priority policy.

Plain data in, plain data out, so the rules can be tested and reasoned about alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from layso.queue.errors import Invalid


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket as the call policy sees it."""

    id: int
    service_id: int
    priority: bool
    queue_at: datetime


@dataclass(frozen=True)
class Policy:
    """`strict`, `ratio:N` or `aging:MINUTES`."""

    kind: str
    n: int = 0

    def __str__(self) -> str:
        return self.kind if self.kind == "strict" else f"{self.kind}:{self.n}"


def parse_policy(text: str) -> Policy:
    """Parse a policy string, raising Invalid for anything else."""
    text = text.strip() if isinstance(text, str) else ""
    if text == "strict":
        return Policy("strict")
    kind, _, num = text.partition(":")
    # ASCII digits only: str.isdigit() also passes "²" (int() then fails) and "٣" (int() reads 3)
    if kind in ("ratio", "aging") and num.isascii() and num.isdigit():
        n = int(num)
        if (kind == "ratio" and 1 <= n <= 100) or (kind == "aging" and 0 <= n <= 24 * 60):
            return Policy(kind, n)
    raise Invalid("invalid_policy", "Policy must be strict, ratio:N (1-100) or aging:MINUTES")


def _key(c: Candidate) -> tuple[datetime, int]:
    return (c.queue_at, c.id)


def call_order(
    candidates: Sequence[Candidate],
    policy: Policy,
    streak: int = 0,
    service_order: Sequence[int] | None = None,
) -> list[Candidate]:
    """The order in which one counter would call these tickets if nobody else arrived.

    `streak` is the number of normal calls the counter made since its last priority call
    (ratio policy). `service_order` makes the counter `ordered`: all of its first service,
    then the next; None means `fifo` across services.
    """
    if service_order is not None:
        out: list[Candidate] = []
        for sid in service_order:
            part = [c for c in candidates if c.service_id == sid]
            ordered = call_order(part, policy, streak)
            for c in ordered:
                streak = 0 if c.priority else streak + 1
            out.extend(ordered)
        return out
    if policy.kind == "strict":
        return sorted(candidates, key=lambda c: (not c.priority, c.queue_at, c.id))
    if policy.kind == "aging":
        bonus = timedelta(minutes=policy.n)
        return sorted(
            candidates, key=lambda c: (c.queue_at - bonus if c.priority else c.queue_at, c.id)
        )
    # ratio:N: oldest first, but never more than N normal calls in a row while priority waits
    prio = sorted((c for c in candidates if c.priority), key=_key)
    normal = sorted((c for c in candidates if not c.priority), key=_key)
    out = []
    i = j = 0
    while i < len(prio) or j < len(normal):
        take_prio = i < len(prio) and (
            j >= len(normal) or streak >= policy.n or _key(prio[i]) <= _key(normal[j])
        )
        if take_prio:
            out.append(prio[i])
            i += 1
            streak = 0
        else:
            out.append(normal[j])
            j += 1
            streak += 1
    return out


def pick_next(
    candidates: Sequence[Candidate],
    policy: Policy,
    streak: int = 0,
    service_order: Sequence[int] | None = None,
) -> Candidate | None:
    """The ticket a counter calls now, or None when nothing waits for it."""
    if service_order is not None:
        for sid in service_order:
            part = [c for c in candidates if c.service_id == sid]
            if part:
                return pick_next(part, policy, streak)
        return None
    order = call_order(candidates, policy, streak)
    return order[0] if order else None


#: no ticket of that class is ahead / every ticket of that class is ahead
NEVER = datetime(1, 1, 2, tzinfo=UTC)
ALWAYS = datetime(9999, 12, 30, tzinfo=UTC)


def ahead_bounds(policy: Policy, priority: bool, queue_at: datetime
                 ) -> tuple[datetime, datetime] | None:
    """For a waiting ticket: a ticket of the same service is ahead of it iff its queue time is
    before the bound of its class, `(priority bound, normal bound)`.

    This is `call_order` as a count, for the policies that sort by a key (strict, aging), so
    a ticket's place costs one COUNT however long the queue. `ratio` depends on the whole
    sequence and answers None: take the place from `call_order`.
    """
    if policy.kind == "strict":
        return (queue_at, NEVER) if priority else (ALWAYS, queue_at)
    if policy.kind == "aging":
        bonus = timedelta(minutes=policy.n)
        return (queue_at, queue_at - bonus) if priority else (queue_at + bonus, queue_at)
    return None
