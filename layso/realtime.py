"""Socket.IO: rooms from the connect `auth`, the sync protocol, ticks, and ticket updates.

Events reach sockets only through the hub, which publishes after commit. With
LAYSO_MESSAGE_QUEUE set, emits go through Redis so every server process's clients get them.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from typing import Any

from flask import Flask, request
from flask_socketio import SocketIO, emit, join_room, rooms
from socketio.packet import Packet
from sqlalchemy import bindparam, select

from layso import concurrency, db, events, identity
from layso.config import center_key
from layso.events import Event
from layso.queue import Center, citizens, public, reading

log = logging.getLogger(__name__)

#: the staff channels' room (counter, supervisor): every event as logged
STREAM = "stream"
#: the boards' room: every event, as much of it as a board shows (`layso.queue.public`)
BOARD = "board"
TICK_SECONDS = 20
#: how often the tick loop looks for an ended day whose citizens' hashes are still kept
FORGET_SECONDS = 60
#: with a message queue (several processes), how often each process looks at the log's
#: position: events can be lost on the way through Redis (an outage, a listener in its
#: reconnect back-off of up to 60 s), so each process tells its own clients where the log
#: stands one look after it moved, and a client that missed something resyncs within seconds
QUEUE_LOOK_SECONDS = 2.0
#: how often a process notes the devices whose sockets it holds as seen (seconds): a kiosk or
#: board that only listens is alive too, and the supervisors' silence alert reads last_seen_at
SEEN_SECONDS = 60.0
#: how long after closing a device's or user's sockets they are closed once more (one that
#: was still connecting when its access ended)
CLOSE_AGAIN_SECONDS = 1.0
#: events a counter's feedback tablet follows
FEEDBACK_EVENTS = ("ticket.called", "ticket.started", "ticket.completed", "ticket.no_show",
                   "ticket.transferred", "counter.changed")
#: besides every ticket.* event, what can change a waiting citizen's place or estimate
#: (a configuration change may give an open counter a service, or take one away: the phones'
#: estimates and open counters follow)
REFRESH_EVENTS = ("queue.changed", "counter.changed", "day.opened", "config.changed")
#: the columns of a ticket that its public view depends on, besides its place in the queue
_T = db.tickets.c
_VIEW_KEY = select(_T.id, _T.state, _T.service_id, _T.counter_id, _T.priority, _T.procedure,
                   _T.recalls, _T.outcome, _T.print_state, _T.queue_at, _T.called_at,
                   _T.started_at, _T.finished_at).where(
    _T.id.in_(bindparam("ids", expanding=True)))


#: a whole ticket row's values of the `_VIEW_KEY` columns, in that order
_viewed_values = operator.attrgetter(*(c.name for c in _VIEW_KEY.selected_columns))


class TextPacket(Packet):
    """Socket.IO's own packet and encoding, for a server whose events are all JSON text: it
    does not walk each message looking for bytes to send as attachments first (python-socketio's
    `uses_binary_events`, with the packet class given as its documented `serializer`). The walk
    was half of building a phone's `ticket.updated` (10 of 19 µs, `bench/packet_cost.py`), and
    a call refreshes every waiting phone one packet each. Nothing we send is bytes: a printer
    job carries the ticket's fields, and the agent renders the image itself."""

    uses_binary_events = False


def _rows_as_tuples(rows: dict[int, Any]) -> dict[int, tuple[Any, ...]]:
    """Services or counters by id as plain tuples: compared 250 times a refresh, a tuple
    compares in C where a row compares in Python."""
    return {key: tuple(row) for key, row in rows.items()}


def _view_key(values: tuple[Any, ...], service_id: int, counter_id: int | None,
              services: dict[int, tuple[Any, ...]], counters: dict[int, tuple[Any, ...]]
              ) -> tuple[Any, ...]:
    """What a ticket's public view is built from, besides its place: a view is rebuilt only
    when this changed (its row's viewed columns, its service's row, its counter's row).
    `values`: the ticket's `_VIEW_KEY` columns in order (a row of `_VIEW_KEY` as it is)."""
    counter = None if counter_id is None else counters.get(counter_id)
    return values, services.get(service_id), counter


#: at most one refresh of the phones' views per this many seconds (a burst becomes one)
REFRESH_GAP = 0.05


def ticket_room(ticket_id: int) -> str:
    """The room of one citizen's phone page."""
    return f"ticket:{ticket_id}"


#: every feedback tablet: they follow the center's settings (the rating scale) without reload
FEEDBACK_ALL = "feedback"


def feedback_room(counter_number: int) -> str:
    """The room of a counter's feedback tablet."""
    return f"feedback:{counter_number}"


class Realtime:
    """Connects the hub to Socket.IO and answers the sync protocol."""

    def __init__(self, app: Flask, center: Center) -> None:
        self.app = app
        self.center = center
        self.socketio = SocketIO(
            app,
            # gevent under `layso run` (patched at start, `layso.server`), else threads
            async_mode=concurrency.server_model(),
            message_queue=app.config.get("MESSAGE_QUEUE") or None,
            # Redis pub/sub ignores the db number: one channel per center, so centers (or
            # test runs) sharing a Redis never receive each other's events
            channel="layso:" + center_key(app.config["DATABASE_URL"]),
            cors_allowed_origins=None,  # same origin only: a foreign page may not listen in
            json=app.json,
            serializer=TextPacket,
        )
        self._refresh = threading.Event()
        #: set by `stop`: the tick and refresh tasks end (an app that is done with, in tests)
        self._stopped = threading.Event()
        self._sent: dict[int, dict[str, Any]] = {}
        self._base: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._started = False
        #: socket id → id of the ticket its phone page follows (this process's sockets only)
        self._watching: dict[str, int] = {}
        self._watch_lock = threading.Lock()
        self._start_lock = threading.Lock()
        # the sockets of each device and user (by actor key), so a revoked device's or a
        # deactivated user's open socket can be closed at once
        self._sids: dict[str, set[str]] = {}
        self._sids_lock = threading.Lock()
        #: more channels by name (the print agents' `printer`, kiosk/agents.py):
        #: `connect(actor, auth) -> bool` and `disconnect(sid)`
        self.channels: dict[str, Any] = {}
        center.hub.subscribe_batch(self.on_events)
        self._handlers()

    # -- publishing ---------------------------------------------------------------------------

    def on_events(self, evs: list[Event]) -> None:
        """Emit one commit's events to the rooms that should see them, in order."""
        items: list[tuple[str, str, dict[str, Any]]] = []
        refresh = False
        for ev in evs:
            msg = ev.as_message()
            shown = public.event(msg)
            items.append((STREAM, ev.type, msg))
            items.append((BOARD, ev.type, shown))
            counter = ev.payload.get("counter")
            if counter and ev.type in FEEDBACK_EVENTS:
                items.append((feedback_room(counter["number"]), ev.type, msg))
            if ev.type == "config.changed":
                items.append((FEEDBACK_ALL, ev.type, shown))
            ticket = ev.payload.get("ticket")
            if ev.type == "ticket.called" and ticket:
                items.append((ticket_room(ticket["id"]), ev.type, shown))
            refresh = refresh or ev.type.startswith("ticket.") or ev.type in REFRESH_EVENTS
        self.close_ended(evs)
        self.emit_rooms(items)
        if refresh:
            # woken after the sockets were handed this commit's events: under gevent the
            # greenlets run in the order they were woken, so the boards' and counters'
            # writers send before the phones' refresh holds the loop for its reads
            self._refresh.set()
        self.ensure_background()

    def close_ended(self, evs: list[Event]) -> None:
        """Close the sockets of every device or user whose access one of these events ended."""
        for ev in evs:
            ends = ev.payload.get("ends") if ev.type == "config.changed" else None
            if isinstance(ends, str):
                self.close_sockets(ends)

    def close_ended_since(self, position: tuple[str, int]) -> None:
        """Close this process's sockets whose access ended in a commit of another process
        after `position` (the event log is shared; the message queue carries only emits)."""
        with self.center.read() as r:
            missed = events.since(r.conn, *position)
        self.close_ended(missed or [])

    def close_sockets(self, actor_key: str) -> None:
        """Close this process's open sockets of a device or user (`device:ID`, `user:ID`)."""
        with self._sids_lock:
            sids = self._sids.pop(actor_key, set())
        self._disconnect(sids)
        if sids:
            # a socket whose connect handler is still running is not connected yet, and
            # Socket.IO ignores a disconnect then: close it again once it is
            self.socketio.start_background_task(self._disconnect, sids, CLOSE_AGAIN_SECONDS)

    def _disconnect(self, sids: set[str], after: float = 0.0) -> None:
        if after:
            self.socketio.sleep(after)
        for sid in sids:
            try:
                self.socketio.server.disconnect(sid, namespace="/")
            except Exception:  # noqa: BLE001 - a socket that went away is closed already
                log.debug("socket %s was gone", sid)

    def note_connected_devices(self) -> None:
        """Mark the devices with a socket open to this process as seen now."""
        with self._sids_lock:
            ids = sorted(int(k.split(":", 1)[1]) for k in self._sids
                         if k.startswith("device:") and k.split(":", 1)[1].isdigit())
        if ids:
            from layso.queue import admin

            self.center.run(lambda tx: admin.touch_devices(tx, ids))

    def emit_rooms(self, items: list[tuple[str, str, dict[str, Any]]],
                   local: bool = False) -> None:
        """Emit `(room, event, message)` items in order through Flask-SocketIO; `local`: to
        this process's clients only (what each process works out for its own clients)."""
        for room, name, msg in items:
            self.socketio.emit(name, msg, to=room, ignore_queue=local)

    def watched_tickets(self) -> set[int]:
        """Ids of the tickets whose page is open on a phone connected to this process."""
        with self._watch_lock:
            return set(self._watching.values())

    def refresh_tickets(self) -> None:
        """Send `ticket.updated` to every watched ticket page whose public view changed."""
        # only tickets someone watches: a view per waiting ticket on every event made issuing
        # slow down as the queue grew (each view costs queries)
        watched = self.watched_tickets()
        for gone in [i for i in list(self._sent) if i not in watched]:
            self._sent.pop(gone, None)
            self._base.pop(gone, None)
        if not watched:
            return
        with self.center.read() as r:
            # what can change in a watched ticket's view, read cheaply for all of them; the
            # whole row only for the few that changed (a call mostly moves the others' place)
            rows = {row.id: row for row in r.conn.execute(_VIEW_KEY, {"ids": sorted(watched)})}
            services = reading.services_by_id(r)
            counters = reading.counters_by_id(r)
            service_keys, counter_keys = _rows_as_tuples(services), _rows_as_tuples(counters)
            keys = {tid: _view_key(tuple(row), row.service_id, row.counter_id, service_keys,
                                   counter_keys) for tid, row in rows.items()}
            changed = [tid for tid, key in keys.items()
                       if (base := self._base.get(tid)) is None or base[0] != key]
            full = {t.id: t for t in r.conn.execute(
                select(db.tickets).where(db.tickets.c.id.in_(changed)))} if changed else {}
            aheads: dict[int, int] = {}
            waiting_sids = {row.service_id for row in rows.values() if row.state == "waiting"}
            for sid in waiting_sids:
                for i, tid in enumerate(reading.service_order(r, sid)):
                    aheads[tid] = i
            # the estimate's two factors once per service, not three queries per phone
            factors = reading.eta_factors(r, [services[sid] for sid in waiting_sids])
            moved = reading.moved_by_ticket(r, list(full.values()), services)
            epoch, seq = events.current(r.conn)
            at = reading.iso(r, r.now)
            updates: list[tuple[str, str, dict[str, Any]]] = []
            for tid, row in rows.items():
                ahead = aheads.get(tid, 0)
                if tid in full:
                    view = reading.ticket_view(r, full[tid], public=True, services=services,
                                             counters=counters, ahead=ahead, factors=factors,
                                             moved=moved[tid])
                    self._base[tid] = (keys[tid], view)
                elif row.state == "waiting" and self._base[tid][1]["state"] == "waiting":
                    view = {**self._base[tid][1], **reading.waiting_figures(
                        r, services[row.service_id], ahead, factors)}
                else:
                    view = self._base[tid][1]
                if self._sent.get(tid) == view:
                    continue
                self._sent[tid] = view
                updates.append((ticket_room(tid), "ticket.updated", {
                    "type": "ticket.updated", "epoch": epoch, "seq": seq, "at": at,
                    "ticket": view}))
        self.emit_rooms(updates, local=True)  # each process refreshes the phones it holds

    def remember_view(self, r: Any, t: Any) -> dict[str, Any]:
        """A phone's first view, kept so that the next refresh only patches its place."""
        services = reading.services_by_id(r)
        counters = reading.counters_by_id(r) if t.counter_id is not None else {}
        view = reading.ticket_view(r, t, public=True, services=services)
        self._base[t.id] = (_view_key(_viewed_values(t), t.service_id, t.counter_id,
                                      _rows_as_tuples(services), _rows_as_tuples(counters)),
                            view)
        self._sent[t.id] = view
        return view

    def ensure_background(self) -> None:
        """Start the tick and ticket-refresh tasks once."""
        with self._start_lock:
            if self._started or self._stopped.is_set():
                return
            self._started = True
        self.socketio.start_background_task(self._tick_loop)
        self.socketio.start_background_task(self._refresh_loop)

    def stop(self) -> None:
        """End the tick and refresh tasks (within one wake-up) and start none again: for an app
        that is done with. Each task otherwise outlives its app, reading a database that may
        be gone (a test suite's thousands of apps each left two threads behind)."""
        self._stopped.set()
        self._refresh.set()  # the refresh task waits on it

    def position(self) -> tuple[str, int]:
        """Where the event log stands: (epoch, seq)."""
        with self.center.read() as r:
            return events.current(r.conn)

    def tick(self, position: tuple[str, int] | None = None) -> None:
        """Tell this process's stream clients where the log stands (it is shared by every
        process, so this needs no message queue), so a client that missed an event resyncs."""
        epoch, seq = position or self.position()
        msg = {"type": "tick", "epoch": epoch, "seq": seq, "build": self.app.config["BUILD"]}
        self.socketio.emit("tick", msg, to=STREAM, ignore_queue=True)
        self.socketio.emit("tick", msg, to=BOARD, ignore_queue=True)

    def _tick_loop(self) -> None:
        queued = bool(self.app.config.get("MESSAGE_QUEUE"))
        step = QUEUE_LOOK_SECONDS if queued else TICK_SECONDS
        last_tick = last_seen = time.monotonic()
        ticked: tuple[str, int] | None = None
        looked: tuple[str, int] | None = None
        closed_upto: tuple[str, int] | None = None
        forgot = 0.0
        failing = False  # an outage is logged once, with its cause, and again when it ends
        if queued:
            try:
                closed_upto = self.position()
            except Exception:
                log.exception("the event log could not be read")
        while not self._stopped.wait(step):
            try:
                now = self.position()
                if queued and looked is not None and now != looked:
                    self._refresh.set()  # another process's commit may move this one's phones
                if queued and closed_upto is None:
                    closed_upto = now
                elif closed_upto is not None and now != closed_upto:
                    # another process's commit may end a device's or an official's access
                    self.close_ended_since(closed_upto)
                    closed_upto = now
                # one look late: by then the live events have had `step` seconds to arrive,
                # so a client that got them is not sent to resync for nothing
                if queued and looked is not None and looked != ticked:
                    self.tick(looked)
                    ticked, last_tick = looked, time.monotonic()
                elif time.monotonic() - last_tick >= TICK_SECONDS - step / 2:
                    self.tick(now)
                    ticked, last_tick = now, time.monotonic()
                looked = now
                if time.monotonic() - forgot >= FORGET_SECONDS:
                    forgot = time.monotonic()
                    # a day with no ticket after it opens no new day: its citizens' keyed
                    # hashes must go all the same once it ended
                    citizens.forget_if_ended(self.center)
                if time.monotonic() - last_seen >= SEEN_SECONDS:
                    last_seen = time.monotonic()
                    self.note_connected_devices()
                if failing:
                    failing = False
                    log.warning("tick works again")
            except Exception:
                if not failing:
                    log.exception("tick failed; retrying every %s s without logging each", step)
                failing = True

    def _refresh_loop(self) -> None:
        last = 0.0
        while True:
            self._refresh.wait()
            if self._stopped.is_set():
                return
            # the first change after a quiet spell goes out at once; a burst becomes one refresh
            gap = REFRESH_GAP - (time.monotonic() - last)
            if gap > 0:
                self.socketio.sleep(gap)
            self._refresh.clear()
            last = time.monotonic()
            try:
                self.refresh_tickets()
            except Exception:
                log.exception("ticket refresh failed")

    # -- answering clients --------------------------------------------------------------------

    def snapshot(self, shown: bool = False) -> dict[str, Any]:
        """The board state with its (epoch, seq); `shown`: only what a board shows."""
        with self.center.read() as r:
            snap = reading.board(r)
        if shown:
            snap = public.board(snap)
        return {"type": "snapshot", **snap, "build": self.app.config["BUILD"]}

    def sync(self, epoch: Any, seq: Any, build: Any = None, shown: bool = False) -> None:
        """Answer with the missed events, or a snapshot when they cannot be replayed;
        `shown` (the board channel): as much as a board shows, and a short replay only."""
        missed = None
        # a client built for other code gets a snapshot, whose `build` tells it to reload
        same_build = build is None or build == self.app.config["BUILD"]
        if (same_build and isinstance(epoch, str) and isinstance(seq, int)
                and not isinstance(seq, bool)):
            with self.center.read() as r:
                missed = events.since(r.conn, epoch, seq,
                                      **({"limit": public.BOARD_REPLAY_LIMIT} if shown else {}))
        if missed is None:
            emit("snapshot", self.snapshot(shown))
            return
        for ev in missed:
            msg = ev.as_message()
            emit(ev.type, public.event(msg) if shown else msg)

    def _handlers(self) -> None:
        sio = self.socketio

        @sio.on("connect")
        def connect(auth_data: Any = None) -> bool:
            data = auth_data if isinstance(auth_data, dict) else {}
            channel = data.get("channel")
            actor = identity.socket_actor(data)
            if actor is not None and actor.id is not None:
                with self._sids_lock:
                    self._sids.setdefault(actor.key, set()).add(request.sid)  # type: ignore[attr-defined]
                # revoked between the look-up and the line above: close_sockets missed it
                if identity.socket_actor(data) is None:
                    return False
            extra = self.channels.get(channel) if isinstance(channel, str) else None
            if extra is not None:
                return bool(extra.connect(actor, data))
            with self.center.read() as r:
                if channel == "board":
                    join_room(BOARD)
                elif channel == "counter":
                    if actor is None or not actor.is_staff:
                        return False
                    join_room(STREAM)
                elif channel == "supervisor":
                    if actor is None or not actor.is_supervisor:
                        return False
                    join_room(STREAM)
                elif channel == "feedback":
                    if actor is None or actor.role != "feedback" or actor.counter_id is None:
                        return False
                    c = r.conn.execute(select(db.counters).where(
                        db.counters.c.id == actor.counter_id)).first()
                    if c is None:
                        return False
                    join_room(feedback_room(c.number))
                    join_room(FEEDBACK_ALL)
                    view = reading.counter_view(r, c, brief_ticket=True)
                    emit("counter.changed", {"type": "counter.changed", "counter": view})
                    due = reading.rating_due(r, c)
                    if due is not None:  # completed while the tablet was away
                        emit("ticket.completed", due)
                    self.ensure_background()  # its tick loop closes it when it is revoked
                    return True
                elif channel == "ticket":
                    ticket_token = data.get("ticket")
                    if not isinstance(ticket_token, str) or len(ticket_token) > 64:
                        return False
                    t = reading.ticket_by_token(r, ticket_token)
                    if t is None:
                        return False
                    join_room(ticket_room(t.id))
                    with self._watch_lock:
                        self._watching[request.sid] = t.id  # type: ignore[attr-defined]
                    epoch, seq = events.current(r.conn)
                    view = self.remember_view(r, t)
                    emit("ticket.updated", {"type": "ticket.updated", "epoch": epoch, "seq": seq,
                                            "at": reading.iso(r, r.now), "ticket": view})
                    self.ensure_background()
                    return True
                else:
                    return False
            self.ensure_background()
            self.sync(data.get("epoch"), data.get("seq"), data.get("build"),
                      shown=channel == "board")
            return True

        @sio.on("disconnect")
        def on_disconnect(*_args: Any) -> None:
            sid = request.sid  # type: ignore[attr-defined]
            for extra in self.channels.values():
                extra.disconnect(sid)
            with self._watch_lock:
                self._watching.pop(sid, None)
            with self._sids_lock:
                for key in [k for k, v in self._sids.items() if sid in v]:
                    self._sids[key].discard(sid)
                    if not self._sids[key]:
                        del self._sids[key]

        @sio.on("sync")
        def on_sync(data: Any = None) -> None:
            joined = rooms()
            if STREAM not in joined and BOARD not in joined:
                return
            data = data if isinstance(data, dict) else {}
            self.sync(data.get("epoch"), data.get("seq"), data.get("build"),
                      shown=STREAM not in joined)


def uncompressed_websockets(wsgi_app: Any) -> Any:
    """WSGI middleware: a WebSocket's offer of per-message compression is not passed on, so
    the socket is opened without it.

    Every browser offers permessage-deflate and simple-websocket accepts it, so each frame was
    compressed once per socket, on the loop, by a zlib compressor of its own. The frames are a
    few hundred bytes of JSON; with 500 boards and phones that offered it, compressing cost
    about a third more server CPU per call and 47 MB more memory (217 against 170 MB) than
    the bytes it saved were worth (docs/benchmarks.md, "Board latency"). A WebSocket without
    extensions is plain RFC 6455: every client speaks it."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return app


def init_app(app: Flask, center: Center) -> Realtime:
    """Attach Socket.IO to the app."""
    rt = Realtime(app, center)
    # outside Flask-SocketIO's middleware (installed just above), so Engine.IO never sees it
    app.wsgi_app = uncompressed_websockets(app.wsgi_app)  # type: ignore[method-assign]
    app.extensions["layso_realtime"] = rt
    return rt
