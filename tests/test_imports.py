"""Every package imports on its own, in any order: no module depends on another having been
imported first (identity once imported the API, which imports identity)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

MODULES = (
    "layso", "layso.identity", "layso.auth", "layso.api", "layso.api.errors",
    "layso.api.audit", "layso.api.counters", "layso.admin", "layso.web", "layso.realtime",
    "layso.cli", "layso.queue", "kiosk", "kiosk.printing", "kiosk.print_agent",
    "kiosk.agents", "counter", "display", "printer_drivers",
)

ORDERS = {
    "each alone": [[m] for m in MODULES],
    "forward": [list(MODULES)],
    "reverse": [list(reversed(MODULES))],
    # the one that once broke: identity before the API that it imported and that imports it
    "identity, then the api": [["layso.identity", "layso.api.audit", "layso.api", "kiosk"]],
    "a resource before its package": [["layso.api.audit", "layso.identity", "layso.api"]],
    "the print agent's commands": [["kiosk.print_agent", "layso.cli"],
                                   ["kiosk.printing", "kiosk"]],
}


#: libraries the driver imports before it forks, so each order costs a fork rather than a
#: Python start and the whole web stack's imports (19 interpreters took 86 s on a busy box);
#: none of them imports a module of ours, so our modules still meet each other fresh
LIBRARIES = ("flask", "flask_socketio", "socketio", "engineio", "sqlalchemy", "werkzeug",
             "jinja2", "PIL.Image", "qrcode", "argon2", "openpyxl", "redis", "requests", "yaml")

DRIVER = """
import importlib, json, os, sys, traceback
for lib in json.loads(sys.argv[1]):
    importlib.import_module(lib)
ours = ("layso", "kiosk", "counter", "display", "printer_drivers")
def present():
    return sorted(m for m in sys.modules if m.split(".")[0] in ours)
for order in json.loads(sys.argv[2]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, json.dumps(present()).encode() + b"\\n")
        try:
            for m in order:
                importlib.import_module(m)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as r:
        before, _, err = r.read().decode().partition("\\n")
    status = os.waitpid(pid, 0)[1]
    print(json.dumps({"order": order, "ok": status == 0, "error": err,
                      "ours_before": json.loads(before or "null")}))
"""


def _import_fresh(orders: list[list[str]]) -> list[dict[str, Any]]:
    """Each order imported in a fresh fork of one interpreter that holds only the libraries."""
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(LIBRARIES),
                           json.dumps(orders)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_packages_import_in_any_order(name: str) -> None:
    results = _import_fresh(ORDERS[name])
    assert [r["order"] for r in results] == ORDERS[name]
    for r in results:
        assert r["ok"], f"importing {r['order']} failed:\n{r['error'][-2000:]}"


def test_one_interpreter_per_order_is_really_fresh() -> None:
    # the check itself must be able to fail: a module that does not exist is an error; and each
    # order starts with none of our modules loaded, whatever the order before it imported
    results = _import_fresh([["layso.identity", "layso.no_such_module"], ["layso.cli"],
                             ["layso.identity"]])
    assert not results[0]["ok"] and "no_such_module" in results[0]["error"]
    assert results[1]["ok"] and results[2]["ok"]
    assert [r["ours_before"] for r in results] == [[], [], []]
