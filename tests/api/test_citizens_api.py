"""The ID card number through the API (limited, never stored, logged or answered) and the
dossier code (staff see it; the board, the phone and the printed ticket never do)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from layso import db
from layso.queue import SYSTEM, admin, citizens
from tests.test_realtime import received, sio, token_of

ID = "001089012345"
DOSSIER = "000.00.17.H56-251202-0007"


def limit(api: dict[str, Any], n: int | None) -> None:
    r = api["adm"].client.patch("/api/v1/center", json={"citizen_daily_limit": n},
                                headers={"Authorization": f"Bearer {api['adm'].token}"})
    assert r.status_code == 200, r.get_json()


def data_files(app: Any) -> bytes:
    """Every byte of every file in the data directory: the database, its WAL, logs."""
    out = b""
    for f in sorted(Path(app.config["DATA_DIR"]).rglob("*")):
        if f.is_file():
            out += f.read_bytes()
    return out


def test_the_limit_answers_409_with_what_to_do(api) -> None:
    assert api["anon"].get("/center").get_json()["citizen_daily_limit"] is None
    limit(api, 1)
    # the kiosk reads it without logging in: it sends a card's number only under a limit
    assert api["anon"].get("/center").get_json()["citizen_daily_limit"] == 1
    r = api["kiosk"].post("/tickets", json={"service": "land", "citizen_id": ID})
    assert r.status_code == 201
    assert ID not in r.get_data(as_text=True) and "citizen_id" not in r.get_json()
    r = api["kiosk"].post("/tickets", json={"service": "land", "citizen_id": ID})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "citizen_limit" and err["details"] == {"limit": 1}
    assert "wait to be called with the number you have" in err["message"]
    # staff issuing on a citizen's behalf are held to it too; other services are not
    assert api["o1"].post("/tickets", json={"service": "land", "citizen_id": ID}
                          ).status_code == 409
    assert api["o1"].post("/tickets", json={"service": "social", "citizen_id": ID}
                          ).status_code == 201


def test_a_bad_id_is_422_and_never_echoed(api) -> None:
    for bad in ("12345", "00108901234a", "0010890123456"):
        r = api["kiosk"].post("/tickets", json={"service": "land", "citizen_id": bad})
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_citizen_id"
        assert bad not in r.get_data(as_text=True)
    r = api["kiosk"].post("/tickets", json={"service": "land", "citizen_id": 1089012345})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_field"


def test_the_id_number_appears_in_no_file_log_or_answer(app, api, clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    limit(api, 1)
    answers = []
    for body, key in (({"service": "land", "citizen_id": ID}, "k1"),
                      ({"service": "land", "citizen_id": ID}, "k1"),  # a retry: replayed
                      ({"service": "land", "citizen_id": ID}, "k2"),  # over the limit
                      ({"service": "land", "citizen_id": ID[:-1]}, None),  # invalid
                      ({"service": "social", "citizen_id": ID, "x": 1}, None)):  # unknown field
        headers = {"Idempotency-Key": key} if key else {}
        r = api["kiosk"].post("/tickets", json=body, headers=headers)
        answers.append(r.get_data())
    assert [json.loads(a).get("label") for a in answers[:2]] == ["C001", "C001"]
    for path in ("/queue", "/board", "/center", "/reports/day"):
        answers.append(api["adm"].get(path).get_data())
    center = app.extensions["layso"]
    with center.read() as r:
        nonce = r.conn.execute(select(db.citizen_days.c.nonce)).scalar_one()
        digest = r.conn.execute(select(db.citizen_counts.c.digest)).scalar_one()
        rows = {t.name: r.conn.execute(select(t)).all() for t in db.metadata.sorted_tables}
    for needle in (ID, ID[:-1]):
        assert not any(needle.encode() in a for a in answers)
        assert needle not in caplog.text
        assert needle not in repr(rows)
        assert needle.encode() not in data_files(app)
    # the day ends with nobody taking a number after it: its key and hashes go, also from
    # the file's free pages and its write-ahead log
    assert nonce.encode() in data_files(app) or digest.encode() in data_files(app)
    clock.advance(days=1)
    assert citizens.forget_if_ended(center) == 1
    blob = data_files(app)
    assert nonce.encode() not in blob and digest.encode() not in blob


def test_the_center_names_its_service_for_results(api) -> None:
    h = {"Authorization": f"Bearer {api['adm'].token}"}
    patch = api["adm"].client.patch
    r = patch("/api/v1/center", json={"result_service": "nowhere"}, headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_service"
    r = patch("/api/v1/center", json={"result_service": "x y"}, headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_result_service"
    assert patch("/api/v1/center", json={"result_service": "certification"},
                 headers=h).status_code == 200
    # the kiosk reads it without logging in
    assert api["anon"].get("/center").get_json()["result_service"] == "certification"
    assert patch("/api/v1/center", json={"result_service": None}, headers=h).status_code == 200
    assert api["anon"].get("/center").get_json()["result_service"] is None


def test_result_service_travels_in_the_config_file(app) -> None:
    center = app.extensions["layso"]
    with center.write() as tx:
        admin.update_center(tx, SYSTEM, {"result_service": "certification"})
    with center.read() as r:
        exported = admin.export_config(r)
    assert exported["center"]["result_service"] == "certification"
    with center.write() as tx:
        admin.update_center(tx, SYSTEM, {"result_service": None})
        # a file may name a service it creates itself: the setting is applied after them
        exported["services"].append({"code": "results", "prefix": "K",
                                     "name": {"vi": "Trả kết quả", "en": "Results"}})
        exported["center"]["result_service"] = "results"
        changes = admin.import_config(tx, SYSTEM, exported)
    assert changes[-1] == "center.updated center"
    with center.read() as r:
        assert admin.center_view(r)["result_service"] == "results"


def test_the_dossier_never_reaches_a_board_a_phone_or_the_public_view(app, api, tokens) -> None:
    assert api["o1"].post("/counters/1/open").status_code == 200
    board = sio(app, channel="board")
    staff = sio(app, channel="counter", token=tokens["o1"])
    received(board), received(staff)
    # a citizen collects a result: the kiosk issues with the receipt's code
    r = api["kiosk"].post("/tickets", json={"service": "certification", "dossier": DOSSIER})
    assert r.status_code == 201
    pickup = r.get_json()
    assert pickup["dossier"] == DOSSIER
    phone = sio(app, channel="ticket", ticket=token_of(pickup))
    # the official sees which dossier to fetch before the citizen reaches the counter
    queue = api["o1"].get("/queue?counter=1").get_json()["items"]
    assert [t["dossier"] for t in queue] == [DOSSIER]
    assert api["o1"].post("/counters/1/call-next").get_json()["dossier"] == DOSSIER
    assert api["o1"].get("/counters/1").get_json()["current"]["dossier"] == DOSSIER
    assert api["o1"].post("/counters/1/start").status_code == 200
    # and another visit whose dossier the official records on complete
    assert api["o1"].post("/counters/1/complete", json={"outcome": "result_returned"}
                          ).status_code == 200
    api["kiosk"].post("/tickets", json={"service": "civil-status"})
    assert api["o1"].post("/counters/1/call-next").status_code == 200
    assert api["o1"].post("/counters/1/start").status_code == 200
    r = api["o1"].post("/counters/1/complete", json={"outcome": "received", "dossier": "bad code"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_dossier"
    r = api["o1"].post("/counters/1/complete",
                       json={"outcome": "received", "dossier": "000.00.17.H56-251202-0008"})
    assert r.status_code == 200 and r.get_json()["dossier"] == "000.00.17.H56-251202-0008"
    public_view = api["anon"].get("/tickets/" + token_of(pickup)).get_json()
    assert "dossier" not in public_view and public_view["label"] == pickup["label"]
    everything = json.dumps([received(board), received(phone), received(staff),
                             api["anon"].get("/board").get_json(), public_view])
    assert "H56" not in everything
    assert "dossier" not in everything
