"""Socket.IO hub: rooms from the connect auth, snapshot and replay by (epoch, seq), ticks, rooms."""

from __future__ import annotations

import time
from typing import Any

import pytest

from layso import events


def rt(app: Any) -> Any:
    """The app's Realtime."""
    return app.extensions["layso_realtime"]


def sio(app: Any, **auth: Any) -> Any:
    """A Socket.IO test client connected with this auth."""
    return rt(app).socketio.test_client(app, auth=auth)


def received(client: Any, name: str | None = None) -> list[dict[str, Any]]:
    """Payloads received since the last call (of one event name, or all with their names)."""
    out = []
    for pkt in client.get_received():
        if name is None:
            out.append({"_name": pkt["name"], **pkt["args"][0]})
        elif pkt["name"] == name:
            out.append(pkt["args"][0])
    return out


def open_counter(api: dict[str, Any], n: int = 1) -> None:
    assert api["o1"].post(f"/counters/{n}/open").status_code == 200


def issue(api: dict[str, Any], service: str = "civil-status") -> dict[str, Any]:
    r = api["kiosk"].post("/tickets", json={"service": service})
    assert r.status_code == 201
    return r.get_json()


def open_day(api: dict[str, Any]) -> None:
    """Issue a first ticket, which opens the business day and its epoch."""
    issue(api, "business")


def token_of(ticket: dict[str, Any]) -> str:
    return ticket["status_url"].rsplit("/", 1)[1]


def test_board_gets_a_snapshot_on_connect(app, api):
    issue(api)
    board = sio(app, channel="board")
    assert board.is_connected()
    snaps = received(board, "snapshot")
    assert len(snaps) == 1
    snap = snaps[0]
    assert snap["type"] == "snapshot"
    assert snap["build"] == app.config["BUILD"]
    assert snap["waiting"]["civil-status"] == 1
    assert {"epoch", "seq", "counters", "recent", "services", "notice", "voice", "now"} <= set(snap)


def test_the_servers_packets_encode_as_socket_ios_own(app, api):
    """The server's packet class skips the search for binary attachments; what it sends is
    byte for byte what python-socketio's default packet sends, so every client reads it."""
    from socketio.packet import EVENT, Packet

    from layso.realtime import TextPacket

    open_counter(api, 3)
    waiting = issue(api, "land")
    issue(api, "land")
    phone = sio(app, channel="ticket", ticket=token_of(waiting))
    board = sio(app, channel="board")
    assert api["o1"].post("/counters/3/call-next").status_code == 200
    assert rt(app).socketio.server.packet_class is TextPacket
    sent = [(p["name"], p["args"][0]) for c in (phone, board) for p in c.get_received()]
    assert {"snapshot", "ticket.called", "ticket.updated"} <= {name for name, _ in sent}
    default = type("Default", (Packet,), {"json": TextPacket.json})  # the app's JSON, both
    for name, msg in sent:
        ours = TextPacket(EVENT, namespace="/", data=[name, msg]).encode()
        assert ours == default(EVENT, namespace="/", data=[name, msg]).encode()
        assert default(encoded_packet=ours).data == [name, msg]


@pytest.mark.parametrize("auth", [
    {}, {"channel": "nope"}, {"channel": "counter"}, {"channel": "counter", "token": "x" * 40},
    {"channel": "supervisor"}, {"channel": "feedback"}, {"channel": "ticket"},
    {"channel": "ticket", "ticket": "not-a-ticket"}, {"channel": "ticket", "ticket": 5},
])  # fmt: skip
def test_connections_without_the_right_credentials_are_refused(app, auth):
    assert not sio(app, **auth).is_connected()


def test_roles_per_channel(app, tokens):
    assert sio(app, channel="counter", token=tokens["o1"]).is_connected()
    assert sio(app, channel="counter", token=tokens["sup"]).is_connected()
    assert not sio(app, channel="counter", token=tokens["kiosk"]).is_connected()
    assert not sio(app, channel="supervisor", token=tokens["o1"]).is_connected()
    assert sio(app, channel="supervisor", token=tokens["sup"]).is_connected()
    assert sio(app, channel="supervisor", token=tokens["adm"]).is_connected()
    assert not sio(app, channel="feedback", token=tokens["o1"]).is_connected()
    assert not sio(app, channel="feedback", token=tokens["display"]).is_connected()
    tablet = sio(app, channel="feedback", token=tokens["feedback"])
    assert tablet.is_connected()
    assert received(tablet, "counter.changed")[0]["counter"]["number"] == 1


def test_stream_channels_see_every_event_in_order(app, api, tokens):
    open_day(api)
    board = sio(app, channel="board")
    officer = sio(app, channel="counter", token=tokens["o1"])
    snap = received(board, "snapshot")[0]
    received(officer)
    open_counter(api)
    issue(api)
    assert api["o1"].post("/counters/1/call-next").status_code == 200
    for client in (board, officer):
        got = [m for m in received(client) if m["_name"] not in ("tick", "ticket.updated")]
        seqs = [m["seq"] for m in got]
        assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(seqs)))
        assert all(m["_name"] == m["type"] for m in got)
        assert all(m["epoch"] == snap["epoch"] for m in got)
        types = [m["type"] for m in got]
        assert types.index("ticket.issued") < types.index("ticket.called")
        called = got[types.index("ticket.called")]
        assert called["ticket"]["label"] == "A001" and called["counter"]["number"] == 1
        assert called["speech"]["vi"] == "Mời công dân có số A một đến quầy số một"
        assert called["clips"]["vi"][0] == "chime" and called["recall"] is False


def test_reconnect_with_epoch_and_seq_replays_only_what_was_missed(app, api):
    open_day(api)
    board = sio(app, channel="board")
    snap = received(board, "snapshot")[0]
    board.disconnect()
    open_counter(api)
    issue(api)
    again = sio(app, channel="board", epoch=snap["epoch"], seq=snap["seq"])
    got = received(again)
    assert all(m["_name"] != "snapshot" for m in got)
    assert [m["seq"] for m in got] == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(got)))
    assert {"counter.changed", "ticket.issued", "queue.changed"} <= {m["type"] for m in got}
    # already up to date: nothing to send
    last = got[-1]["seq"]
    assert received(sio(app, channel="board", epoch=snap["epoch"], seq=last)) == []


@pytest.mark.parametrize("bad", [
    {"epoch": "other-epoch", "seq": 1}, {"seq": 10_000}, {"seq": "3"}, {"seq": True},
    {"build": "an-older-build"},
])  # fmt: skip
def test_sync_answers_a_snapshot_when_events_cannot_be_replayed(app, api, bad):
    open_day(api)
    board = sio(app, channel="board")
    snap = received(board, "snapshot")[0]
    issue(api)
    received(board)
    board.emit("sync", {"epoch": snap["epoch"], "seq": snap["seq"], **bad})
    got = received(board)
    assert [m["_name"] for m in got] == ["snapshot"]
    assert got[0]["seq"] > snap["seq"]


def test_sync_replays_missed_events_in_order(app, api):
    open_day(api)
    board = sio(app, channel="board")
    snap = received(board, "snapshot")[0]
    issue(api)
    issue(api, "land")
    live = [m for m in received(board) if m["_name"] != "ticket.updated"]
    board.emit("sync", {"epoch": snap["epoch"], "seq": snap["seq"]})
    replay = received(board)
    assert [(m["type"], m["seq"]) for m in replay] == [(m["type"], m["seq"]) for m in live]
    assert replay == live  # exactly as they were live


def test_events_are_emitted_only_after_commit(app, api):
    open_day(api)
    board = sio(app, channel="board")
    received(board)
    center = app.extensions["layso"]
    with pytest.raises(RuntimeError), center.write() as tx:
        tx.emit("queue.changed", {"waiting": {}})
        raise RuntimeError("the transaction fails after appending its event")
    assert received(board) == []
    with center.read() as r:
        epoch, seq = events.current(r.conn)
    with center.write() as tx:
        tx.emit("queue.changed", {"waiting": {}})
    got = received(board)
    assert [(m["type"], m["seq"]) for m in got] == [("queue.changed", seq + 1)]


def test_tick_tells_the_stream_where_it_stands(app, api):
    open_day(api)
    board = sio(app, channel="board")
    snap = received(board, "snapshot")[0]
    issue(api)
    received(board)
    rt(app).tick()
    ticks = received(board, "tick")
    assert len(ticks) == 1
    assert ticks[0]["epoch"] == snap["epoch"] and ticks[0]["seq"] > snap["seq"]
    assert ticks[0]["build"] == app.config["BUILD"]


def _wait_for(client: Any, name: str, pred: Any, timeout: float = 3.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += received(client, name)
        if any(pred(m) for m in got):
            return got
        time.sleep(0.02)
    return got


def test_a_phone_learns_when_a_counter_opens_for_its_service(app, api):
    """Issued before any counter opened, the phone's view says none is open; opening counter
    1 (which serves it) is sent to the phone even though its place and estimate stay 0."""
    mine = issue(api)
    phone = sio(app, channel="ticket", ticket=token_of(mine))
    first = received(phone, "ticket.updated")
    assert (first[0]["ticket"]["ahead"], first[0]["ticket"]["open_counters"]) == (0, 0)
    open_counter(api)
    got = _wait_for(phone, "ticket.updated", lambda m: m["ticket"]["open_counters"] == 1)
    assert any(m["ticket"]["open_counters"] == 1 and m["ticket"]["eta_minutes"] == 0
               for m in got)


def test_ticket_channel_hears_only_its_own_ticket(app, api):
    open_counter(api)
    mine, other = issue(api), issue(api)
    phone = sio(app, channel="ticket", ticket=token_of(other))
    first = received(phone, "ticket.updated")
    assert first[0]["ticket"]["label"] == "A002" and first[0]["ticket"]["ahead"] == 1
    assert "id" not in first[0]["ticket"]
    assert api["o1"].post("/counters/1/call-next").status_code == 200  # calls A001, not mine
    got = _wait_for(phone, "ticket.updated", lambda m: m["ticket"]["ahead"] == 0)
    assert any(m["ticket"]["ahead"] == 0 for m in got)
    assert all(m["ticket"]["label"] == "A002" for m in got)
    phone_mine = sio(app, channel="ticket", ticket=token_of(mine))
    received(phone_mine)
    api["o1"].post("/counters/1/start")
    api["o1"].post("/counters/1/complete", json={"outcome": "done"})
    assert api["o1"].post("/counters/1/call-next").status_code == 200  # now A002
    names = [m["_name"] for m in received(phone)]
    assert "ticket.called" in names
    assert all(n in ("ticket.called", "ticket.updated") for n in names)
    called = [m for m in received(phone_mine, "ticket.called")]
    assert called == []  # A001's phone does not hear A002's call
    # the phone channel may not ask for the center's stream
    phone.emit("sync", {})
    assert received(phone, "snapshot") == []


def test_feedback_tablet_follows_its_counter_only(app, api, tokens):
    tablet = sio(app, channel="feedback", token=tokens["feedback"])
    received(tablet)
    open_counter(api, 2)
    assert received(tablet) == []
    open_counter(api, 1)
    issue(api)
    api["o1"].post("/counters/1/call-next")
    types = [m["type"] for m in received(tablet) if "type" in m]
    assert "ticket.called" in types and "counter.changed" in types
    assert "ticket.issued" not in types and "queue.changed" not in types


def test_a_tablet_back_online_still_asks_for_the_rating_it_missed(app, api, tokens, clock):
    def serve_one() -> dict[str, Any]:
        t = issue(api)
        assert api["o1"].post("/counters/1/call-next").get_json()["id"] == t["id"]
        assert api["o1"].post("/counters/1/start").status_code == 200
        assert api["o1"].post("/counters/1/complete", json={"outcome": "done"}).status_code == 200
        return t

    open_counter(api, 1)
    first = serve_one()  # the tablet was offline when the visit ended
    clock.advance(seconds=30)
    tablet = sio(app, channel="feedback", token=tokens["feedback"])
    (due,) = received(tablet, "ticket.completed")
    assert due["ticket"]["id"] == first["id"] and due["ticket"]["label"] == first["label"]
    assert due["officer"] == {"name": "O1"} and due["outcome"] == "done" and due["replay"]
    assert due["counter"]["number"] == 1 and due["type"] == "ticket.completed"
    tablet.disconnect()
    # once rated, a reconnect asks nothing
    assert api["feedback"].post("/ratings", json={"ticket": first["id"], "score": 5}
                                ).status_code == 201
    assert received(sio(app, channel="feedback", token=tokens["feedback"]),
                    "ticket.completed") == []
    # nor when the visit ended too long ago, or the official has called the next citizen
    serve_one()
    clock.advance(seconds=91)
    assert received(sio(app, channel="feedback", token=tokens["feedback"]),
                    "ticket.completed") == []
    serve_one()
    issue(api)
    api["o1"].post("/counters/1/call-next")
    assert received(sio(app, channel="feedback", token=tokens["feedback"]),
                    "ticket.completed") == []
    # ... even when that citizen did not come and the counter is free again
    assert api["o1"].post("/counters/1/no-show").status_code == 200
    assert received(sio(app, channel="feedback", token=tokens["feedback"]),
                    "ticket.completed") == []


def test_notice_endpoint_reaches_the_board(app, api):
    board = sio(app, channel="board")
    received(board)
    assert api["o1"].post("/notice", json={"vi": "Xin chào", "en": "Hello"}).status_code == 403
    r = api["sup"].post("/notice", json={"vi": " Nghỉ trưa 11:30–13:30 ", "en": "Lunch break"})
    assert r.status_code == 200 and r.get_json() == {"vi": "Nghỉ trưa 11:30–13:30",
                                                     "en": "Lunch break"}
    got = received(board, "notice.changed")
    assert got[0]["notice"] == {"vi": "Nghỉ trưa 11:30–13:30", "en": "Lunch break"}
    assert api["sup"].post("/notice", json={"vi": 3}).status_code == 422
    assert api["sup"].post("/notice", json={"text": "x"}).status_code == 422
    assert api["anon"].get("/board").get_json()["notice"]["en"] == "Lunch break"


def test_the_watched_tickets_are_the_phones_connected_now(app, api):
    t = issue(api)
    assert rt(app).watched_tickets() == set()
    phone = sio(app, channel="ticket", ticket=token_of(t))
    other = sio(app, channel="ticket", ticket=token_of(t))
    assert rt(app).watched_tickets() == {t["id"]}
    phone.disconnect()
    assert rt(app).watched_tickets() == {t["id"]}  # the other phone still follows it
    other.disconnect()
    assert rt(app).watched_tickets() == set()


def test_a_stopped_app_leaves_no_task_behind(app, api):
    """The tick and refresh tasks start with the first event and end when the app is stopped
    (a test suite's apps each left two threads reading their database every 20 s)."""
    import threading

    before = set(threading.enumerate())
    issue(api, "business")
    tasks = [t for t in threading.enumerate() if t not in before
             and ("_tick_loop" in t.name or "_refresh_loop" in t.name)]
    assert len(tasks) == 2 and all(t.is_alive() for t in tasks)
    rt = app.extensions["layso_realtime"]
    rt.stop()
    deadline = time.monotonic() + 10
    while any(t.is_alive() for t in tasks) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.is_alive() for t in tasks)
    rt.ensure_background()  # a stopped app starts none again
    assert not [t for t in threading.enumerate() if t not in before and "_loop" in t.name]
