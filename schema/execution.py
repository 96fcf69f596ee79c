"""A faster execution path for plain-attribute leaf fields (SPEC §12).

graphql-core spends ~20 µs on every field: it builds a ResolveInfo, calls the resolver
through strawberry's wrapper and completes the value generically. For a leaf field that
strawberry resolves as a plain attribute (no resolver, no arguments, no field
extensions: its resolver is strawberry's "basic" ``getattr``), and for the Relay ``id``
of a ``Node`` that keeps strawberry's default ``resolve_id``/``resolve_typename``, the
result is fully determined by the attribute and the type's serializer. This executor
computes exactly that directly. Anything unusual (a null in a non-null field, a value
the serializer refuses, an exception, middleware) falls back to graphql-core's own path,
which then reports the error with the usual semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# Cached per GraphQLField: how to read its value fast, or None for the regular path.
Reader = Callable[[Any], Any]
_PLAN_KEY = "trainhub-fast-reader"
_NO_PLAN = object()


def _node_id_reader(parent_type: GraphQLObjectType) -> Reader | None:
    definition = parent_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    if (
        origin.resolve_id.__func__ is not relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
        or origin.resolve_typename.__func__ is not relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
    ):
        return None
    attribute, type_name = origin.resolve_id_attr(), parent_type.name

    def read(source: Any) -> Any:
        if not isinstance(source, origin):
            raise TypeError("not a node instance")  # the regular path handles other roots
        return to_base64(type_name, str(getattr(source, attribute)))

    return read


def _plan(parent_type: GraphQLObjectType, field: GraphQLField) -> tuple[Reader, GraphQLLeafType, bool] | None:
    return_type = field.type
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if non_null else return_type
    if field.args or not is_leaf_type(named):
        return None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolver = field.resolve
    if getattr(resolver, "_is_default", False):
        return resolver, named, non_null  # type: ignore[return-value]
    if (
        getattr(definition, "python_name", None) == "_id"
        and getattr(definition, "graphql_name", None) == "id"
        and not getattr(definition, "extensions", None)
    ):
        reader = _node_id_reader(parent_type)
        if reader is not None:
            return reader, named, non_null  # type: ignore[return-value]
    return None


class FastFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def _has_middleware(self) -> bool:
        # strawberry always passes a manager; it wraps resolvers only when an extension
        # implements ``resolve``, and then every field takes the regular path.
        manager = self.middleware_manager
        return manager is not None and getattr(manager, "_middleware_resolvers", None) is not None

    def execute_field(  # type: ignore[override]
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        if field is None or node.arguments or self._has_middleware():
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        plan = field.extensions.get(_PLAN_KEY, _NO_PLAN)
        if plan is _NO_PLAN:
            plan = _plan(parent_type, field)
            field.extensions[_PLAN_KEY] = plan
        if plan is not None:
            read, leaf_type, non_null = plan
            try:
                value = read(source)
                if value is None and not non_null:
                    return None
                if value is not None and not self.is_awaitable(value):
                    serialized = leaf_type.serialize(value)
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # noqa: BLE001 - the regular path reports it properly
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
