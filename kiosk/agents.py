"""The server's side of the print agents: the Socket.IO channel `printer`.

A kiosk whose printer is `agent://` prints on the kiosk machine through `layso print-agent`
(kiosk/print_agent.py). The agent connects with `auth = {channel: "printer", token: KIOSK
TOKEN, status?, error?}` and joins its kiosk's room. Then:

- server → agent `print.job {job, ticket: {...what the paper shows}, expires_in}`: on
  connect every open job of the kiosk, oldest first; then each new job as it is made. The
  agent renders and prints it as the server's workers do;
- agent → server `print.ack {job, state: printed|waiting_printer|failed, error?}`, answered
  `{ok: true, job}` (or `{ok: false, error: {code, message}}`); acknowledging a job that is
  already printed or failed changes nothing, so an agent may repeat it after any cut;
- agent → server `print.status {status, error?}` when its printer's status changes (the
  server emits `printer.changed` naming the kiosk);
- agent → server `print.sync {}`: the open jobs again (the agent asks every 20 s, so a job
  emitted while the socket was breaking is never lost), answered `{ok: true, jobs: n}`.

A job older than `printing.MAX_WAIT_SECONDS` is not sent: it is marked failed (`expired`).
The printer's status is kept by the process that holds the agent's socket; with no agent
connected the kiosk's printer is `offline`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, emit, join_room

from kiosk.printing import PrintRouter, ticket_print, ticket_print_fields
from layso import db
from layso.queue import Actor, QueueError, ops, printing, reading
from printer_drivers import status as st

log = logging.getLogger(__name__)

CHANNEL = "printer"
JOB_EVENT = "print.job"


def agent_room(device_id: int) -> str:
    """The room of one kiosk's print agent."""
    return f"printer:{device_id}"


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class AgentHub:
    """The print agents connected to this process, their kiosks' jobs and statuses."""

    def __init__(self, rt: Any, router: PrintRouter) -> None:
        self.rt = rt
        self.center = router.center
        self.socketio = rt.socketio
        self._lock = threading.Lock()
        #: socket id → kiosk device id (this process's agent sockets)
        self._sockets: dict[str, int] = {}
        #: kiosk device id → (status, error) as its agent last reported
        self._status: dict[int, tuple[str, str | None]] = {}
        rt.channels[CHANNEL] = self
        self.socketio.on_event("print.ack", self.on_ack)
        self.socketio.on_event("print.status", self.on_status)
        self.socketio.on_event("print.sync", self.on_sync)
        router.agents = self

    # -- the socket ---------------------------------------------------------------------------

    def connect(self, actor: Actor | None, data: dict[str, Any]) -> bool:
        """A print agent connects with its kiosk's token; it gets its open jobs at once."""
        if actor is None or actor.kind != "device" or actor.role != "kiosk" or actor.id is None:
            raise ConnectionRefusedError("a print agent connects with a kiosk's device token")
        with self.center.read() as r:
            printer = r.conn.execute(db.devices.select().with_only_columns(
                db.devices.c.printer).where(db.devices.c.id == actor.id)).scalar()
        if printer != printing.AGENT:
            raise ConnectionRefusedError(
                "this kiosk's printer is not agent:// (set it in /admin/devices)")
        sid = request.sid  # type: ignore[attr-defined]
        join_room(agent_room(actor.id))
        with self._lock:
            self._sockets[sid] = actor.id
        self._report(actor.id, data.get("status"), data.get("error"))
        for msg in self._open_messages(actor.id):
            emit(JOB_EVENT, msg)
        self.rt.ensure_background()
        return True

    def disconnect(self, sid: str) -> None:
        """An agent's socket closed: with no other socket its printer is offline."""
        with self._lock:
            device = self._sockets.pop(sid, None)
            still = device is not None and device in self._sockets.values()
        if device is not None and not still:
            self._report(device, st.OFFLINE, "the print agent is not connected")

    def _device(self) -> int | None:
        with self._lock:
            return self._sockets.get(request.sid)  # type: ignore[attr-defined]

    def on_ack(self, data: Any = None) -> dict[str, Any]:
        """`print.ack {job, state, error?}`: record the job's result, once."""
        device = self._device()
        if device is None:
            return _refusal("unauthenticated", "connect on the printer channel first")
        data = data if isinstance(data, dict) else {}
        job_id = data.get("job")
        if isinstance(job_id, bool) or not isinstance(job_id, int):
            return _refusal("invalid_field", "job must be a print job id")
        error = data.get("error")
        error = error if isinstance(error, str) else None
        try:
            state = printing.check_ack_state(data.get("state"))
            with self.center.write() as tx:
                job = printing.agent_job(tx, job_id, device)
                ops.print_result(tx, job.ticket_id, state, error, job_id=job_id)
        except QueueError as exc:
            return _refusal(exc.code, exc.message)
        return {"ok": True, "job": job_id}

    def on_status(self, data: Any = None) -> dict[str, Any]:
        """`print.status {status, error?}`: the agent's printer status."""
        device = self._device()
        if device is None:
            return _refusal("unauthenticated", "connect on the printer channel first")
        data = data if isinstance(data, dict) else {}
        if data.get("status") not in st.STATUSES:
            return _refusal("invalid_printer_status", f"status must be one of {st.STATUSES}")
        self._report(device, data["status"], data.get("error"))
        return {"ok": True}

    def on_sync(self, _data: Any = None) -> dict[str, Any]:
        """`print.sync`: send the kiosk's open jobs again."""
        device = self._device()
        if device is None:
            return _refusal("unauthenticated", "connect on the printer channel first")
        messages = self._open_messages(device)
        for msg in messages:
            emit(JOB_EVENT, msg)
        return {"ok": True, "jobs": len(messages)}

    # -- jobs -------------------------------------------------------------------------------

    def deliver(self, job_id: int, device_id: int | None) -> None:
        """Send one new job to its kiosk's agent (router thread); an agent that is not
        connected gets it when it connects."""
        if device_id is None:
            return
        with self.center.read() as r:
            job = printing.get_job(r, job_id)
            msg = self._message(r, job) if job is not None else None
        if msg is not None:
            self.socketio.emit(JOB_EVENT, msg, to=agent_room(device_id))

    def _open_messages(self, device_id: int) -> list[dict[str, Any]]:
        with self.center.read() as r:
            jobs = printing.open_jobs(r, (printing.AGENT,), device_id)
            late = [j for j in jobs if printing.too_late(j, r.now)]
            messages = [m for j in jobs if j not in late
                        and (m := self._message(r, j)) is not None]
        for job in late:
            self._expire(job)
        return messages

    def _message(self, r: Any, job: Any) -> dict[str, Any] | None:
        if job.state not in printing.OPEN_STATES or printing.too_late(job, r.now):
            return None
        t = reading.get_ticket_row(r, job.ticket_id)
        if t is None or t.state not in ("waiting", "called"):
            return None
        return {"type": JOB_EVENT, "job": job.id,
                "ticket": ticket_print_fields(ticket_print(r, t)),
                "expires_in": round(printing.expires_in(job, r.now), 1)}

    def _expire(self, job: Any) -> None:
        try:
            with self.center.write() as tx:
                ops.print_result(tx, job.ticket_id, "failed",
                                 printing.expired_error(job, tx.now), job_id=job.id)
        except QueueError:
            log.exception("cannot mark print job %s expired", job.id)

    # -- status -----------------------------------------------------------------------------

    def status(self, device_id: int | None) -> str:
        """A kiosk's agent printer status; `offline` when its agent is not connected here."""
        with self._lock:
            connected = device_id in self._sockets.values()
            found = self._status.get(device_id) if device_id is not None else None
        if not connected or found is None:
            return st.OFFLINE
        return found[0]

    def _report(self, device: int, status: Any, error: Any) -> None:
        if status not in st.STATUSES:
            return
        error = error[:200] if isinstance(error, str) else None
        with self._lock:
            previous = self._status.get(device)
            self._status[device] = (status, error)
        if previous is not None and previous[0] == status:
            return
        if previous is None and status in (st.OK, st.NONE):
            return  # a first report that all is well is no news
        try:
            with self.center.write() as tx:
                ops.printer_changed(tx, status, previous[0] if previous else None,
                                    error if status not in st.PRINTABLE else None,
                                    device=device)
        except QueueError:
            log.exception("cannot record the agent printer status of kiosk %s", device)


def init_agents(rt: Any, router: PrintRouter) -> AgentHub:
    """Open the `printer` channel for print agents."""
    return AgentHub(rt, router)
