"""The public channels (anyone may connect as a board; a phone holds one ticket's token) get only
what a board or a phone shows; the staff channels keep the full events."""

from __future__ import annotations

import json
from typing import Any

from layso.queue import public
from tests.test_realtime import issue, open_counter, open_day, received, sio, token_of

#: words and codes that must never reach a board: a priority category, an outcome, the
#: official's name, a rating's reason (a pause reason is typed for the room: the board shows it)
SECRETS = ("disability", "rejected", "O1", "attitude")


def serve_a_day(api: dict[str, Any]) -> dict[str, Any]:
    """Issue a priority ticket, call, serve, reject and rate it, then pause: every private bit."""
    open_counter(api)
    r = api["kiosk"].post("/tickets", json={"service": "civil-status", "priority": "disability"})
    assert r.status_code == 201
    t = r.get_json()
    assert api["o1"].post("/counters/1/call-next").get_json()["id"] == t["id"]
    assert api["o1"].post("/counters/1/start").status_code == 200
    assert api["o1"].post("/counters/1/complete", json={"outcome": "rejected"}).status_code == 200
    assert api["feedback"].post("/ratings", json={"ticket": t["id"], "score": 2,
                                                  "reason": "attitude"}).status_code == 201
    assert api["o1"].post("/counters/1/pause",
                          json={"reason": "Dentist appointment"}).status_code == 200
    return t


def leaks(messages: list[dict[str, Any]]) -> list[str]:
    """The private words found in these messages."""
    text = json.dumps(messages, ensure_ascii=False)
    return [s for s in SECRETS if s in text]


def test_a_board_hears_the_day_without_its_private_details(app, api, tokens):
    open_day(api)
    board = sio(app, channel="board")
    staff = sio(app, channel="counter", token=tokens["o1"])
    snap = received(board, "snapshot")[0]
    received(staff)
    t = serve_a_day(api)
    got = [m for m in received(board) if m["_name"] != "tick"]
    full = [m for m in received(staff) if m["_name"] != "tick"]
    assert leaks(got) == []
    # the staff channel keeps everything, and both see the same stream, seq by seq
    assert set(leaks(full)) == set(SECRETS)
    assert [m["seq"] for m in got] == [m["seq"] for m in full]
    assert [m["seq"] for m in got] == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(got)))
    by_type = {m["type"]: m for m in got}
    called = by_type["ticket.called"]
    assert called["ticket"] == {"label": t["label"], "service": t["service"],
                                "state": "called", "priority": True}
    assert called["speech"]["vi"].startswith("Mời công dân")
    assert called["clips"]["vi"][0] == "chime"
    assert set(by_type["ticket.completed"]) == {"_name", *public.ENVELOPE, "ticket", "counter"}
    assert set(by_type["rating.recorded"]) == {"_name", *public.ENVELOPE}  # its seq alone
    paused = [m for m in got if m["type"] == "counter.changed"][-1]["counter"]
    assert (paused["state"], paused["pause_reason"]) == ("paused", "Dentist appointment")
    assert all("id" not in (m.get("ticket") or {}) for m in got)  # no handle on a ticket


def test_a_board_connecting_with_seq_zero_does_not_get_the_day_replayed(app, api, tokens):
    open_day(api)
    epoch = received(sio(app, channel="board"), "snapshot")[0]["epoch"]
    serve_a_day(api)
    # a short replay is still a replay, of public events only
    replay = received(sio(app, channel="board", epoch=epoch, seq=0))
    assert replay and all(m["_name"] != "snapshot" for m in replay)
    assert leaks(replay) == []
    for _ in range(public.BOARD_REPLAY_LIMIT):
        issue(api)
    # further back than a board may ask: the snapshot (today's state), no history
    (snap,) = received(sio(app, channel="board", epoch=epoch, seq=0))
    assert snap["_name"] == "snapshot" and leaks([snap]) == []
    # a staff terminal may still be replayed the whole day's events
    staff = received(sio(app, channel="counter", token=tokens["o1"], epoch=epoch, seq=0))
    assert len(staff) > public.BOARD_REPLAY_LIMIT and set(leaks(staff)) == set(SECRETS)


def test_a_boards_sync_and_snapshot_show_only_what_a_board_shows(app, api):
    open_day(api)
    board = sio(app, channel="board")
    epoch = received(board, "snapshot")[0]["epoch"]
    open_counter(api)
    assert api["kiosk"].post("/tickets", json={"service": "civil-status",
                                               "priority": "disability"}).status_code == 201
    api["o1"].post("/counters/1/call-next")
    received(board)
    board.emit("sync", {"epoch": epoch, "seq": 0})
    replayed = received(board)
    assert any(m["type"] == "ticket.called" for m in replayed) and leaks(replayed) == []
    board.emit("sync", {})
    (snap,) = received(board, "snapshot")
    current = snap["counters"][0]["current"]
    assert current["priority"] is True and "id" not in current
    assert snap["recent"][0]["ticket"]["priority"] is True and leaks([snap]) == []
    anon = api["anon"].get("/board").get_json()
    assert anon["counters"][0]["current"] == current and leaks([anon]) == []


def test_a_phone_hears_its_own_call_as_the_public_sees_it(app, api):
    open_day(api)
    open_counter(api)
    r = api["kiosk"].post("/tickets", json={"service": "civil-status", "priority": "disability"})
    t = r.get_json()
    phone = sio(app, channel="ticket", ticket=token_of(t))
    received(phone)
    api["o1"].post("/counters/1/call-next")
    (called,) = [m for m in received(phone) if m["_name"] == "ticket.called"]
    assert called["ticket"]["label"] == t["label"] and "id" not in called["ticket"]
    assert called["counter"]["number"] == 1 and leaks([called]) == []


def test_a_phone_opened_after_a_transfer_hears_where_its_number_moved_and_nothing_more(
        app, api):
    """The phone's view says which service a transfer moved the number from (a page opened
    after the move must say so), with service names only: no official, no id, no outcome
    (its own priority category is the citizen's to see, as before)."""
    open_day(api)
    open_counter(api)
    r = api["kiosk"].post("/tickets", json={"service": "civil-status", "priority": "disability"})
    t = r.get_json()
    board = sio(app, channel="board")
    received(board)
    assert api["o1"].post("/counters/1/call-next").get_json()["id"] == t["id"]
    assert api["o1"].post("/counters/1/transfer",
                          json={"service": "land", "position": "front"}).status_code == 200
    phone = sio(app, channel="ticket", ticket=token_of(t))
    (first,) = received(phone, "ticket.updated")
    view = first["ticket"]
    assert view["service"]["code"] == "land"
    assert view["moved"] == {"from": {"code": "civil-status", "prefix": "A",
                                      "name": {"vi": "Hộ tịch", "en": "Civil status"}}}
    assert "id" not in view and "dossier" not in view and "officer" not in json.dumps(view)
    assert leaks([view["moved"]]) == [] and "O1" not in json.dumps(first)
    # the board heard the transfer as a board may: label, services, counter; no category
    moved = [m for m in received(board) if m["type"] == "ticket.transferred"]
    assert moved and leaks(moved) == [] and "moved" not in moved[0]["ticket"]
