"""A desk's SQLite connections keep a small page cache (the host's file cache holds the
database for every process); other commands keep SQLite's default."""

from __future__ import annotations

from sqlalchemy import text

from tui_desk.db.engine import DESK_PAGE_CACHE_KIB, Database, desk_page_cache


def _cache_size(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("PRAGMA cache_size")).scalar_one())


def test_the_desks_connections_keep_a_small_page_cache(sqlite_db: Database) -> None:
    assert _cache_size(sqlite_db) == -2000  # SQLite's default: 2,000 KiB
    desk_page_cache(sqlite_db)
    assert _cache_size(sqlite_db) == -DESK_PAGE_CACHE_KIB  # a connection opened again
    with sqlite_db.read() as a, sqlite_db.read() as b:  # and every new one
        for s in (a, b):
            assert s.execute(text("PRAGMA cache_size")).scalar_one() == -DESK_PAGE_CACHE_KIB


def test_on_postgresql_there_is_nothing_to_set(pg_db: Database) -> None:
    desk_page_cache(pg_db)  # the server's shared buffers are the cache
    with pg_db.read() as s:
        assert s.execute(text("SELECT 1")).scalar_one() == 1
