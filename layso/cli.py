"""The `layso` command: init, run, config, user, device, printer test."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from layso import config as config_mod


def _database(cfg: dict[str, Any]) -> Any:
    from layso.db import Database

    return Database(cfg["DATABASE_URL"])


def init_db(cfg: dict[str, Any], demo: bool = False) -> None:
    """Create or upgrade the database; with demo, seed the demo center (idempotently)."""
    from layso.migrations import upgrade
    from layso.queue import catalog

    database = _database(cfg)
    try:
        upgrade(database.engine)
        with database.write() as conn:
            catalog.ensure_center(conn, timezone=cfg["TIMEZONE"])
            if demo:
                catalog.seed_demo(conn)
                _demo_accounts(conn)
                _demo_devices(conn, cfg)
    finally:
        database.dispose()


DEMO_USERS = [
    ("admin", "admin", "Quản trị hệ thống"),
    ("lanhdao", "supervisor", "Lãnh đạo Trung tâm"),
    ("canbo1", "officer", "Cán bộ Quầy 1"),
    ("canbo2", "officer", "Cán bộ Quầy 2"),
    ("canbo3", "officer", "Cán bộ Quầy 3"),
]
DEMO_PASSWORD = "layso-demo"


def _demo_accounts(conn: Any) -> None:
    from sqlalchemy import select

    from layso import auth, db

    for username, role, name in DEMO_USERS:
        if conn.execute(select(db.users.c.id).where(db.users.c.username == username)).first():
            continue
        auth.add_user(conn, username, DEMO_PASSWORD, role, name)


DEMO_DEVICES = [("Kiosk sảnh chờ", "kiosk", None), ("Bảng gọi số", "display", None),
                ("Máy đánh giá Quầy 1", "feedback", 1)]
DEMO_DEVICES_FILE = "demo-devices.txt"


def _demo_devices(conn: Any, cfg: dict[str, Any]) -> None:
    """Enrol the demo's kiosk, board and feedback tablet once; keep their tokens for the demo."""
    from pathlib import Path

    from sqlalchemy import select

    from layso import auth, db

    path = Path(cfg["DATA_DIR"]) / DEMO_DEVICES_FILE
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)  # on PostgreSQL nothing else made it
    lines = []
    for name, kind, counter in DEMO_DEVICES:
        counter_id = None
        if counter is not None:
            counter_id = conn.execute(select(db.counters.c.id).where(
                db.counters.c.number == counter)).scalar()
        token = auth.add_device(conn, name, kind, counter_id)
        lines.append(f"{kind:9} {token}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def _has_admin(cfg: dict[str, Any]) -> bool:
    """Whether the center has an active administrator."""
    from layso.db import utcnow
    from layso.queue.admin import active_admins
    from layso.queue.unit import Reader

    database = _database(cfg)
    try:
        with database.read() as conn:
            return active_admins(Reader(conn=conn, now=utcnow())) > 0
    finally:
        database.dispose()


def again(argv0: str | None = None, environ: Any = None) -> str:
    """How to run this command again from the same shell: with the data directory and
    database it was given (a next step run without them sets up another center) and by the
    path it was called with when that is not the `layso` on PATH (`.venv/bin/layso`)."""
    import shlex
    import shutil

    argv0 = sys.argv[0] if argv0 is None else argv0
    environ = os.environ if environ is None else environ
    words = [f"{k}={shlex.quote(environ[k])}" for k in ("LAYSO_DATA_DIR", "LAYSO_DATABASE_URL")
             if environ.get(k)]
    me = "layso"
    if os.path.basename(argv0) == "layso" and "/" in argv0:
        on_path = shutil.which("layso", path=environ.get("PATH"))
        if on_path is None or os.path.realpath(on_path) != os.path.realpath(argv0):
            me = shlex.quote(argv0)
    return " ".join([*words, me])


def cmd_init(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    init_db(cfg, demo=args.demo)
    print(f"Database ready: {_safe_url(cfg['DATABASE_URL'])}")
    if not args.demo and not _has_admin(cfg):
        # a new center's next step, which nothing else would tell (docs/operations.md)
        me = again()
        print("Next: create the first administrator (it asks for the password; without a "
              "terminal set LAYSO_PASSWORD):\n"
              f"  {me} user add quantri --role admin --name \"Quản trị viên\"\n"
              f"then start the server ({me} run) and open /admin/ to set the center up.")
    if args.demo:
        print("Demo center seeded: services A–F, counters 1–5.")
        print(f"Demo accounts (password {DEMO_PASSWORD}): "
              + ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS))
        from pathlib import Path

        tokens = Path(cfg["DATA_DIR"]) / DEMO_DEVICES_FILE
        if tokens.exists():
            print("Demo device tokens (enter one on the kiosk or feedback tablet's first screen):")
            for line in tokens.read_text().splitlines():
                print("  " + line)
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_run(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    from layso import concurrency, server

    worker = str(cfg["WORKER"])
    if worker not in server.WORKERS:
        print(f"error: LAYSO_WORKER must be one of {', '.join(server.WORKERS)}, not "
              f"{worker!r}", file=sys.stderr)
        return 1
    if worker == "gevent" and not concurrency.gevent_patched():
        # before anything else is imported: this process becomes a fresh interpreter patched
        # first, which runs this same command (layso.server.BOOT) and never returns here
        server.become_patched(args.argv)

    from layso import web
    from layso.db import DataDirBusy, hold_data_dir

    missing = web.missing_browser_files()
    if missing:
        # a plain `pip install .` of a fresh checkout has no socket client: every page would
        # load and never update, silently
        print(f"error: the browser files are missing ({', '.join(missing)} in "
              f"{web.VENDOR_DIR}); {web.BUILD_HINT}", file=sys.stderr)
        return 1

    try:
        # held for the server's life (gunicorn's worker, forked, inherits it): `layso restore`
        # refuses meanwhile
        hold_data_dir(cfg["DATA_DIR"], exclusive=False)
    except DataDirBusy:
        print("error: a restore is running on this data directory; start the server after it",
              file=sys.stderr)
        return 1
    init_db(cfg, demo=False)
    derived = None
    if not config_mod.public_url_set():
        # the QR links must reach the server that printed them, whatever --host/--port say
        derived = cfg["PUBLIC_URL"] = config_mod.derived_public_url(args.host, args.port)
        origin = "from --host/--port; set LAYSO_PUBLIC_URL to change it"
    else:
        origin = "LAYSO_PUBLIC_URL"
    base = f"http://{args.host}:{args.port}"
    print(f"Public address (QR links on tickets): {cfg['PUBLIC_URL']}  ({origin})")
    if cfg["PUBLIC_URL"].startswith(("http://127.", "http://localhost", "http://[::1]")):
        print("  note: phones cannot open a 127.0.0.1 address; serve the LAN through nginx "
              "(docs/operations.md, \"Behind nginx\") and set LAYSO_PUBLIC_URL to its address")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        # no limit per address in front: on the center's open Wi-Fi a few phones can open
        # connections without end (and hold every thread of gthread, docs/benchmarks.md)
        print(f"  warning: listening on {args.host} directly; any phone on the Wi-Fi can fill "
              "the server's connections with slow ones. Put nginx in front (docs/"
              "operations.md, \"Behind nginx\") and keep --host 127.0.0.1", file=sys.stderr)
    print(f"Printer: {cfg['PRINTER']}  (kiosks with their own printer: /admin/devices)")
    if worker == "gevent":
        print(f"Server: gevent, {cfg['CONNECTIONS']} connections at most  (LAYSO_WORKER, "
              "LAYSO_CONNECTIONS)")
    else:
        print(f"Server: gthread, {cfg['THREADS']} threads  (LAYSO_WORKER, LAYSO_THREADS)")
    print("Lấy Số is running:")
    for label, path in (("Kiosk", "/kiosk/"), ("Board", "/display/"), ("Counter", "/counter/"),
                        ("Feedback", "/counter/feedback"), ("Admin", "/admin/"),
                        ("API", "/api/v1/openapi.json")):
        print(f"  {label:9} {base}{path}")
    sys.stdout.flush()
    server.serve(args.host, args.port, threads=cfg["THREADS"], public_url=derived,
                 worker=worker, connections=cfg["CONNECTIONS"])
    return 0


def cmd_user_add(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    from layso import auth
    from layso.queue import QueueError

    password = _read_password()
    if password is None:
        return 2
    init_db(cfg)
    database = _database(cfg)
    try:
        with database.write() as conn:
            auth.add_user(conn, args.username, password, args.role, args.name or "")
    except QueueError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"User {args.username} ({args.role}) added.")
    return 0


def _center(cfg: dict[str, Any]) -> Any:
    """The center on the configured database (migrated first), for the commands that change
    its configuration through the same domain functions as the API."""
    from layso.db import Database
    from layso.events import Hub
    from layso.queue import Center

    init_db(cfg)
    return Center(Database(cfg["DATABASE_URL"]), Hub(), public_url=cfg["PUBLIC_URL"])


#: who the audit trail names for a change made with the `layso` command
def _cli_actor() -> Any:
    from layso.queue import Actor

    return Actor(kind="system", role="admin", name="layso (command line)")


def _read_password(prompt: str = "Password: ") -> str | None:
    password = os.environ.get("LAYSO_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        print("error: set LAYSO_PASSWORD or run in a terminal", file=sys.stderr)
        return None
    password = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return password


class _DryRun(Exception):
    """Raised to roll a dry run's transaction back."""


def cmd_config_export(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Write the center, categories, services with procedures and counters as YAML."""
    import yaml

    from layso.queue import admin

    center = _center(cfg)
    try:
        with center.read() as r:
            data = admin.export_config(r)
    finally:
        center.db.dispose()
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    if args.file and args.file != "-":
        with open(args.file, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"Configuration written to {args.file}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_config_import(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Create or update from a YAML file, in one transaction (never deletes)."""
    import yaml

    from layso.queue import QueueError, admin

    try:
        with open(args.file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except yaml.YAMLError as exc:
        print(f"error: {args.file} is not valid YAML: {exc}", file=sys.stderr)
        return 2
    center = _center(cfg)
    changes: list[str] = []
    try:
        with center.write() as tx:
            changes = admin.import_config(tx, _cli_actor(), data)
            if args.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except QueueError as exc:
        where = exc.details.get("field")
        print(f"error: {exc.message}" + (f" ({where})" if where else "")
              + "; nothing was changed", file=sys.stderr)
        return 1
    finally:
        center.db.dispose()
    verb = "would change" if args.dry_run else "changed"
    for line in changes:
        print(f"  {line}")
    print(f"{len(changes)} {verb}" + (" (dry run: nothing written)" if args.dry_run else ""))
    return 0


def _read(cfg: dict[str, Any], look: Callable[[Any], Any]) -> Any:
    """What `look` reads from the configured center (migrated first)."""
    center = _center(cfg)
    try:
        with center.read() as r:
            return look(r)
    finally:
        center.db.dispose()


def _change(cfg: dict[str, Any], change: Callable[[Any, Any], Any], done: str) -> int:
    """Make one change through the domain, as the command line's actor (in the audit trail);
    prints `done`, or the domain's refusal and exits 1."""
    from layso.queue import QueueError

    center = _center(cfg)
    try:
        with center.write() as tx:
            change(tx, _cli_actor())
    except QueueError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        center.db.dispose()
    print(done)
    return 0


def cmd_user_list(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Every user: username, role, active, name."""
    from layso.queue import admin

    for u in _read(cfg, admin.list_users):
        state = "active" if u["active"] else "disabled"
        print(f"{u['username']:20} {u['role']:10} {state:8} {u['name']}")
    return 0


def cmd_user_passwd(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Set a user's password (every login of theirs ends)."""
    from layso.queue import QueueError, admin

    password = _read_password("New password: ")
    if password is None:
        return 2
    try:
        digest = admin.hash_password(password)  # before the write: hashing takes a while
    except QueueError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return _change(cfg, lambda tx, actor: admin.update_user(
        tx, actor, args.username, {"password": "set"}, digest),
        f"Password of {args.username} changed; their sessions have ended.")


def cmd_user_disable(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Deactivate a user (their sessions and tokens stop at once)."""
    from layso.queue import admin

    return _change(cfg, lambda tx, actor: admin.update_user(
        tx, actor, args.username, {"active": False}), f"User {args.username} disabled.")


def cmd_device_list(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Every device: id, kind, active, counter, last seen, name."""
    from layso.queue import admin

    for d in _read(cfg, admin.list_devices):
        state = "active" if d["active"] else "revoked"
        counter = f"counter {d['counter']}" if d["counter"] is not None else "-"
        seen = d["last_seen_at"] or "never seen"
        print(f"{d['id']:4} {d['kind']:9} {state:8} {counter:11} {seen:26} {d['name']}")
    return 0


def cmd_device_revoke(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Revoke a device: its token stops working."""
    from layso.queue import admin

    return _change(cfg, lambda tx, actor: admin.revoke_device(tx, actor, args.id),
                   f"Device {args.id} revoked.")


def _device_printer(kind: str, uri: str) -> str:
    """A kiosk's printer URI, checked as /admin/devices checks it (QueueError if invalid)."""
    from layso.queue import Invalid, printing

    if kind != "kiosk":
        raise Invalid("invalid_printer", "only a kiosk has a printer")
    return printing.check_printer(uri)


def cmd_device_add(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    from sqlalchemy import select

    from layso import auth, db
    from layso.queue import QueueError

    init_db(cfg)
    database = _database(cfg)
    try:
        with database.write() as conn:
            counter_id = None
            if args.counter is not None:
                counter_id = conn.execute(select(db.counters.c.id).where(
                    db.counters.c.number == args.counter)).scalar()
                if counter_id is None:
                    print(f"error: no counter number {args.counter}", file=sys.stderr)
                    return 1
            token = auth.add_device(conn, args.name, args.kind, counter_id)
            if args.printer is not None:
                printer = _device_printer(args.kind, args.printer)
                conn.execute(db.devices.update().where(
                    db.devices.c.token_hash == auth.token_digest(token)).values(printer=printer))
    except QueueError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    where = f" for counter {args.counter}" if args.counter is not None else ""
    print(f"Device {args.name!r} ({args.kind}){where} enrolled. Its token (shown once):")
    print(token)
    return 0


def cmd_backup(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Copy a consistent snapshot of the SQLite database (the server may keep running)."""
    import sqlite3

    url = cfg["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        print("error: for PostgreSQL use pg_dump (see docs/operations.md)", file=sys.stderr)
        return 2
    from layso.db import private_file

    src = sqlite3.connect(url.removeprefix("sqlite:///"))
    private_file(args.path)  # a backup holds every account's hash: only its owner reads it
    dst = sqlite3.connect(args.path)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    print(f"Backup written to {args.path}")
    return 0


def cmd_restore(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Restore a SQLite backup (server stopped) and start a new event epoch; on PostgreSQL,
    after pg_restore, only the new epoch."""
    import sqlite3

    from layso.db import DataDirBusy, hold_data_dir

    url = cfg["DATABASE_URL"]
    sqlite = url.startswith("sqlite:///")
    if not sqlite and (args.path or not args.new_epoch):
        print("error: for PostgreSQL use pg_restore, then `layso restore --new-epoch`",
              file=sys.stderr)
        return 2
    try:
        lock = hold_data_dir(cfg["DATA_DIR"], exclusive=True)
    except DataDirBusy:
        # a running server would go on numbering from its own state and hand out again the
        # numbers the restored copy does not know it gave
        print("error: a server is running on this data directory; stop it first "
              "(systemctl stop layso), then restore", file=sys.stderr)
        return 1
    try:
        if args.path:
            from layso.db import private_file

            src = sqlite3.connect(args.path)
            target = url.removeprefix("sqlite:///")
            private_file(target)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        new_epoch_after_restore(cfg)
    finally:
        os.close(lock)
    print("Restored; boards and counters will reload their state (new epoch).")
    return 0


def new_epoch_after_restore(cfg: dict[str, Any]) -> None:
    """A restored database starts a new epoch, so no client mixes its events with older ones."""
    from layso import events
    from layso.migrations import upgrade

    database = _database(cfg)
    try:
        upgrade(database.engine)
        with database.write() as conn:
            events.start_epoch(conn, events.new_epoch("restore"))
    finally:
        database.dispose()


def cmd_purge(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Apply the retention settings now (the server also does so when each day opens)."""
    from layso.db import utcnow
    from layso.queue import Center, citizens, retention

    database = _database(cfg)
    try:
        with database.write() as conn:
            out = retention.purge(conn, utcnow(), int(cfg["RETENTION_COMMENT_DAYS"]) or None,
                                  int(cfg["RETENTION_TOKEN_DAYS"]) or None)
        # an ended day's keyed hashes of ID card numbers (the server forgets them by itself)
        days = citizens.forget_if_ended(Center(database))
    finally:
        database.dispose()
    print(f"Comments cleared: {out['comments']}; spent tokens deleted: {out['tokens']}; "
          f"ended days' ID card hashes forgotten: {days}.")
    return 0


def cmd_printer_test(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    try:
        from kiosk.printing import printer_test
    except ImportError:
        print("error: printing is not installed in this build", file=sys.stderr)
        return 2
    return printer_test(args.uri or cfg["PRINTER"], cfg)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `layso`."""
    p = argparse.ArgumentParser(prog="layso", description="Lấy Số queue ticketing")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("init", help="create or upgrade the database")
    s.add_argument("--demo", action="store_true", help="also seed the demo center")
    s.set_defaults(fn=cmd_init)
    s = sub.add_parser("run", help="serve pages, API, sockets and printing")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(fn=cmd_run)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    s = user.add_parser("add", help="add a user (password from LAYSO_PASSWORD or a prompt)")
    s.add_argument("username")
    s.add_argument("--role", required=True, choices=["admin", "supervisor", "officer"])
    s.add_argument("--name")
    s.set_defaults(fn=cmd_user_add)
    s = user.add_parser("list", help="list the users")
    s.set_defaults(fn=cmd_user_list)
    s = user.add_parser("passwd", help="set a user's password (LAYSO_PASSWORD or a prompt)")
    s.add_argument("username")
    s.set_defaults(fn=cmd_user_passwd)
    s = user.add_parser("disable", help="deactivate a user: their sessions end at once")
    s.add_argument("username")
    s.set_defaults(fn=cmd_user_disable)
    dev = sub.add_parser("device", help="manage devices").add_subparsers(dest="action",
                                                                         required=True)
    s = dev.add_parser("add", help="enrol a kiosk, display or feedback device")
    s.add_argument("name")
    s.add_argument("--kind", required=True, choices=["kiosk", "display", "feedback"])
    s.add_argument("--counter", type=int)
    s.add_argument("--printer", help="a kiosk's own printer URI (agent://: its print agent)")
    s.set_defaults(fn=cmd_device_add)
    s = dev.add_parser("list", help="list the devices")
    s.set_defaults(fn=cmd_device_list)
    s = dev.add_parser("revoke", help="revoke a device: its token stops working")
    s.add_argument("id", type=int)
    s.set_defaults(fn=cmd_device_revoke)
    conf = sub.add_parser("config", help="the center's catalogue as a YAML file"
                          ).add_subparsers(dest="action", required=True)
    s = conf.add_parser("export", help="write the center, services, categories and counters")
    s.add_argument("file", nargs="?", help="default: standard output")
    s.set_defaults(fn=cmd_config_export)
    s = conf.add_parser("import", help="create or update from a file (never deletes)")
    s.add_argument("file")
    s.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    s.set_defaults(fn=cmd_config_import)
    s = sub.add_parser("backup", help="write a consistent copy of the SQLite database")
    s.add_argument("path")
    s.set_defaults(fn=cmd_backup)
    s = sub.add_parser("restore", help="restore a SQLite backup (server stopped); new epoch")
    s.add_argument("path", nargs="?", help="backup file; omit after pg_restore")
    s.add_argument("--new-epoch", action="store_true", help="only start a new epoch")
    s.set_defaults(fn=cmd_restore)
    s = sub.add_parser("purge", help="clear old rating comments and spent tokens now")
    s.set_defaults(fn=cmd_purge)
    prn = sub.add_parser("printer", help="printer tools").add_subparsers(dest="action",
                                                                        required=True)
    s = prn.add_parser("test", help="print a test ticket and report the printer status")
    s.add_argument("uri", nargs="?")
    s.set_defaults(fn=cmd_printer_test)
    s = sub.add_parser("print-agent", help="print a kiosk's tickets on the kiosk machine's own "
                       "printer (its printer on the server is agent://)")
    s.add_argument("--server", required=True, help="the server's URL, e.g. http://192.168.1.10")
    s.add_argument("--token", help="the kiosk's device token (default: LAYSO_AGENT_TOKEN)")
    s.add_argument("--printer", required=True,
                   help="the kiosk's printer URI, e.g. usb://04b8:0202 or file:///dev/usb/lp0")
    s.add_argument("--state", help="where the agent keeps the jobs it printed "
                   "(default: LAYSO_DATA_DIR/print-agent.json)")
    s.set_defaults(fn=cmd_print_agent)
    return p


def cmd_print_agent(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Run the kiosk's print agent until stopped."""
    from kiosk.print_agent import main as agent_main

    token = args.token or os.environ.get("LAYSO_AGENT_TOKEN") or ""
    if not token:
        print("error: give the kiosk's token with --token or LAYSO_AGENT_TOKEN", file=sys.stderr)
        return 2
    state = args.state or os.path.join(cfg["DATA_DIR"], "print-agent.json")
    return agent_main(args.server, token, args.printer, state)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `layso` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # `layso run` hands them to the patched interpreter it becomes
    cfg = config_mod.load()
    try:
        return int(args.fn(args, cfg) or 0)
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or ''})", file=sys.stderr)
        return 1
    except Exception as exc:
        # SQLAlchemy is imported by the commands that use it, not before: `layso run` reads
        # its arguments in a plain interpreter and becomes the patched one first
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        # never the traceback: its statement parameters hold a password hash or a token hash
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        print(f"error: the database refused the change ({type(orig).__name__}: {first})",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
