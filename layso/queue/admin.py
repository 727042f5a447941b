"""The center's administration: every rule of changing its configuration, once, free of Flask.

Each change runs in the caller's write transaction (`Tx`) and, when it changed anything,
writes one audit row and emits one `config.changed` event, so boards, kiosks and counters
redraw. A change that changes nothing writes nothing (an import run twice is silent).
Nothing that has history is deleted: services, procedures, counters, categories, users and
devices are retired with `active: false` and keep their rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Row

from layso import auth, db
from layso.queue import ops, printing, reading
from layso.queue.catalog import (
    CENTER_COLUMNS,
    CODE,
    DEFAULT_CENTER_NAME,
    check_center_value,
    check_service_value,
)
from layso.queue.errors import Conflict, Forbidden, Invalid, NotFound
from layso.queue.text import clean_text
from layso.queue.unit import Actor, Reader, Tx

#: the center's settings as the API names them, and which of them anyone may read
CENTER_FIELDS = ("name", "timezone", "priority_policy", "recall_limit", "speech_mode",
                 "speak_english", "default_service_minutes", "rating_scale",
                 "citizen_daily_limit", "alert_queue_length", "alert_pause_minutes",
                 "alert_silent_minutes", "result_service")
#: the kiosk reads `result_service` to offer "Nhận kết quả" (collect a result), and
#: `citizen_daily_limit` to send an ID card's number only when a limit needs it
PUBLIC_CENTER_FIELDS = ("name", "timezone", "speech_mode", "speak_english", "rating_scale",
                        "result_service", "citizen_daily_limit")
SERVICE_FIELDS = ("code", "prefix", "name", "target_wait_minutes", "opens_at", "closes_at",
                  "daily_cap", "start_number", "procedures", "active", "position",
                  "default_service_minutes")
COUNTER_FIELDS = ("number", "name", "services", "mode", "active")
CATEGORY_FIELDS = ("code", "name", "active", "position")
USER_FIELDS = ("username", "name", "role", "active", "password")
DEVICE_FIELDS = ("name", "kind", "counter", "printer")
#: how long an enrolment code can be typed on the device, and how many digits it has
ENROL_MINUTES = 15
ENROL_DIGITS = 8
MAX_PROCEDURES = 1000
#: a NUL that PostgreSQL refuses, and lone surrogates that cannot be stored as UTF-8
BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")


def _bad(field: str, code: str, message: str) -> Invalid:
    return Invalid(code, message, field=field)


def _text(value: Any, field: str, max_len: int, *, required: bool = True) -> str | None:
    """A trimmed, NFC-normalised text, or None when allowed."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or BAD_TEXT.search(value):
        raise _bad(field, "invalid_" + field.split(".")[-1], f"{field} must be a non-empty text")
    # the board, the counter, tickets, reports and exports show these names: the same rules
    # as a pause reason (no line breaks, controls, direction overrides or invisible-only text)
    return clean_text(value, field, max_len, code="invalid_" + field.split(".")[-1])


def _name(value: Any, field: str = "name", max_len: int = 200) -> tuple[str, str]:
    """A `{vi, en}` name; English may be left out (the Vietnamese name is used)."""
    if not isinstance(value, dict) or set(value) - {"vi", "en"} or "vi" not in value:
        raise _bad(field, "invalid_name", f"{field} must be {{vi, en}}")
    vi = _text(value["vi"], field, max_len)
    en = _text(value.get("en") or value["vi"], field, max_len)
    assert vi is not None and en is not None
    return vi, en


def _code(value: Any, field: str = "code") -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise _bad(field, "invalid_code", f"{field}: 1-40 letters, digits, . _ and -")
    return value


def _unknown(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise Invalid("unknown_field", f"Unknown fields: {', '.join(extra)}", field=extra[0])


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def record(tx: Tx, actor: Actor, action: str, target: str, changes: dict[str, Any],
           what: str, *, ref: Any = None, ends: str | None = None) -> None:
    """The audit row and the `config.changed` event of one change.

    The event names what changed (`what`, `action`, and for services, counters, categories
    and devices their code, number or id) but never a person; `ends` names an actor whose
    open sockets must close (a revoked device, a deactivated user).
    """
    tx.conn.execute(insert(db.audit).values(
        at=tx.now, actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name or actor.kind,
        action=action, target=target,
        changes={k: _jsonable(v) for k, v in changes.items()}))
    payload: dict[str, Any] = {"what": what, "action": action, "ref": ref}
    if ends is not None:
        payload["ends"] = ends
    tx.emit("config.changed", payload)
    tx._center = None
    tx._services = None


def _diff(row: Row[Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from the row's (all of them for a new row)."""
    if row is None:
        return dict(values)
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def _admin(actor: Actor) -> None:
    # the API checks roles first; this keeps the domain safe for any other caller
    if actor.kind != "system" and not (actor.kind == "user" and actor.role == "admin"):
        raise Forbidden("forbidden", "Only an admin changes the center's configuration")


# -- the center --------------------------------------------------------------------------------

def center_view(r: Reader, full: bool = True) -> dict[str, Any]:
    """The center's settings (`full`: all of them, else what anyone may read)."""
    c = r.center
    out: dict[str, Any] = {
        "name": {"vi": c.name_vi, "en": c.name_en}, "timezone": c.timezone,
        "priority_policy": c.priority_policy, "recall_limit": c.recall_limit,
        "speech_mode": c.speech_mode, "speak_english": bool(c.speak_english),
        "default_service_minutes": c.default_service_minutes, "rating_scale": c.rating_scale,
        "citizen_daily_limit": c.citizen_daily_limit,
        "alert_queue_length": c.alert_queue_length, "alert_pause_minutes": c.alert_pause_minutes,
        "result_service": c.result_service,
        "alert_silent_minutes": c.alert_silent_minutes,
    }
    out["configured"] = is_configured(r)
    if not full:
        out = {k: out[k] for k in (*PUBLIC_CENTER_FIELDS, "configured")}
    return out


def is_configured(r: Reader) -> bool:
    """Whether the center has at least one active service and one active counter (the setup
    is done enough for a citizen to take a number)."""
    has_service = r.conn.execute(select(db.services.c.id).where(
        db.services.c.active.is_(True)).limit(1)).first() is not None
    has_counter = r.conn.execute(select(db.counters.c.id).where(
        db.counters.c.active.is_(True)).limit(1)).first() is not None
    return has_service and has_counter


def setup_progress(r: Reader) -> dict[str, Any]:
    """How far a new center's setup has come, step by step (the first-setup page): whether
    the center's settings were ever saved (or it bears a name of its own), the services in
    use and those no counter takes yet, the counters, the staff accounts besides the admins,
    and the devices."""
    saved = r.conn.execute(select(db.audit.c.id).where(
        db.audit.c.action == "center.updated").limit(1)).first() is not None
    served = reading.served_service_ids(r)
    services = r.conn.execute(select(db.services).where(db.services.c.active.is_(True))
                              .order_by(db.services.c.position, db.services.c.id)).all()

    def count(table: Any, *where: Any) -> int:
        return int(r.conn.execute(select(func.count()).select_from(table).where(
            table.c.active.is_(True), *where)).scalar_one())

    return {
        "settings": {"done": saved or r.center.name_vi != DEFAULT_CENTER_NAME[0],
                     "name": reading.name(r.center)},
        "services": {"count": len(services),
                     "unserved": [reading.service_brief(x) for x in services
                                  if x.id not in served]},
        "counters": {"count": count(db.counters)},
        "users": {"count": count(db.users, db.users.c.role != "admin")},
        "devices": {"count": count(db.devices)},
    }


def update_center(tx: Tx, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Change the center's settings (any subset of CENTER_FIELDS)."""
    _admin(actor)
    _unknown(data, CENTER_FIELDS)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "name":
            values["name_vi"], values["name_en"] = _name(value)
        else:
            values[key] = check_center_value(key, value)
    if values.get("result_service") is not None and tx.conn.execute(
            select(db.services.c.id).where(db.services.c.code == values["result_service"],
                                           db.services.c.active.is_(True))).first() is None:
        raise _bad("result_service", "unknown_service",
                   f"No active service {values['result_service']!r} for results")
    assert set(values) <= set(CENTER_COLUMNS)
    changes = _diff(tx.center, values)
    if changes:
        tx.conn.execute(update(db.center).where(db.center.c.id == 1).values(**changes))
        record(tx, actor, "center.updated", "center", changes, "center")
    return center_view(tx)


# -- services and their procedures -------------------------------------------------------------

def service_admin_view(r: Reader, s: Row[Any], waiting: int | None = None,
                       procs: list[Row[Any]] | None = None,
                       served: set[int] | None = None) -> dict[str, Any]:
    """A service as the admin sees it: the public shape, plus `active`, every procedure (with
    its own `active`) and the numbering settings."""
    if waiting is None:
        waiting = reading.waiting_counts(r).get(s.code, 0)
    if procs is None:
        procs = list(r.conn.execute(
            select(db.procedures).where(db.procedures.c.service_id == s.id)
            .order_by(db.procedures.c.position, db.procedures.c.id)).all())
    out = reading.service_view(r, s, waiting, [p for p in procs if p.active], served)
    out.update(active=bool(s.active), position=s.position, start_number=s.start_number,
               default_service_minutes=s.default_service_minutes,
               procedures=[{"code": p.code, "name": reading.name(p), "active": bool(p.active)}
                           for p in procs])
    return out


def list_services_admin(r: Reader) -> list[dict[str, Any]]:
    """Every service, retired ones too, in the kiosk's order."""
    counts = reading.waiting_counts(r)
    procs = reading.procedures_by_service(r, include_inactive=True)
    served = reading.served_service_ids(r)
    rows = r.conn.execute(select(db.services).order_by(db.services.c.position,
                                                       db.services.c.id)).all()
    return [service_admin_view(r, s, counts.get(s.code, 0), procs.get(s.id, []), served)
            for s in rows]


def _row(r: Reader, column: Any, value: Any, kind: type, error: str, message: str) -> Row[Any]:
    """The row whose `column` holds `value` (which must be of `kind`), else NotFound."""
    row = None
    if isinstance(value, kind):
        row = r.conn.execute(select(column.table).where(column == value)).first()
    if row is None:
        raise NotFound(error, message)
    return row


def _service_row(r: Reader, code: Any) -> Row[Any]:
    return _row(r, db.services.c.code, code, str, "unknown_service",
                f"No service with code {code!r}")


def _service_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("procedures", "code"):
            continue
        if key == "name":
            values["name_vi"], values["name_en"] = _name(value)
        else:
            values[key] = check_service_value(key, value)
    opens, closes = values.get("opens_at"), values.get("closes_at")
    if opens is not None and closes is not None and closes <= opens:
        raise _bad("closes_at", "invalid_hours", "closes_at must be after opens_at")
    return values


def _procedures(value: Any) -> list[tuple[str, str, str, bool]]:
    """The procedures list of a body: `[{code, name, active?}]`, codes unique."""
    if not isinstance(value, list) or len(value) > MAX_PROCEDURES:
        raise _bad("procedures", "invalid_procedures",
                   f"procedures must be a list of at most {MAX_PROCEDURES}")
    out, seen = [], set()
    for i, p in enumerate(value):
        where = f"procedures[{i}]"
        if not isinstance(p, dict) or "code" not in p or "name" not in p or set(p) - {
                "code", "name", "active"}:
            raise _bad(where, "invalid_procedures", f"{where} must be {{code, name, active?}}")
        code = _code(p["code"], f"{where}.code")
        if code in seen:
            raise Conflict("duplicate_code", f"Procedure {code!r} is listed twice",
                           field=f"{where}.code")
        seen.add(code)
        vi, en = _name(p["name"], f"{where}.name", 300)
        active = p.get("active", True)
        if not isinstance(active, bool):
            raise _bad(f"{where}.active", "invalid_active", "active must be true or false")
        out.append((code, vi, en, active))
    return out


def _set_procedures(tx: Tx, service_id: int, procs: list[tuple[str, str, str, bool]]
                    ) -> list[str]:
    """Make the service's procedures these, in this order; one left out is retired (tickets
    and reports keep its code). Returns a description of what changed."""
    existing = {p.code: p for p in tx.conn.execute(
        select(db.procedures).where(db.procedures.c.service_id == service_id)).all()}
    changed = []
    for pos, (code, vi, en, active) in enumerate(procs):
        values = {"name_vi": vi, "name_en": en, "position": pos, "active": active}
        row = existing.pop(code, None)
        if row is None:
            tx.conn.execute(insert(db.procedures).values(service_id=service_id, code=code,
                                                         **values))
            changed.append(f"+{code}")
        elif _diff(row, values):
            tx.conn.execute(update(db.procedures).where(db.procedures.c.id == row.id)
                            .values(**values))
            changed.append(f"~{code}")
    for code, row in existing.items():
        if row.active:
            tx.conn.execute(update(db.procedures).where(db.procedures.c.id == row.id)
                            .values(active=False))
            changed.append(f"-{code}")
    return changed


def _check_prefix_free(tx: Tx, prefix: str, service_id: int | None) -> None:
    other = tx.conn.execute(select(db.services.c.code).where(
        db.services.c.prefix == prefix, db.services.c.id != (service_id or -1))).first()
    if other is not None:
        # retired services keep their prefix: their tickets' labels still name them
        raise Conflict("duplicate_prefix", f"Prefix {prefix} is used by {other.code}",
                       field="prefix")


def has_tickets_today(r: Reader, service_id: int) -> bool:
    """Whether today's business day has tickets that were issued in or moved to the service."""
    day = r.shown_day()
    if day is None:
        return False
    t = db.tickets.c
    return r.conn.execute(select(t.id).where(
        t.day_id == day.id, or_(t.service_id == service_id, t.origin_service_id == service_id)
    ).limit(1)).first() is not None


def create_service(tx: Tx, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Add a service (code, prefix and name required); 409 for a code or prefix in use."""
    _admin(actor)
    _unknown(data, SERVICE_FIELDS)
    for key in ("code", "prefix", "name"):
        if data.get(key) is None:
            raise _bad(key, "missing_field", f"{key} is required")
    code = _code(data["code"])
    values = _service_values(data)
    procs = _procedures(data["procedures"]) if data.get("procedures") is not None else []
    if tx.conn.execute(select(db.services.c.id).where(db.services.c.code == code)).first():
        raise Conflict("duplicate_code", f"A service with code {code!r} exists", field="code")
    _check_prefix_free(tx, values["prefix"], None)
    if "position" not in values:
        values["position"] = int(tx.conn.execute(
            select(func.coalesce(func.max(db.services.c.position), -1) + 1)).scalar_one())
    values = {"active": True, "target_wait_minutes": 30, "start_number": 1, **values}
    sid = db.inserted_id(tx.conn.execute(insert(db.services).values(code=code, **values)))
    changes = {"code": code, **values}
    if procs:
        changes["procedures"] = _set_procedures(tx, sid, procs)
    record(tx, actor, "service.created", code, changes, "service", ref=code)
    return service_admin_view(tx, _service_row(tx, code))


def update_service(tx: Tx, actor: Actor, code: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a service (any subset); `active: false` retires it, its history stays."""
    _admin(actor)
    s = _service_row(tx, code)
    _unknown(data, SERVICE_FIELDS)
    if "code" in data and data["code"] != s.code:
        raise _bad("code", "code_fixed", "A service's code cannot change; retire it and add "
                   "another")
    values = _service_values(data)
    if values.get("opens_at", s.opens_at) and values.get("closes_at", s.closes_at) and (
            values.get("closes_at", s.closes_at) <= values.get("opens_at", s.opens_at)):
        raise _bad("closes_at", "invalid_hours", "closes_at must be after opens_at")
    changes = _diff(s, values)
    if "prefix" in changes:
        _check_prefix_free(tx, changes["prefix"], s.id)
        if has_tickets_today(tx, s.id):
            # today's labels carry the old prefix: a new one would give two A001 in one day
            raise Conflict("service_in_use", f"{s.code} has tickets today: change its prefix "
                           "after the day", field="prefix")
    if changes:
        tx.conn.execute(update(db.services).where(db.services.c.id == s.id).values(**changes))
    if data.get("procedures") is not None:
        procs = _procedures(data["procedures"])
        proc_changes = _set_procedures(tx, s.id, procs)
        if proc_changes:
            changes["procedures"] = proc_changes
    if changes:
        action = ("service.retired" if changes.get("active") is False
                  else "service.restored" if changes.get("active") is True
                  else "service.updated")
        record(tx, actor, action, s.code, changes, "service", ref=s.code)
    return service_admin_view(tx, _service_row(tx, code))


# -- counters ----------------------------------------------------------------------------------

def counter_admin_view(r: Reader, c: Row[Any]) -> dict[str, Any]:
    """The counter shape plus `active`."""
    return {**reading.counter_view(r, c), "active": bool(c.active)}


def list_counters_admin(r: Reader) -> list[dict[str, Any]]:
    """Every counter, retired ones too, by number."""
    rows = r.conn.execute(select(db.counters).order_by(db.counters.c.number)).all()
    return [counter_admin_view(r, c) for c in rows]


def _counter_row(r: Reader, number: int) -> Row[Any]:
    return _row(r, db.counters.c.number, number, int, "unknown_counter",
                f"No counter number {number}")


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9999:
        raise _bad("number", "invalid_number", "number must be a whole number 1-9999")
    return value


def _counter_services(tx: Reader, value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > 500:
        raise _bad("services", "invalid_services", "services must be a list of service codes")
    ids, seen = [], set()
    for i, code in enumerate(value):
        if not isinstance(code, str):
            raise _bad(f"services[{i}]", "invalid_services", "a service code")
        row = tx.conn.execute(select(db.services.c.id, db.services.c.active).where(
            db.services.c.code == code)).first()
        if row is None:
            raise _bad(f"services[{i}]", "unknown_service", f"No service with code {code!r}")
        if code in seen:
            raise _bad(f"services[{i}]", "invalid_services", f"{code} is listed twice")
        seen.add(code)
        ids.append(int(row.id))
    return ids


def _set_counter_services(tx: Tx, counter_id: int, service_ids: list[int]) -> bool:
    cs = db.counter_services.c
    now = [int(r.service_id) for r in tx.conn.execute(
        select(cs.service_id).where(cs.counter_id == counter_id).order_by(cs.position)).all()]
    if now == service_ids:
        return False
    tx.conn.execute(delete(db.counter_services).where(cs.counter_id == counter_id))
    for pos, sid in enumerate(service_ids):
        tx.conn.execute(insert(db.counter_services).values(counter_id=counter_id,
                                                           service_id=sid, position=pos))
    return True


def _counter_values(data: dict[str, Any], number: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name_vi"], values["name_en"] = _name(data["name"], max_len=100)
    if "mode" in data:
        if data["mode"] not in ("fifo", "ordered"):
            raise _bad("mode", "invalid_mode", "mode must be fifo or ordered")
        values["mode"] = data["mode"]
    if "active" in data:
        values["active"] = check_service_value("active", data["active"])
    return values


def create_counter(tx: Tx, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Add a counter (number required; name defaults to "Quầy N" / "Counter N")."""
    _admin(actor)
    _unknown(data, COUNTER_FIELDS)
    if data.get("number") is None:
        raise _bad("number", "missing_field", "number is required")
    number = _number(data["number"])
    values = _counter_values(data, number)
    sids = _counter_services(tx, data["services"]) if data.get("services") is not None else []
    if tx.conn.execute(select(db.counters.c.id).where(db.counters.c.number == number)).first():
        raise Conflict("duplicate_number", f"Counter {number} exists", field="number")
    values = {"name_vi": f"Quầy {number}", "name_en": f"Counter {number}", "mode": "fifo",
              "active": True, **values}
    cid = db.inserted_id(tx.conn.execute(insert(db.counters).values(
        number=number, state="closed", normal_streak=0, **values)))
    _set_counter_services(tx, cid, sids)
    record(tx, actor, "counter.created", str(number),
           {"number": number, **values, "services": data.get("services") or []}, "counter",
           ref=number)
    return counter_admin_view(tx, _counter_row(tx, number))


def update_counter(tx: Tx, actor: Actor, number: int, data: dict[str, Any]) -> dict[str, Any]:
    """Change a counter; `active: false` retires it, only when closed (409 counter_busy)."""
    _admin(actor)
    c = _counter_row(tx, number)
    _unknown(data, COUNTER_FIELDS)
    values = _counter_values(data, number)
    if "number" in data:
        values["number"] = _number(data["number"])
    sids = _counter_services(tx, data["services"]) if data.get("services") is not None else None
    changes = _diff(c, values)
    if "number" in changes and tx.conn.execute(select(db.counters.c.id).where(
            db.counters.c.number == changes["number"])).first():
        raise Conflict("duplicate_number", f"Counter {changes['number']} exists",
                       field="number")
    if changes.get("active") is False and c.state != "closed":
        raise Conflict("counter_busy", f"Counter {number} is {c.state}: close it first",
                       field="active")
    if changes:
        tx.conn.execute(update(db.counters).where(db.counters.c.id == c.id).values(**changes))
    if sids is not None and _set_counter_services(tx, c.id, sids):
        changes["services"] = data["services"]
    if changes:
        action = ("counter.retired" if changes.get("active") is False
                  else "counter.restored" if changes.get("active") is True
                  else "counter.updated")
        record(tx, actor, action, str(number), changes, "counter",
               ref=changes.get("number", number))
        if set(changes) & {"name_vi", "name_en", "services", "mode", "number"}:
            # terminals and tablets follow the counter's own event too
            c2 = tx.conn.execute(select(db.counters).where(db.counters.c.id == c.id)).one()
            tx.emit("counter.changed", {"counter": reading.counter_view(tx, c2,
                                                                      brief_ticket=True)})
    return counter_admin_view(tx, tx.conn.execute(
        select(db.counters).where(db.counters.c.id == c.id)).one())


# -- priority categories -----------------------------------------------------------------------

def category_view(p: Row[Any]) -> dict[str, Any]:
    """`{code, name, active, position}`."""
    return {"code": p.code, "name": reading.name(p), "active": bool(p.active),
            "position": p.position}


def list_categories_admin(r: Reader) -> list[dict[str, Any]]:
    """Every priority category, retired ones too."""
    pc = db.priority_categories.c
    return [category_view(p) for p in r.conn.execute(
        select(db.priority_categories).order_by(pc.position, pc.id)).all()]


def _category_row(r: Reader, code: Any) -> Row[Any]:
    return _row(r, db.priority_categories.c.code, code, str, "unknown_category",
                f"No priority category {code!r}")


def _category_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name_vi"], values["name_en"] = _name(data["name"])
    for key in ("active", "position"):
        if key in data:
            values[key] = check_service_value(key, data[key])
    return values


def create_category(tx: Tx, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Add a priority category `{code, name}`."""
    _admin(actor)
    _unknown(data, CATEGORY_FIELDS)
    for key in ("code", "name"):
        if data.get(key) is None:
            raise _bad(key, "missing_field", f"{key} is required")
    code = _code(data["code"])
    values = _category_values(data)
    if tx.conn.execute(select(db.priority_categories.c.id).where(
            db.priority_categories.c.code == code)).first():
        raise Conflict("duplicate_code", f"A category with code {code!r} exists", field="code")
    if "position" not in values:
        values["position"] = int(tx.conn.execute(select(
            func.coalesce(func.max(db.priority_categories.c.position), -1) + 1)).scalar_one())
    values = {"active": True, **values}
    tx.conn.execute(insert(db.priority_categories).values(code=code, **values))
    record(tx, actor, "category.created", code, {"code": code, **values}, "category", ref=code)
    return category_view(_category_row(tx, code))


def update_category(tx: Tx, actor: Actor, code: str, data: dict[str, Any]) -> dict[str, Any]:
    """Rename, reorder or retire a category; tickets keep the code they were issued with."""
    _admin(actor)
    row = _category_row(tx, code)
    _unknown(data, CATEGORY_FIELDS)
    if "code" in data and data["code"] != row.code:
        raise _bad("code", "code_fixed", "A category's code cannot change")
    changes = _diff(row, _category_values(data))
    if changes:
        tx.conn.execute(update(db.priority_categories)
                        .where(db.priority_categories.c.id == row.id).values(**changes))
        action = "category.retired" if changes.get("active") is False else "category.updated"
        record(tx, actor, action, code, changes, "category", ref=code)
    return category_view(_category_row(tx, code))


# -- users -------------------------------------------------------------------------------------

def user_view(u: Row[Any]) -> dict[str, Any]:
    """`{username, name, role, active}` (never the password hash)."""
    return {"username": u.username, "name": u.name, "role": u.role, "active": bool(u.active)}


def list_users(r: Reader) -> list[dict[str, Any]]:
    """Every user, deactivated ones too, by username."""
    return [user_view(u) for u in r.conn.execute(
        select(db.users).order_by(db.users.c.username)).all()]


def _user_row(r: Reader, username: Any) -> Row[Any]:
    return _row(r, db.users.c.username, username, str, "unknown_user", f"No user {username!r}")


def _role(value: Any) -> str:
    if value not in auth.ROLES:
        raise _bad("role", "invalid_role", f"role must be one of {', '.join(auth.ROLES)}")
    return str(value)


def check_password(value: Any) -> str:
    """A password the center accepts (8-200 characters), else Invalid."""
    if not isinstance(value, str) or not 8 <= len(value) <= 200:
        raise _bad("password", "weak_password", "password must have 8-200 characters")
    return value


def hash_password(value: Any) -> str:
    """Check and hash a password: call it outside the write transaction (Argon2 is slow on
    purpose, and a write lock held meanwhile would hold back every kiosk)."""
    return auth.hash_password(check_password(value))


def active_admins(tx: Reader) -> int:
    """How many active administrators the center has (it keeps one at least, once it has)."""
    u = db.users.c
    return int(tx.conn.execute(select(func.count()).select_from(db.users).where(
        u.role == "admin", u.active.is_(True))).scalar_one())


def create_user(tx: Tx, actor: Actor, data: dict[str, Any],
                password_hash: str | None = None) -> dict[str, Any]:
    """Add an official `{username, name, role}`; `password_hash` from `hash_password` (without
    one the account cannot log in until an admin sets a password)."""
    _admin(actor)
    _unknown(data, USER_FIELDS)
    username = data.get("username")
    if not isinstance(username, str) or not auth.USERNAME.match(username):
        raise _bad("username", "invalid_username", "username: letters, digits, . - _ (at most 80)")
    role = _role(data.get("role"))
    name = _text(data.get("name") or username, "name", 200)
    active = check_service_value("active", data.get("active", True))
    if tx.conn.execute(select(db.users.c.id).where(db.users.c.username == username)).first():
        raise Conflict("duplicate_username", f"User {username!r} exists already",
                       field="username")
    if password_hash is None:
        password_hash = auth.unusable_password()
    auth.forget_actors(tx.conn)
    tx.conn.execute(insert(db.users).values(
        username=username, name=name, role=role, password_hash=password_hash, active=active,
        created_at=tx.now))
    record(tx, actor, "user.created", username,
           {"username": username, "name": name, "role": role, "active": active,
            "password": "set" if "password" in data else "none"}, "user")
    return user_view(_user_row(tx, username))


def update_user(tx: Tx, actor: Actor, username: str, data: dict[str, Any],
                password_hash: str | None = None) -> dict[str, Any]:
    """Rename, change the role, reset the password or deactivate; a deactivated user's (and
    a new password's) sessions and tokens end at once; the last active admin stays one."""
    _admin(actor)
    u = _user_row(tx, username)
    _unknown(data, USER_FIELDS)
    if "username" in data and data["username"] != u.username:
        raise _bad("username", "username_fixed", "A username cannot change")
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = _text(data["name"], "name", 200)
    if "role" in data:
        values["role"] = _role(data["role"])
    if "active" in data:
        values["active"] = check_service_value("active", data["active"])
    changes = _diff(u, values)
    demoted = u.role == "admin" and u.active and (
        changes.get("role", "admin") != "admin" or changes.get("active") is False)
    if demoted and active_admins(tx) <= 1:
        raise Conflict("last_admin", "The center needs one active admin: make another admin "
                       "first", field="role" if "role" in changes else "active")
    if password_hash is not None:
        values_pw = {"password_hash": password_hash}
    else:
        values_pw = {}
    if not changes and not values_pw:
        return user_view(u)
    auth.forget_actors(tx.conn)
    tx.conn.execute(update(db.users).where(db.users.c.id == u.id).values(**changes, **values_pw))
    ends = None
    if values_pw or changes.get("active") is False or "role" in changes:
        # what a login may do was decided when it began: a new role, a new password or a
        # deactivation ends every login of the account
        auth.revoke_all_user_tokens(tx.conn, u.id)
        ends = f"user:{u.id}"
    if changes.get("active") is False:
        ops.release_held_by(tx, u.id)
    audit_changes = dict(changes)
    if values_pw:
        audit_changes["password"] = "reset"
    action = "user.deactivated" if changes.get("active") is False else "user.updated"
    record(tx, actor, action, username, audit_changes, "user", ends=ends)
    return user_view(_user_row(tx, username))


# -- devices -----------------------------------------------------------------------------------

def device_view(r: Reader, d: Row[Any], counters: dict[int, Any] | None = None
                ) -> dict[str, Any]:
    """`{id, name, kind, counter, printer, active, last_seen_at, enrol_expires_at}`."""
    number = None
    if d.counter_id is not None:
        c = (counters or {}).get(d.counter_id) or r.conn.execute(
            select(db.counters.c.number).where(db.counters.c.id == d.counter_id)).first()
        number = c.number if c is not None else None
    pending = d.enrol_expires_at is not None and d.enrol_expires_at > r.now and d.active
    return {"id": d.id, "name": d.name, "kind": d.kind, "counter": number,
            "printer": d.printer, "active": bool(d.active),
            "last_seen_at": reading.iso(r, d.last_seen_at),
            "enrol_expires_at": reading.iso(r, d.enrol_expires_at) if pending else None}


def list_devices(r: Reader) -> list[dict[str, Any]]:
    """Every device, revoked ones too."""
    counters = reading.counters_by_id(r)
    return [device_view(r, d, counters) for d in r.conn.execute(
        select(db.devices).order_by(db.devices.c.id)).all()]


def _device_row(r: Reader, device_id: int) -> Row[Any]:
    return _row(r, db.devices.c.id, device_id, int, "unknown_device", f"No device {device_id}")


def _device_values(tx: Reader, data: dict[str, Any], kind: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = _text(data["name"], "name", 100)
    if "counter" in data:
        if data["counter"] is None:
            values["counter_id"] = None
        else:
            number = data["counter"]
            if isinstance(number, bool) or not isinstance(number, int) or not (
                    1 <= number <= 9999):
                raise _bad("counter", "invalid_counter", "counter must be a counter number")
            c = tx.conn.execute(select(db.counters.c.id).where(
                db.counters.c.number == number)).first()
            if c is None:
                raise _bad("counter", "unknown_counter", f"No counter number {number}")
            values["counter_id"] = int(c.id)
    if "printer" in data:
        p = data["printer"]
        if isinstance(p, str) and not p.strip():
            p = None  # an emptied field: the center's printer
        if p is not None and (not isinstance(p, str) or len(p) > 300 or BAD_TEXT.search(p)):
            raise _bad("printer", "invalid_printer", "printer must be a printer URI or null")
        if p is not None:
            p = printing.check_printer(p)
        if kind != "kiosk" and p is not None:
            raise _bad("printer", "invalid_printer", "only a kiosk has a printer")
        values["printer"] = p
    return values


def _enrol_code() -> tuple[str, str]:
    code = "".join(secrets.choice("0123456789") for _ in range(ENROL_DIGITS))
    return code, enrol_digest(code)


def enrol_digest(code: str) -> str:
    """What is kept of an enrolment code (its SHA-256, like a token)."""
    return hashlib.sha256(("enrol:" + code).encode()).hexdigest()


def _new_enrol_code(tx: Tx, device_id: int) -> str:
    for _ in range(20):
        code, digest = _enrol_code()
        clash = tx.conn.execute(select(db.devices.c.id).where(
            db.devices.c.enrol_code_hash == digest, db.devices.c.enrol_expires_at > tx.now,
            db.devices.c.id != device_id)).first()
        if clash is None:
            break
    tx.conn.execute(update(db.devices).where(db.devices.c.id == device_id).values(
        enrol_code_hash=digest, enrol_expires_at=tx.now + timedelta(minutes=ENROL_MINUTES)))
    return code


def create_device(tx: Tx, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """A new device with its token (shown once) and a one-time enrolment code."""
    _admin(actor)
    _unknown(data, DEVICE_FIELDS)
    kind = data.get("kind")
    if kind not in auth.DEVICE_KINDS:
        raise _bad("kind", "invalid_kind", f"kind must be one of {', '.join(auth.DEVICE_KINDS)}")
    if data.get("name") is None:
        raise _bad("name", "missing_field", "name is required")
    values = _device_values(tx, data, kind)
    if kind == "feedback" and values.get("counter_id") is None:
        raise _bad("counter", "counter_required", "a feedback tablet belongs to one counter")
    token = auth.new_device_token(kind)
    auth.forget_actors(tx.conn)
    device_id = db.inserted_id(tx.conn.execute(insert(db.devices).values(
        kind=kind, token_hash=auth.token_digest(token), active=True, created_at=tx.now,
        **{"counter_id": None, "printer": None, **values})))
    code = _new_enrol_code(tx, device_id)
    record(tx, actor, "device.created", str(device_id),
           {"name": values["name"], "kind": kind, "counter": data.get("counter"),
            "printer": values.get("printer")}, "device", ref=device_id)
    return {**device_view(tx, _device_row(tx, device_id)), "token": token, "enrol_code": code}


def update_device(tx: Tx, actor: Actor, device_id: int, data: dict[str, Any]
                  ) -> dict[str, Any]:
    """Rename a device, bind it to a counter, choose a kiosk's printer."""
    _admin(actor)
    d = _device_row(tx, device_id)
    _unknown(data, DEVICE_FIELDS)
    if "kind" in data and data["kind"] != d.kind:
        raise _bad("kind", "kind_fixed", "A device's kind cannot change; add another device")
    changes = _diff(d, _device_values(tx, data, d.kind))
    if d.kind == "feedback" and "counter_id" in changes and changes["counter_id"] is None:
        raise _bad("counter", "counter_required", "a feedback tablet belongs to one counter")
    if changes:
        auth.forget_actors(tx.conn)
        tx.conn.execute(update(db.devices).where(db.devices.c.id == d.id).values(**changes))
        # a tablet moved to another counter must join that counter's room: reconnect it
        ends = f"device:{d.id}" if "counter_id" in changes else None
        record(tx, actor, "device.updated", str(d.id), changes, "device", ref=d.id, ends=ends)
    return device_view(tx, _device_row(tx, device_id))


def revoke_device(tx: Tx, actor: Actor, device_id: int) -> dict[str, Any]:
    """Stop a device at once: its token is refused (401) and its open socket closed."""
    _admin(actor)
    d = _device_row(tx, device_id)
    if d.active:
        auth.forget_actors(tx.conn)
        tx.conn.execute(update(db.devices).where(db.devices.c.id == d.id).values(
            active=False, enrol_code_hash=None, enrol_expires_at=None))
        record(tx, actor, "device.revoked", str(d.id), {"active": False}, "device", ref=d.id,
               ends=f"device:{d.id}")
    return device_view(tx, _device_row(tx, device_id))


def new_enrol_code(tx: Tx, actor: Actor, device_id: int) -> dict[str, Any]:
    """A fresh one-time enrolment code for an active device (e.g. a kiosk reinstalled)."""
    _admin(actor)
    d = _device_row(tx, device_id)
    if not d.active:
        raise Conflict("device_revoked", f"Device {device_id} is revoked")
    code = _new_enrol_code(tx, d.id)
    record(tx, actor, "device.enrol_code", str(d.id), {}, "device", ref=d.id)
    return {**device_view(tx, _device_row(tx, device_id)), "enrol_code": code}


def enrol(tx: Tx, code: Any) -> dict[str, Any]:
    """Exchange a valid enrolment code for the device's token, once. The device gets a new
    token (only its hash was kept); the one shown at creation stops working."""
    if not isinstance(code, str):
        raise _bad("code", "invalid_code", "code is the enrolment code")
    code = code.replace(" ", "").replace("-", "")
    if not (code.isascii() and code.isdigit() and len(code) == ENROL_DIGITS):
        raise Invalid("invalid_enrol_code", "Unknown or expired enrolment code", field="code")
    dc = db.devices.c
    d = tx.conn.execute(select(db.devices).where(
        dc.enrol_code_hash == enrol_digest(code), dc.enrol_expires_at > tx.now,
        dc.active.is_(True))).first()
    if d is None:
        raise Invalid("invalid_enrol_code", "Unknown or expired enrolment code", field="code")
    token = auth.new_device_token(d.kind)
    auth.forget_actors(tx.conn)
    tx.conn.execute(update(db.devices).where(dc.id == d.id).values(
        token_hash=auth.token_digest(token), enrol_code_hash=None, enrol_expires_at=None,
        last_seen_at=tx.now))
    record(tx, Actor(kind="device", id=d.id, role=d.kind, name=d.name), "device.enrolled",
           str(d.id), {}, "device", ref=d.id, ends=f"device:{d.id}")
    return {"token": token, "device": device_view(tx, _device_row(tx, d.id))}


def touch_device(tx: Tx, device_id: int) -> None:
    """Note that a device was seen now (no audit: it is not a change of configuration)."""
    touch_devices(tx, [device_id])


def touch_devices(tx: Tx, device_ids: list[int]) -> None:
    """Note that these devices were seen now (their sockets are open)."""
    if device_ids:
        tx.conn.execute(update(db.devices).where(db.devices.c.id.in_(device_ids))
                        .values(last_seen_at=tx.now))


# -- the audit trail ---------------------------------------------------------------------------

def audit_items(r: Reader, start: datetime | None = None, end: datetime | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
    """Changes made through the administration, newest first, in [start, end)."""
    a = db.audit.c
    q = select(db.audit).order_by(a.at.desc(), a.id.desc()).limit(limit)
    if start is not None:
        q = q.where(a.at >= start)
    if end is not None:
        q = q.where(a.at < end)
    return [{"at": reading.iso(r, row.at), "actor": {"kind": row.actor_kind,
                                                    "name": row.actor_name},
             "action": row.action, "target": row.target, "changes": row.changes}
            for row in r.conn.execute(q).all()]


# -- the catalogue as a file (`layso config export` / `import`) --------------------------------

CONFIG_SECTIONS = ("center", "categories", "services", "counters")


def export_config(r: Reader) -> dict[str, Any]:
    """The center, its categories, services with procedures and counters: what a province can
    hand every commune (no users, devices or secrets)."""
    center = {k: v for k, v in center_view(r).items() if k in CENTER_FIELDS}
    services = []
    for s in list_services_admin(r):
        services.append({
            "code": s["code"], "prefix": s["prefix"], "name": s["name"],
            "target_wait_minutes": s["target_wait_minutes"], "opens_at": s["opens_at"],
            "closes_at": s["closes_at"], "daily_cap": s["daily_cap"],
            "start_number": s["start_number"],
            "default_service_minutes": s["default_service_minutes"], "active": s["active"],
            "procedures": [{"code": p["code"], "name": p["name"], "active": p["active"]}
                           for p in s["procedures"]]})
    categories = [{"code": c["code"], "name": c["name"], "active": c["active"]}
                  for c in list_categories_admin(r)]
    counters = [{"number": c["number"], "name": c["name"], "services": c["services"],
                 "mode": c["mode"], "active": c["active"]} for c in list_counters_admin(r)]
    return {"center": center, "categories": categories, "services": services,
            "counters": counters}


def _section(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _bad(key, "invalid_file", f"{key} must be a list of mappings")
    return items


def import_config(tx: Tx, actor: Actor, data: Any) -> list[str]:
    """Create or update the center, categories, services (by code) and counters (by number)
    from an exported file; never deletes (a procedure the file leaves out keeps its state).
    Returns the changes made (`action target`); a second run makes none."""
    _admin(actor)
    if not isinstance(data, dict):
        raise _bad("file", "invalid_file", "the file must be a mapping of "
                   + ", ".join(CONFIG_SECTIONS))
    _unknown(data, CONFIG_SECTIONS)
    a = db.audit.c
    first = tx.conn.execute(select(func.coalesce(func.max(a.id), 0))).scalar_one()
    center = data.get("center")
    if center is not None:
        if not isinstance(center, dict):
            raise _bad("center", "invalid_file", "center must be a mapping")
        # the service for results may be one this file creates: set it after the services
        update_center(tx, actor, {k: v for k, v in center.items() if k != "result_service"})
    for pos, c in enumerate(_section(data, "categories")):
        code = c.get("code")
        exists = isinstance(code, str) and tx.conn.execute(select(
            db.priority_categories.c.id).where(db.priority_categories.c.code == code)).first()
        body = {**c, "position": pos}
        if exists and isinstance(code, str):
            update_category(tx, actor, code, body)
        else:
            create_category(tx, actor, body)
    for pos, s in enumerate(_section(data, "services")):
        code = s.get("code")
        row = tx.conn.execute(select(db.services).where(db.services.c.code == code)).first() \
            if isinstance(code, str) else None
        body = {**s, "position": pos}
        if row is None or not isinstance(code, str):
            create_service(tx, actor, body)
            continue
        if body.get("procedures") is not None:
            listed = {p.get("code") for p in body["procedures"] if isinstance(p, dict)}
            kept = [{"code": p.code, "name": reading.name(p), "active": bool(p.active)}
                    for p in tx.conn.execute(
                        select(db.procedures).where(db.procedures.c.service_id == row.id)
                        .order_by(db.procedures.c.position, db.procedures.c.id)).all()
                    if p.code not in listed]
            body["procedures"] = list(body["procedures"]) + kept
        update_service(tx, actor, code, body)
    for c in _section(data, "counters"):
        number = c.get("number")
        exists = isinstance(number, int) and tx.conn.execute(select(db.counters.c.id).where(
            db.counters.c.number == number)).first()
        if exists and isinstance(number, int):
            update_counter(tx, actor, number, {k: v for k, v in c.items() if k != "number"})
        else:
            create_counter(tx, actor, c)
    if isinstance(center, dict) and "result_service" in center:
        update_center(tx, actor, {"result_service": center["result_service"]})
    return [f"{row.action} {row.target}" for row in tx.conn.execute(
        select(db.audit).where(a.id > first).order_by(a.id)).all()]
