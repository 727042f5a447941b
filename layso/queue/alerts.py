"""Live supervision: what a supervisor should look at now, worked out from the state.

An alert is not stored: it is what the queue, the counters, the printers and the devices say
at this moment, so it appears when the condition starts and clears by itself when it ends.
Each alert has a `key` that stays the same while its condition lasts (the dashboard sounds a
short tone only for a key it has not shown yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from layso import db
from layso.queue import reading
from layso.queue.unit import Reader

KINDS = ("wait_over_target", "queue_long", "service_unserved", "counter_paused", "printer",
         "device_silent", "clock")
#: printer states that stop tickets from printing (bad), and the one that soon will (warn)
PRINTER_BAD = {"paper_out": ("Máy in hết giấy", "out of paper"),
               "cover_open": ("Máy in đang mở nắp", "cover open"),
               "offline": ("Máy in không phản hồi", "not answering")}
PRINTER_WARN = {"paper_near_end": ("Máy in sắp hết giấy", "paper low")}
DEVICE_KINDS = {"kiosk": ("Máy lấy số", "Kiosk"), "display": ("Bảng hiển thị", "Board")}


def _minutes(since: datetime | None, now: datetime) -> int:
    return 0 if since is None else max(int((now - since).total_seconds() // 60), 0)


def _alert(kind: str, key: str, severity: str, vi: str, en: str, since: datetime | None,
           r: Reader, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "key": f"{kind}:{key}", "severity": severity,
            "message": {"vi": vi, "en": en}, "since": reading.iso(r, since), **extra}


def _unserved(r: Reader, services: Mapping[int, Any], waiting: Mapping[int, int]
              ) -> list[dict[str, Any]]:
    """A service in use that no counter takes: the kiosk issues no number for it, and anyone
    already waiting in it (a counter dropped it meanwhile) can never be called: that is bad."""
    served = reading.served_service_ids(r)
    out = []
    for s in sorted(services.values(), key=lambda s: (s.position, s.id)):
        if not s.active or s.id in served:
            continue
        n = waiting.get(s.id, 0)
        stranded_vi = f"; {n} công dân đang chờ không quầy nào gọi được" if n else ""
        stranded_en = f"; {n} waiting citizens cannot be called" if n else ""
        out.append(_alert(
            "service_unserved", s.code, "bad" if n else "warn",
            f"{s.name_vi}: chưa quầy nào tiếp nhận, máy lấy số không cấp số{stranded_vi}",
            f"{s.name_en}: no counter takes it, the kiosk issues no number{stranded_en}",
            None, r, service=reading.service_brief(s), waiting=n))
    return out


def alerts(r: Reader, printers: Mapping[str, str] | None = None,
           clock_drift: float = 0.0) -> list[dict[str, Any]]:
    """The alerts of this moment, the most serious first.

    `printers` maps a printer's name (a kiosk's, or "" for the center's) to its status; the
    print workers know it, the database does not. `clock_drift` is how far the wall clock
    jumped against the monotonic clock (the center's clock guard; 0: it agrees). Thresholds
    are the center's settings; a null threshold turns its alert off (the wait's target is
    each service's own).
    """
    now, c = r.now, r.center
    out: list[dict[str, Any]] = []
    services = reading.services_by_id(r)
    day = r.shown_day()
    waiting: dict[int, int] = {}
    if day is not None:
        t = db.tickets.c
        rows = r.conn.execute(
            select(t.service_id, func.count().label("n"), func.min(t.issued_at).label("oldest"))
            .where(t.day_id == day.id, t.state == "waiting").group_by(t.service_id)).all()
        waiting = {row.service_id: int(row.n) for row in rows}
        for row in sorted(rows, key=lambda x: (services[x.service_id].position, x.service_id)):
            s = services[row.service_id]
            waited = _minutes(row.oldest, now)
            service = reading.service_brief(s)
            if waited > s.target_wait_minutes:
                out.append(_alert(
                    "wait_over_target", s.code, "bad",
                    f"{s.name_vi}: công dân chờ lâu nhất {waited} phút "
                    f"(mục tiêu {s.target_wait_minutes} phút)",
                    f"{s.name_en}: the longest wait is {waited} min "
                    f"(target {s.target_wait_minutes} min)", row.oldest, r,
                    service=service, minutes=waited, target=s.target_wait_minutes))
            limit = c.alert_queue_length
            if limit is not None and row.n > limit:
                out.append(_alert(
                    "queue_long", s.code, "warn",
                    f"{s.name_vi}: {row.n} công dân đang chờ (ngưỡng {limit})",
                    f"{s.name_en}: {row.n} citizens waiting (threshold {limit})", None, r,
                    service=service, waiting=int(row.n), threshold=limit))
    out.extend(_unserved(r, services, waiting))
    if c.alert_pause_minutes is not None:
        for k in sorted(reading.counters_by_id(r).values(), key=lambda k: k.number):
            paused = _minutes(k.changed_at, now)
            if k.active and k.state == "paused" and paused > c.alert_pause_minutes:
                why = f" ({k.pause_reason})" if k.pause_reason else ""
                out.append(_alert(
                    "counter_paused", str(k.number), "warn",
                    f"{k.name_vi} tạm dừng {paused} phút{why}",
                    f"{k.name_en} paused for {paused} min{why}", k.changed_at, r,
                    counter={"number": k.number, "name": reading.name(k)}, minutes=paused,
                    threshold=c.alert_pause_minutes))
    for name, status in sorted((printers or {}).items()):
        words = PRINTER_BAD.get(status) or PRINTER_WARN.get(status)
        if words is None:
            continue
        where_vi = f" ({name})" if name else ""
        out.append(_alert(
            "printer", name or "center", "bad" if status in PRINTER_BAD else "warn",
            f"{words[0]}{where_vi}", f"Printer {words[1]}{where_vi}", None, r,
            printer={"name": name, "state": status}))
    if c.alert_silent_minutes is not None:
        d = db.devices.c
        for dev in r.conn.execute(select(db.devices).where(
                d.active.is_(True), d.kind.in_(tuple(DEVICE_KINDS)), d.last_seen_at.isnot(None))
                .order_by(d.kind, d.name)):
            silent = _minutes(dev.last_seen_at, now)
            if silent > c.alert_silent_minutes:
                vi, en = DEVICE_KINDS[dev.kind]
                out.append(_alert(
                    "device_silent", str(dev.id), "warn",
                    f"{vi} “{dev.name}” mất liên lạc {silent} phút",
                    f"{en} “{dev.name}” silent for {silent} min", dev.last_seen_at, r,
                    device={"id": dev.id, "name": dev.name, "kind": dev.kind},
                    minutes=silent, threshold=c.alert_silent_minutes))
    if clock_drift:
        # no business day opens from a jumped clock; someone must set the server's time right
        minutes = max(round(abs(clock_drift) / 60), 1)
        vi_way, en_way = ("nhanh", "ahead") if clock_drift > 0 else ("chậm", "behind")
        out.append(_alert(
            "clock", "server", "bad",
            f"Đồng hồ máy chủ nhảy {vi_way} {minutes} phút: số mới vẫn thuộc ngày đang làm; "
            "hãy kiểm tra giờ của máy chủ",
            f"The server's clock jumped {minutes} min {en_way}: new numbers stay in the day "
            "being worked; check the server's time", None, r,
            drift_seconds=round(clock_drift)))
    out.sort(key=lambda a: 0 if a["severity"] == "bad" else 1)  # stable: kinds keep order
    return out
