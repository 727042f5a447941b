"""The center's catalogue: settings, services, procedures, priority categories and counters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from layso import db, events
from layso.queue.errors import Invalid
from layso.queue.policy import parse_policy
from layso.queue.text import clean_text
from layso.queue.unit import Tx

DEFAULT_CATEGORIES = [
    ("elderly", "Người cao tuổi", "Elderly person"),
    ("disability", "Người khuyết tật", "Person with a disability"),
    ("pregnant", "Phụ nữ mang thai hoặc có con nhỏ", "Pregnant woman or parent with a small child"),
    ("merit", "Người có công với cách mạng", "Person with meritorious service to the revolution"),
]

#: the demo center of DESIGN.md, kept in the same file format as `layso config export`
DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_center.yaml"


def demo_config() -> dict[str, Any]:
    """The demo center's file, read."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    return data


_DEMO = demo_config()
DEMO_CENTER = (_DEMO["center"]["name"]["vi"], _DEMO["center"]["name"]["en"])
DEMO_SERVICES = [
    (s["prefix"], s["code"], s["name"]["vi"], s["name"]["en"],
     [(p["code"], p["name"]["vi"], p["name"]["en"]) for p in s.get("procedures") or []])
    for s in _DEMO["services"]]
DEMO_COUNTERS = [(c["number"], c["services"]) for c in _DEMO["counters"]]

PREFIX = re.compile(r"^[A-Z]{1,3}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: codes of services, procedures and categories: what URLs and the YAML file name them by
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


#: the name a new center bears until its admin gives it its own
DEFAULT_CENTER_NAME = ("Trung tâm Phục vụ hành chính công", "Public Administration Service Center")


def ensure_center(conn: Connection, name_vi: str = DEFAULT_CENTER_NAME[0],
                  name_en: str = DEFAULT_CENTER_NAME[1],
                  timezone: str = "Asia/Ho_Chi_Minh") -> None:
    """Create the center row and the event stream once; later calls change nothing."""
    if conn.execute(select(db.center.c.id)).first() is None:
        conn.execute(insert(db.center).values(
            id=1, name_vi=name_vi, name_en=name_en, timezone=timezone, priority_policy="strict",
            recall_limit=3, default_service_minutes=5, notice_vi="", notice_en="",
            speech_mode="words", speak_english=True))
    events.ensure_stream(conn, db.utcnow())
    for pos, (code, vi, en) in enumerate(DEFAULT_CATEGORIES):
        if conn.execute(select(db.priority_categories.c.id)
                        .where(db.priority_categories.c.code == code)).first() is None:
            conn.execute(insert(db.priority_categories).values(
                code=code, name_vi=vi, name_en=en, position=pos, active=True))


#: center settings and the rule each value must keep (columns of the center table)
CENTER_COLUMNS = ("name_vi", "name_en", "timezone", "priority_policy", "recall_limit",
                  "default_service_minutes", "notice_vi", "notice_en", "speech_mode",
                  "speak_english", "rating_scale", "citizen_daily_limit", "alert_queue_length",
                  "alert_pause_minutes", "alert_silent_minutes", "result_service")
#: the API's name of a column, for error details
_FIELD_OF = {"name_vi": "name", "name_en": "name", "notice_vi": "notice", "notice_en": "notice"}


def check_center_value(column: str, value: Any) -> Any:
    """The value a center setting will store (normalised), or Invalid naming the field."""
    field = _FIELD_OF.get(column, column)

    def bad(code: str, message: str) -> Invalid:
        return Invalid(code, message, field=field)

    if column not in CENTER_COLUMNS:
        raise Invalid("unknown_setting", f"Unknown settings: {column}", field=column)
    if column in ("name_vi", "name_en"):
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
            raise bad("invalid_name", "the center's name: 1-200 characters, vi and en")
        return clean_text(value, field, 200, code="invalid_name")
    if column in ("notice_vi", "notice_en"):
        if not isinstance(value, str) or len(value) > 500:
            raise bad("invalid_notice", "the notice is text of at most 500 characters")
        # the board scrolls the notice as one line: the text rules of a name
        return clean_text(value, field, 500, code="invalid_notice") if value else value
    if column == "priority_policy":
        return str(parse_policy(value))
    if column == "recall_limit":
        if not _whole(value, 0, 20):
            raise bad("invalid_recall_limit", "recall_limit must be 0-20")
        return value
    if column == "default_service_minutes":
        if not _whole(value, 1, 240):
            # a zero or negative mean would promise citizens no wait (or a negative one)
            raise bad("invalid_default_service_minutes",
                      "default_service_minutes must be a whole number of minutes, 1-240")
        return value
    if column == "speech_mode":
        if value not in ("words", "digits"):
            raise bad("invalid_speech_mode", "speech_mode must be words or digits")
        return value
    if column == "speak_english":
        if not isinstance(value, bool):
            raise bad("invalid_speak_english", "speak_english must be true or false")
        return value
    if column == "rating_scale":
        if value not in ("five", "three"):
            raise bad("invalid_rating_scale", "rating_scale must be five or three")
        return value
    if column == "result_service":
        # a service's code (that it exists is checked where the transaction can look)
        if value is not None and (not isinstance(value, str) or not CODE.match(value)):
            raise bad("invalid_result_service", "result_service must be a service code, or null")
        return value
    if column == "timezone":
        from zoneinfo import ZoneInfo
        try:
            if not isinstance(value, str) or not value or len(value) > 64:
                raise ValueError(value)
            ZoneInfo(value)
        except Exception as exc:
            raise bad("invalid_timezone", f"Unknown time zone {value!r}") from exc
        return value
    # citizen_daily_limit and the alerts' thresholds: null means none
    limits = {"citizen_daily_limit": 100, "alert_queue_length": 10000,
              "alert_pause_minutes": 24 * 60, "alert_silent_minutes": 24 * 60}
    if value is not None and not _whole(value, 1, limits[column]):
        raise bad(f"invalid_{column}",
                  f"{column} must be a whole number 1-{limits[column]}, or null")
    return value


def update_center(tx: Tx, **fields: Any) -> None:
    """Change center settings (name, time zone, policy, recall limit, notice, voice...)."""
    unknown = set(fields) - set(CENTER_COLUMNS)
    if unknown:
        raise Invalid("unknown_setting", f"Unknown settings: {', '.join(sorted(unknown))}")
    fields = {k: check_center_value(k, v) for k, v in fields.items()}
    tx.conn.execute(update(db.center).where(db.center.c.id == 1).values(**fields))
    tx._center = None
    if {"notice_vi", "notice_en"} & set(fields):
        tx.emit("notice.changed", {"notice": {"vi": tx.center.notice_vi,
                                              "en": tx.center.notice_en}})


#: the rule of each service setting (start_number, daily_cap, hours, prefix...)
def check_service_value(key: str, value: Any) -> Any:
    """The value a service setting will store, or Invalid naming the field."""
    def bad(code: str, message: str) -> Invalid:
        return Invalid(code, message, field=key)

    if key == "prefix":
        if not isinstance(value, str) or not PREFIX.match(value):
            raise bad("invalid_prefix", "prefix must be 1-3 capital letters")
    elif key in ("opens_at", "closes_at"):
        if value is not None and (not isinstance(value, str) or not HHMM.match(value)):
            raise bad("invalid_hours", f"{key} must be HH:MM")
    elif key == "start_number":
        # a start number below 1 printed labels such as "A-01"; text or a fraction broke
        # PostgreSQL
        if not _whole(value, 1, 10**6):
            raise bad("invalid_start_number", "start_number must be a whole number from 1")
    elif key == "daily_cap":
        if value is not None and not _whole(value, 0, 10**6):
            raise bad("invalid_daily_cap", "daily_cap must be a whole number from 0, or none")
    elif key == "target_wait_minutes":
        if not _whole(value, 1, 24 * 60):
            raise bad("invalid_target_wait_minutes",
                      "target_wait_minutes must be a whole number of minutes, 1-1440")
    elif key == "default_service_minutes":
        if value is not None and not _whole(value, 1, 240):
            raise bad("invalid_default_service_minutes",
                      "default_service_minutes must be 1-240 minutes, or null")
    elif key == "code":
        if not isinstance(value, str) or not CODE.match(value):
            raise bad("invalid_code", "code: 1-40 letters, digits, . _ and -")
    elif key == "position":
        if not _whole(value, 0, 10**6):
            raise bad("invalid_position", "position must be a whole number from 0")
    elif key == "active":
        if not isinstance(value, bool):
            raise bad("invalid_active", "active must be true or false")
    return value


def upsert_service(conn: Connection, code: str, prefix: str, name_vi: str, name_en: str,
                   position: int = 0, **extra: Any) -> int:
    """Create or update a service by code; returns its id."""
    check_service_value("prefix", prefix)
    for key, value in extra.items():
        check_service_value(key, value)
    values = {"code": code, "prefix": prefix, "name_vi": name_vi, "name_en": name_en,
              "position": position, **extra}
    row = conn.execute(select(db.services.c.id).where(db.services.c.code == code)).first()
    if row is None:
        values.setdefault("active", True)
        values.setdefault("target_wait_minutes", 30)
        values.setdefault("start_number", 1)
        return db.inserted_id(conn.execute(insert(db.services).values(**values)))
    conn.execute(update(db.services).where(db.services.c.id == row.id).values(**values))
    return int(row.id)


def _whole(value: Any, low: int, high: int) -> bool:
    """A whole number (not a bool) within [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def upsert_procedure(conn: Connection, service_id: int, code: str, name_vi: str, name_en: str,
                     position: int = 0) -> None:
    """Create or update a procedure of a service."""
    row = conn.execute(select(db.procedures.c.id).where(
        db.procedures.c.service_id == service_id, db.procedures.c.code == code)).first()
    values = {"name_vi": name_vi, "name_en": name_en, "position": position}
    if row is None:
        conn.execute(insert(db.procedures).values(service_id=service_id, code=code, **values))
    else:
        conn.execute(update(db.procedures).where(db.procedures.c.id == row.id).values(**values))


def upsert_counter(conn: Connection, number: int, service_codes: list[str], mode: str = "fifo",
                   name_vi: str | None = None, name_en: str | None = None) -> int:
    """Create or update a counter and the services it serves, in preference order."""
    if mode not in ("fifo", "ordered"):
        raise Invalid("invalid_mode", "mode must be fifo or ordered")
    name_vi = name_vi or f"Quầy {number}"
    name_en = name_en or f"Counter {number}"
    row = conn.execute(select(db.counters.c.id).where(db.counters.c.number == number)).first()
    if row is None:
        cid = db.inserted_id(conn.execute(insert(db.counters).values(
            number=number, name_vi=name_vi, name_en=name_en, mode=mode, state="closed",
            normal_streak=0)))
    else:
        cid = int(row.id)
        conn.execute(update(db.counters).where(db.counters.c.id == cid)
                     .values(name_vi=name_vi, name_en=name_en, mode=mode))
    conn.execute(delete(db.counter_services).where(db.counter_services.c.counter_id == cid))
    for pos, code in enumerate(service_codes):
        sid = conn.execute(select(db.services.c.id).where(db.services.c.code == code)).scalar()
        if sid is None:
            raise Invalid("unknown_service", f"No service {code!r}")
        conn.execute(insert(db.counter_services).values(counter_id=cid, service_id=sid,
                                                        position=pos))
    return cid


def seed_demo(conn: Connection) -> None:
    """The demo center of DESIGN.md (layso/demo_center.yaml): what is missing is created,
    what exists is left as the admin made it; running it twice changes nothing."""
    ensure_center(conn)
    data = demo_config()
    row = conn.execute(select(db.center.c.name_vi)).scalar_one()
    if row != data["center"]["name"]["vi"]:
        conn.execute(update(db.center).where(db.center.c.id == 1).values(
            name_vi=data["center"]["name"]["vi"], name_en=data["center"]["name"]["en"],
            timezone=data["center"]["timezone"]))
    for pos, s in enumerate(data["services"]):
        sid = conn.execute(select(db.services.c.id).where(db.services.c.code == s["code"])
                           ).scalar()
        if sid is None:
            sid = upsert_service(conn, s["code"], s["prefix"], s["name"]["vi"], s["name"]["en"],
                                 position=pos)
        for ppos, p in enumerate(s.get("procedures") or []):
            upsert_procedure(conn, sid, p["code"], p["name"]["vi"], p["name"]["en"], ppos)
    for c in data["counters"]:
        exists = conn.execute(select(db.counters.c.id).where(
            db.counters.c.number == c["number"])).first()
        if exists is None:
            upsert_counter(conn, c["number"], c["services"], c.get("mode", "fifo"),
                           c["name"]["vi"], c["name"]["en"])
