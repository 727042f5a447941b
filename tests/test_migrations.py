"""Migrations: init creates the head, re-running changes nothing, upgrades keep rows, and the
models match the migrations."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, insert, select, text

from layso import db
from layso.cli import init_db
from layso.config import load
from layso.db import Database, make_engine
from layso.migrations import alembic_config, upgrade
from layso.queue import Actor, Center, ops
from tests.conftest import Clock


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(
                select(t).order_by(*t.primary_key.columns)).all()]
                for t in db.metadata.sorted_tables}
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest migration."""
    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def current_revision(url: str) -> str | None:
    """The revision the database is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_init_on_an_empty_database_creates_the_head(db_url: str, tmp_path: Path) -> None:
    assert current_revision(db_url) is None
    init_db(load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url}))
    assert current_revision(db_url) == head_revision()
    rows = dump(db_url)
    assert len(rows["center"]) == 1 and rows["tickets"] == [] and rows["users"] == []


def test_init_demo_twice_changes_nothing(db_url: str, tmp_path: Path) -> None:
    cfg = load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url})
    init_db(cfg, demo=True)
    first = dump(db_url)
    assert len(first["services"]) == 6 and len(first["counters"]) == 5
    init_db(cfg, demo=True)
    init_db(cfg)
    assert dump(db_url) == first


def test_an_upgrade_keeps_a_working_centers_rows(db_url: str, tmp_path: Path) -> None:
    cfg = load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url})
    init_db(cfg, demo=True)
    center = Center(Database(db_url, clock=Clock()), public_url="http://layso.test")
    kiosk = Actor(kind="device", id=None, role="kiosk")
    with center.write() as tx:
        for service in ("land", "land", "social"):
            ops.issue(tx, kiosk, service)
    center.db.dispose()
    before = dump(db_url)
    assert len(before["tickets"]) == 3 and len(before["events"]) >= 6
    init_db(cfg, demo=True)
    assert dump(db_url) == before


def test_rows_written_at_the_first_revision_survive_every_later_one(db_url: str,
                                                                    tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    first = [r.revision for r in script.walk_revisions()][-1]
    engine = make_engine(db_url)
    try:
        upgrade(engine, first)
        old = MetaData()
        old.reflect(engine)
        with engine.begin() as conn:
            conn.execute(insert(old.tables["center"]).values(
                id=1, name_vi="Trung tâm", name_en="Center", timezone="Asia/Ho_Chi_Minh",
                priority_policy="strict", recall_limit=3, default_service_minutes=5,
                notice_vi="", notice_en="", speech_mode="words", speak_english=True))
            conn.execute(insert(old.tables["services"]).values(
                code="land", prefix="C", name_vi="Đất đai", name_en="Land", position=0,
                active=True, target_wait_minutes=30, start_number=1))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name_vi FROM center")).scalar() == "Trung tâm"
            assert conn.execute(text("SELECT code FROM services")).scalar() == "land"
    finally:
        engine.dispose()
    init_db(load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url}))
    rows = dump(db_url)
    assert rows["center"][0][1] == "Trung tâm"
    assert [r[1] for r in rows["services"]] == ["land"]
    assert current_revision(db_url) == head_revision()


def test_the_models_match_the_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
    finally:
        engine.dispose()
    assert diff == [], "layso/db.py and the migrations differ: write a new revision"


def test_the_suites_copied_schema_is_what_init_makes(tmp_path: Path) -> None:
    """The test suite lays a copy of one migrated PostgreSQL schema into each test's schema
    (tests/conftest.py, Prepared): the copy must be the schema `layso init --demo` makes, down
    to every constraint, index, default and sequence."""
    import shutil
    import subprocess

    from tests.conftest import PG_URL, _pg_database, prepare_database

    if not PG_URL or shutil.which("pg_dump") is None:
        pytest.skip("needs LAYSO_TEST_DATABASE_URL and pg_dump")

    def schema_sql(url: str) -> str:
        schema = url.split("search_path%3D", 1)[1].split("%20", 1)[0]
        out = subprocess.run(["pg_dump", "--schema-only", "--schema", schema, PG_URL],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return "\n".join(line for line in out.splitlines()
                         if not line.startswith("\\")).replace(schema, "s")

    made, copied = _pg_database(PG_URL), _pg_database(PG_URL)
    try:
        made_url, copied_url = next(made), next(copied)
        init_db(load({"DATA_DIR": str(tmp_path / "made"), "DATABASE_URL": made_url}),
                demo=True)
        prepare_database(copied_url, tmp_path / "copied")
        assert (tmp_path / "copied" / "demo-devices.txt").exists()
        assert schema_sql(copied_url) == schema_sql(made_url)
        assert current_revision(copied_url) == head_revision()
        rows, fresh = dump(copied_url), dump(made_url)
        assert rows.keys() == fresh.keys()
        assert {t: len(r) for t, r in rows.items()} == {t: len(r) for t, r in fresh.items()}
    finally:
        next(made, None)
        next(copied, None)


def test_rollups_of_the_old_shape_are_dropped_and_counted_again(db_url: str,
                                                                tmp_path: Path) -> None:
    """0008: a rollup's histogram held counts only; its days are counted again from their
    tickets (the rollups are kept sums, nothing else is lost)."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0007_alerts")
        with engine.begin() as conn:
            day = conn.execute(insert(db.business_days).values(
                day=date(2026, 11, 20), epoch="e1", opened_at=db.utcnow())).inserted_primary_key[0]
            conn.execute(insert(db.report_rollups).values(
                day_id=day, by="all", data=[[0, {"_hw": {"2": 3}}]]))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM report_rollups")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM business_days")).scalar() == 1
    finally:
        engine.dispose()
    assert current_revision(db_url) == head_revision()


def test_the_head_written_in_the_code_is_the_scripts_head() -> None:
    """A start skips Alembic when the database is at migrations.HEAD: a new revision must
    move HEAD too, or databases would stay behind it."""
    from layso.migrations import HEAD

    assert HEAD == head_revision()


def test_a_database_at_the_head_is_upgraded_without_loading_alembic(db_url: str,
                                                                    tmp_path: Path) -> None:
    import subprocess
    import sys

    init_db(load({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url}))
    probe = ("import sys; from layso.db import make_engine; from layso.migrations import upgrade;"
             f"e = make_engine({db_url!r}); upgrade(e); e.dispose();"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    assert current_revision(db_url) == head_revision()
