"""Per-request GraphQL context: the caller's scope, locale and dataloaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.types import Info as StrawberryInfo

from resolvers.context import Scope
from resolvers.errors import Forbidden, Unauthenticated

T = TypeVar("T")


@dataclass
class Context:
    scope: Scope | None
    locale: str = "fr"
    client_ip: str = ""
    services: Any = None  # app.wiring.Services (rate limiter, settings), set by the app
    request: Any = None
    connection_params: dict[str, Any] | None = None  # WebSocket connection_init payload
    over_http: bool = False  # an HTTP request, where subscriptions are refused
    # The answer is encoded by orjson, which embeds JSON the database built (json_sql.py).
    json_fragments: bool = False
    _loaders: dict[Callable[..., Any], Any] = field(default_factory=dict)

    def loader(self, factory: Callable[[Scope], T]) -> T:
        """One dataloader per factory per request (batches across a whole query)."""
        if factory not in self._loaders:
            self._loaders[factory] = factory(self.require_scope())
        return self._loaders[factory]  # type: ignore[no-any-return]

    def require_scope(self) -> Scope:
        if self.scope is None:
            raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
        if not self.scope.actor.can_read:
            raise Forbidden("this API key lacks the READ scope")
        return self.scope

    def require_writer(self) -> Scope:
        scope = self.require_scope()
        scope.require_write()
        return scope

    def require_subscriber(self) -> Scope:
        if self.scope is None:
            raise Unauthenticated("authentication required in connection_init payload")
        if not self.scope.actor.can_subscribe:
            raise Forbidden("this API key lacks the SUBSCRIBE scope")
        return self.scope


Info = StrawberryInfo[Context, None]
