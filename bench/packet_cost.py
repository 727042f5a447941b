"""What one Socket.IO packet costs to build and encode, in-process: a phone's `ticket.updated`
and a board's `ticket.called` from the demo center, with python-socketio's default packet and
with the server's (`layso.realtime.TextPacket`, no walk for binary attachments), each with the
JSON module the server uses (Flask's provider, as `layso/realtime.py` passes it).

    .venv/bin/python bench/packet_cost.py [--packets 20000] [--rounds 7]

It prints the median, p95 and best of the rounds in µs per packet, and the packet's bytes; it
never asserts them. A call at 500 clients builds one packet per waiting phone (each carries its
own place) and one per board event (shared by every board).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def messages() -> tuple[Any, dict[str, dict[str, Any]]]:
    """The app's JSON provider, and a waiting ticket's public view and a call's board event
    from a demo center."""
    from layso import create_app
    from layso.queue import public, reading

    data = tempfile.mkdtemp(prefix="layso-bench-packet-")
    subprocess.run([sys.executable, "-m", "layso.cli", "init", "--demo"], check=True,
                   capture_output=True, env={**os.environ, "LAYSO_DATA_DIR": data})
    app = create_app({"DATA_DIR": data, "PUBLIC_URL": "http://layso.test",
                      "SECRET_KEY": "bench"})
    app.extensions["layso_realtime"].stop()
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "lanhdao", "password": "layso-demo"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    urls = [client.post("/api/v1/tickets", json={"service": "land"}, headers=auth).json[
        "status_url"] for _ in range(2)]
    client.post("/api/v1/counters/3/open", headers=auth)
    called = client.post("/api/v1/counters/3/call-next", headers=auth).json
    with app.extensions["layso"].read() as r:
        row = reading.ticket_by_token(r, urls[1].rsplit("/", 1)[1])
        view = reading.ticket_view(r, row, public=True)
    phone = {"type": "ticket.updated", "epoch": "e", "seq": 7, "at": "2026-12-04T09:00:00+07:00",
             "ticket": view}
    board = public.event({"type": "ticket.called", "epoch": "e", "seq": 6,
                          "at": "2026-12-04T09:00:00+07:00", "ticket": called,
                          "counter": {"number": 3, "name": "Quầy 3"}})
    return app.json, {"phone ticket.updated": phone, "board ticket.called": board}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    from socketio.packet import EVENT, Packet

    from layso.realtime import TextPacket

    json_module, msgs = messages()
    for name, msg in msgs.items():
        for cls in (Packet, TextPacket):
            cls.json = json_module
            encoded = cls(EVENT, namespace="/", data=[name.split()[1], msg]).encode()
            rounds = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                for _ in range(args.packets):
                    cls(EVENT, namespace="/", data=[name.split()[1], msg]).encode()
                rounds.append((time.perf_counter() - t0) / args.packets * 1e6)
            rounds.sort()
            p95 = rounds[min(len(rounds) - 1, round(0.95 * len(rounds) + 0.5) - 1)]
            print(f"{name:22} {cls.__name__:10} median {statistics.median(rounds):6.2f} µs  "
                  f"p95 {p95:6.2f}  best {rounds[0]:6.2f}  ({len(encoded)} bytes, "
                  f"{args.packets} packets x {args.rounds} rounds)")


if __name__ == "__main__":
    main()
