"""Counts the SQL statements the database client really executes (SPEC §12 tests)."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections


class StatementCounter:
    METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        self.last_arguments: dict[str, tuple[Any, ...]] = {}  # by statement text
        client_class = type(connections.get("default"))
        for name in self.METHODS:
            original = getattr(client_class, name)
            monkeypatch.setattr(client_class, name, self._counting(original))

    def _counting(self, original: Any) -> Any:
        async def wrapper(client: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            self.statements.append(query)
            self.last_arguments[query] = args
            return await original(client, query, *args, **kwargs)

        return wrapper

    def selects(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT"))
