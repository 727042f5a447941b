"""Alembic migrations of the center's database: an upgrade never loses a center's data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
#: the newest revision. Written here so that a start finds an up-to-date database without
#: loading Alembic, 0.4 s of a server's 1.1 s start; a test holds it to the scripts' head.
HEAD = "0008_rollup_bucket_sums"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at these migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The revision the database says it is at, or None (new, or not a layso database)."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            found = list(versions)
    except SQLAlchemyError:
        return None
    return found[0] if len(found) == 1 else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision` (nothing to load when it is at the head already)."""
    if revision == "head" and current_revision(engine) == HEAD:
        return
    from alembic import command

    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
