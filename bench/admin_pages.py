"""How long the services and counters pages take in Debian's Chromium with a catalogue of 70
services and 420 procedures (a real server on 127.0.0.1, SQLite). Prints figures; never asserts."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live import LiveServer  # noqa: E402

LETTERS = [a + b for a in "ABCDEFGHKLMNPQRSTVXY" for b in ("", "A", "B", "C")]


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "bench")
        server.cli("init")
        server.cli("user", "add", "quantri", "--role", "admin",
                   env={"LAYSO_PASSWORD": "password-123"})
        server.start()
        token = server.login("quantri", "password-123")
        for i in range(70):
            procs = [{"code": f"p{i}-{j}", "name": {"vi": f"Thủ tục {i}.{j}", "en": f"P {i}.{j}"}}
                     for j in range(6)]
            r = server.api("post", "/services", token, json={
                "code": f"s{i}", "prefix": LETTERS[i], "procedures": procs,
                "name": {"vi": f"Lĩnh vực số {i}", "en": f"Service {i}"}})
            r.raise_for_status()
        for n in range(1, 21):
            server.api("post", "/counters", token, json={
                "number": n, "services": [f"s{(n * 3 + k) % 70}" for k in range(4)]}
                       ).raise_for_status()
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1366, "height": 768})
            page = ctx.new_page()
            page.goto(server.url + "/login?next=/admin/services")
            page.fill("#username", "quantri")
            page.fill("#password", "password-123")
            page.click("#login-submit")
            page.wait_for_url(lambda u: "/login" not in u)
            for name, rows in (("services", 70), ("counters", 20)):
                took = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    page.goto(server.url + f"/admin/{name}")
                    page.wait_for_function(
                        f"document.querySelectorAll('#list tbody tr').length === {rows}")
                    took.append((time.perf_counter() - t0) * 1000)
                print(f"/admin/{name} ({rows} rows) to rendered: median "
                      f"{statistics.median(took):.0f} ms, max {max(took):.0f} ms "
                      f"over {rounds} loads")
            page.goto(server.url + "/admin/services")
            page.wait_for_selector("#list tbody tr")
            t0 = time.perf_counter()
            page.fill("#filter", "thu tuc 42.3")
            page.wait_for_function("[...document.querySelectorAll('#list tbody tr')]"
                                   ".filter(r => !r.hidden).length === 1")
            print(f"search box, 70 services and 420 procedures: "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")
            b.close()
        server.kill()


if __name__ == "__main__":
    main()
