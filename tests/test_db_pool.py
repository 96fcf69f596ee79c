"""The PostgreSQL pool gives a connection back without asyncpg's reset query (one round
trip saved on every statement run outside a transaction), and a transaction left open
is still rolled back before the connection serves anyone else."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise import connections

pytestmark = pytest.mark.postgres_only


async def _pool(migrated: None) -> asyncpg.Pool:
    client = connections.get("default")
    async with client.acquire_connection():  # the pool is made on first use
        pass
    pool: asyncpg.Pool = client._pool  # noqa: SLF001 - the pool is what is tested
    return pool


async def test_a_released_connection_sends_no_reset_query(migrated: None) -> None:
    pool = await _pool(migrated)
    sent: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        sent.append(record.query)

    async with pool.acquire() as connection:
        raw = connection._con  # noqa: SLF001 - the logger must outlive the release
        raw.add_query_logger(log)
        await connection.execute("SELECT 1")
    raw.remove_query_logger(log)
    # asyncpg's default release would have sent "SELECT pg_advisory_unlock_all(); … RESET ALL"
    assert sent == ["SELECT 1"]


async def test_a_transaction_left_open_is_rolled_back_on_release(migrated: None) -> None:
    pool = await _pool(migrated)
    async with pool.acquire() as connection:
        raw = connection._con  # noqa: SLF001 - the same server session after release
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE left_open (n int)")
        assert connection.is_in_transaction()
    assert not raw.is_in_transaction()
    # The temporary table went with the rolled-back transaction, on that same session.
    assert await raw.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
