"""Every package imports on its own, in any order: no module depends on another having been
imported first (identity once imported the API, which imports identity)."""

from __future__ import annotations

import subprocess
import sys

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


def _import_fresh(order: list[str]) -> subprocess.CompletedProcess[str]:
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    return subprocess.run([sys.executable, "-c", code, *order], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_packages_import_in_any_order(name: str) -> None:
    for order in ORDERS[name]:
        done = _import_fresh(order)
        assert done.returncode == 0, f"importing {order} failed:\n{done.stderr[-2000:]}"


def test_one_interpreter_per_order_is_really_fresh() -> None:
    # the check itself must be able to fail: a module that does not exist is an error
    assert _import_fresh(["layso.identity", "layso.no_such_module"]).returncode != 0
