"""Where a command's CPU goes, by kind of process: run it and read every process's CPU time.

    .venv/bin/python bench/suite_cpu.py -- .venv/bin/python -m pytest -n auto -q -p no:cacheprovider

`/usr/bin/time` counts only the children a process reaps; Chromium's processes, for one, are
not reaped into pytest's. This reads /proc twice a second while the command runs, for every
process on the box (a pid and its start time are one process; its kind is taken from its
command line when first seen, so `layso run`'s first interpreter keeps its kind after it
becomes the patched one), and prints each kind's CPU-seconds at the end, with the wall time.
A process that lives less than half a second may be missed; what ran beside the command is
counted too (its kinds say so). Linux only.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def kind(args: str, comm: str) -> str:
    """A process's kind, from its command line (and its name when it has none)."""
    if "sys.stdin.readline" in args:
        return "pytest workers (xdist)"
    if "-m pytest" in args:
        return "pytest (controller)"
    if "layso.cli run" in args or " -P -c " in args:
        return "layso run servers (gunicorn's arbiter and worker)"
    if "layso.cli" in args or "/layso " in args:
        return "layso commands"
    if "chrom" in comm or "chrom" in args:
        for part in ("renderer", "gpu-process", "utility", "zygote"):
            if f"--type={part}" in args:
                return f"chromium {part}"
        return "chromium browser"
    if comm == "node" or "playwright" in args:
        return "playwright driver"
    if "postgres" in comm:
        return "postgresql"
    if "redis" in comm:
        return "redis"
    if "gunicorn" in args or (comm.startswith("python") and "layso" in args):
        return "python (other layso)"
    if comm.startswith(("python", "pytho")):
        return "python (other)"
    return f"other: {comm}"


def read_all() -> dict[tuple[str, str], tuple[str, float]]:
    """(pid, start time) -> (command line, CPU-seconds) of every process now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        close = stat.rfind(")")
        comm = stat[stat.find("(") + 1:close]
        fields = stat[close + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        out[(pid, fields[19])] = (kind(args, comm), cpu)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=float, default=0.5, help="seconds between readings")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="the command (after --)")
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the command to measure after --")
    seen: dict[tuple[str, str], tuple[str, float]] = {}
    before = read_all()
    start = time.monotonic()
    proc = subprocess.Popen(command)
    while proc.poll() is None:
        for key, (k, cpu) in read_all().items():
            first = seen.get(key)
            seen[key] = (first[0] if first else k, cpu)
        time.sleep(args.every)
    wall = time.monotonic() - start
    totals: collections.Counter[str] = collections.Counter()
    for key, (k, cpu) in seen.items():
        # what a process that was already running had spent before the command is not its
        totals[k] += cpu - (before[key][1] if key in before else 0.0)
    print(f"\nexit status {proc.returncode}; wall {wall:.1f} s; {os.cpu_count()} CPUs", flush=True)
    print(f"{'CPU-s':>8}  kind of process")
    for k, cpu in totals.most_common():
        if cpu >= 0.05:
            print(f"{cpu:8.1f}  {k}")
    total = sum(totals.values())
    print(f"{total:8.1f}  in all ({100 * total / (wall * (os.cpu_count() or 1)):.0f} % of the "
          "box's CPU over the wall time)")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
