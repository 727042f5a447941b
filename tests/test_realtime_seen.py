"""A device that only listens on its socket is alive: the hub notes it as seen, and the
supervisors' silence alert reads that; the tablets hear a change of the center's settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from layso import db
from tests.test_realtime import received, rt, sio


def seen(app: Any, name: str) -> Any:
    with app.extensions["layso"].db.read() as conn:
        return conn.execute(select(db.devices.c.last_seen_at)
                            .where(db.devices.c.name == name)).scalar()


def test_open_sockets_of_devices_count_as_seen(app, tokens, clock):
    with app.extensions["layso"].db.write() as conn:
        conn.execute(update(db.devices).values(last_seen_at=None))
    kiosk = sio(app, channel="board", token=tokens["kiosk"])
    board = sio(app, channel="board")  # a board with no token: nothing to note
    assert kiosk.is_connected() and board.is_connected()
    clock.advance(minutes=3)
    rt(app).note_connected_devices()
    assert seen(app, "Kiosk 1") == clock.now
    assert seen(app, "Board 1") is None
    kiosk.disconnect()
    clock.advance(minutes=3)
    rt(app).note_connected_devices()
    assert seen(app, "Kiosk 1") == clock.now - timedelta(minutes=3)


def test_tablets_hear_the_center_change(app, api, tokens):
    tablet = sio(app, channel="feedback", token=tokens["feedback"])
    received(tablet)
    r = api["adm"].client.patch("/api/v1/center", json={"rating_scale": "three"},
                                headers=api["adm"]._headers())
    assert r.status_code == 200
    [ev] = received(tablet, "config.changed")
    assert ev["what"] == "center" and "changes" not in ev
