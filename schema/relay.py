"""Global IDs (Relay): every record type is a ``strawberry.relay.Node``; arguments that
take an id accept its global ID and are decoded here."""

from __future__ import annotations

from strawberry import relay

from resolvers.context import row_id
from resolvers.errors import NotFound


def db_id(global_id: relay.GlobalID | str, node_type: type, *, field: str = "id") -> int:
    """Database id of a global ID of ``node_type``; anything else is NOT_FOUND on ``field``."""
    try:
        gid = (
            global_id
            if isinstance(global_id, relay.GlobalID)
            else relay.GlobalID.from_id(global_id)
        )
        if gid.type_name == node_type.__name__ or gid.type_name == getattr(
            getattr(node_type, "__strawberry_definition__", None), "name", None
        ):
            pk = row_id(gid.node_id)
            if pk is not None:
                return pk
    except (ValueError, TypeError):
        pass
    raise NotFound(f"{node_type.__name__} {global_id} not found", field=field)
