"""The database fixtures of the store tests that run on both SQLite and PostgreSQL
(test_recordings_janitor.py, test_recordings_retention.py): ``pg_url``, a PostgreSQL database
of the module's own (``fresh_pg_database``), and ``engine_fixture(tables)``, which makes the
fixture ``engine``: a migrated engine on each, with ``tables`` emptied first (the PostgreSQL
database is shared by the module's tests).

In the test module: ``from tests.unit.db_fixtures import engine_fixture, pg_url`` and
``engine = engine_fixture(TABLES)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest
from sqlalchemy import Engine, text

from hotline.store.calls import make_engine, migrate
from tests.unit.test_records_store import fresh_pg_database


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def engine_fixture(tables: Iterable[str]) -> Any:
    """The fixture ``engine``, on SQLite (a file of the test's own) and on PostgreSQL (``pg_url``,
    which the module imports too), migrated, with ``tables`` emptied in this order."""
    tables = tuple(tables)

    @pytest.fixture(params=["sqlite", "postgresql"])
    def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
        url = (f"sqlite:///{tmp_path / 'db' / 'store.sqlite3'}" if request.param == "sqlite"
               else request.getfixturevalue("pg_url"))
        engine = make_engine(url)
        migrate(engine)
        with engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        try:
            yield engine
        finally:
            engine.dispose()

    return engine
