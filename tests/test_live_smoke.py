"""The real server starts, answers, and a socket client receives its snapshot."""

import socketio


def test_live_server_serves_api_and_socket(live_server) -> None:
    assert live_server.api("GET", "/health").json()["db"] == "ok"
    kiosk = live_server.device("Kiosk", "kiosk")
    r = live_server.api("POST", "/tickets", kiosk, json={"service": "land"})
    assert r.status_code == 201 and r.json()["label"] == "C001"
    got = []
    sio = socketio.Client()
    sio.on("snapshot", lambda data: got.append(data))
    sio.connect(live_server.url, auth={"channel": "board"}, transports=["websocket"])
    try:
        for _ in range(50):
            if got:
                break
            sio.sleep(0.1)
    finally:
        sio.disconnect()
    assert got and got[0]["waiting"]["land"] == 1
