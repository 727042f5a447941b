"""Group commit (`Center.run`): callers that arrive together share one transaction, each in its
own savepoint, and each gets its own answer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from layso.events import Event
from layso.queue import Conflict, ops
from tests.queue.helpers import log, stream


def hold_the_writer(center: Any) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """Start a caller whose action waits inside its transaction until released."""
    inside, release = threading.Event(), threading.Event()

    def blocker(tx: Any) -> str:
        inside.set()
        assert release.wait(30)
        return "first"

    t = threading.Thread(target=center.run, args=(blocker,))
    t.start()
    assert inside.wait(30)
    return t, inside, release


def wait_queued(center: Any, n: int) -> None:
    """Wait until n callers queue behind the one committing."""
    for _ in range(3000):
        with center._batch_cond:
            if len(center._batch) >= n:
                return
        threading.Event().wait(0.01)
    pytest.fail(f"{n} callers never queued")


def test_callers_waiting_together_share_one_commit_and_a_refusal_rolls_back_alone(
        center, kiosk_actor):
    batches: list[list[Event]] = []
    center.hub.subscribe_batch(batches.append)
    first, _inside, release = hold_the_writer(center)
    results: dict[int, Any] = {}

    def kiosk(i: int) -> None:
        def act(tx: Any) -> Any:
            view = ops.issue(tx, kiosk_actor, "civil-status")
            if i == 3:  # this citizen's action fails after writing: nothing of it may remain
                raise Conflict("test_refusal", "refused after writing")
            return view["label"]
        try:
            results[i] = center.run(act)
        except Conflict as exc:
            results[i] = exc

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    wait_queued(center, 6)
    epoch0, seq0 = stream(center)
    release.set()
    first.join(30)
    for t in threads:
        t.join(30)

    assert isinstance(results[3], Conflict) and results[3].code == "test_refusal"
    labels = sorted(v for k, v in results.items() if k != 3)
    assert labels == ["A001", "A002", "A003", "A004", "A005"]  # gap-free: no number lost
    # one publish for the six callers' commit: five issues, two events each, in log order
    shared = [b for b in batches if any(e.type == "ticket.issued" for e in b)]
    assert len(shared) == 1
    assert [e.type for e in shared[0]].count("ticket.issued") == 5
    epoch1, seq1 = stream(center)
    assert [e.seq for e in shared[0]] == list(range(seq0 + 1, seq1 + 1)) or epoch1 != epoch0
    rows = [r for r in log(center) if r[0] == epoch1]
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(1 for r in rows if r[2] == "ticket.issued") == 5


def test_a_lone_refused_action_raises_its_own_error_and_writes_nothing(center, kiosk_actor):
    before = log(center)

    def act(tx: Any) -> Any:
        ops.issue(tx, kiosk_actor, "civil-status")
        raise Conflict("test_refusal", "refused after writing")

    with pytest.raises(Conflict):
        center.run(act)
    assert log(center) == before
    assert center.run(lambda tx: ops.issue(tx, kiosk_actor, "civil-status"))["label"] == "A001"


def test_each_caller_gets_its_own_answer_under_load(center, kiosk_actor):
    out: list[str] = []
    lock = threading.Lock()

    def kiosk() -> None:
        for _ in range(15):
            label = center.run(lambda tx: ops.issue(tx, kiosk_actor, "land"))["label"]
            with lock:
                out.append(label)

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(out) == [f"C{n:03d}" for n in range(1, 121)]
