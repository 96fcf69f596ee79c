"""A faster execution path for plain data (SPEC §12).

graphql-core spends ~20 µs on every field: it builds a ResolveInfo, calls the resolver
through strawberry's wrapper, and completes the value generically. Most of a nested
list is plain data: fields strawberry resolves as a bare attribute read (no resolver, no
arguments, no field extensions) and the Relay ``id`` of nodes that keep strawberry's
default ``resolve_id``/``resolve_typename``. When a field and everything selected below
it are such fields, this executor reads the attributes and serializes the leaves
directly, producing what graphql-core would: same keys (aliases, fragments, skip/include
are applied by graphql-core's own field collection), same order, same serialized values.

Anything that is not plain data in the value itself — an awaitable (a ``Deferred`` not
prefetched), a null in a non-null position, a value a scalar refuses, a failing
``is_type_of`` — makes the fast path give up for that field *before* anything is
written, and graphql-core's regular path then executes it with its usual semantics
(errors, null propagation). Reading attributes has no side effects, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
)
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Reader = Callable[[Any], Any]
_PLAIN_SCALARS = frozenset({str, int, float, bool})


class Subfield(NamedTuple):
    response_name: str
    read: Reader | None  # None: ``__typename``
    type: GraphQLOutputType
    field_details_list: Any
    serialize: Callable[[Any], Any] | None  # set for leaf types
    non_null: bool


_READER = "trainhub-plain-reader"  # cached per GraphQLField in its extensions
_UNSET = object()
_GIVE_UP = object()


def _node_id_reader(parent_type: GraphQLObjectType) -> Reader | None:
    definition = parent_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    default = relay.Node
    if (
        origin.resolve_id.__func__ is not default.resolve_id.__func__  # type: ignore[attr-defined]
        or origin.resolve_typename.__func__ is not default.resolve_typename.__func__  # type: ignore[attr-defined]
    ):
        return None
    attribute, type_name = origin.resolve_id_attr(), parent_type.name

    def read(source: Any) -> Any:
        if not isinstance(source, origin):
            return _GIVE_UP  # another kind of root: strawberry's resolver knows what to do
        return to_base64(type_name, str(getattr(source, attribute)))

    return read


def _find_reader(parent_type: GraphQLObjectType, field: GraphQLField) -> Reader | None:
    if field.args:
        return None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if getattr(field.resolve, "_is_default", False):  # strawberry's bare attribute read
        if getattr(definition, "default_resolver", None) is getattr:
            return attrgetter(definition.python_name)  # what it calls, minus two frames
        return field.resolve
    if (
        getattr(definition, "python_name", None) == "_id"
        and getattr(definition, "graphql_name", None) == "id"
        and not getattr(definition, "extensions", None)
    ):
        return _node_id_reader(parent_type)
    return None


def plain_reader(parent_type: GraphQLObjectType, field: GraphQLField) -> Reader | None:
    reader = field.extensions.get(_READER, _UNSET)
    if reader is _UNSET:
        reader = _find_reader(parent_type, field)
        field.extensions[_READER] = reader
    return reader  # type: ignore[return-value]


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class FastFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_selections: dict[tuple[int, int], bool] = {}
        # Keyed on ids like graphql-core's own memo; the field group is kept alive with it.
        self._object_plans: dict[tuple[int, int], tuple[Any, list[Subfield]]] = {}

    def _has_middleware(self) -> bool:
        # strawberry always passes a manager; it wraps resolvers only when an extension
        # implements ``resolve``, and then every field takes the regular path.
        manager = self.middleware_manager
        return manager is not None and getattr(manager, "_middleware_resolvers", None) is not None

    def _is_plain(self, type_: GraphQLOutputType, field_details_list: Any) -> bool:
        """Whether the selection below a field of this type reads plain data only."""
        named = _named(type_)
        if is_leaf_type(named):
            return True
        if not isinstance(named, GraphQLObjectType):
            return False  # interfaces and unions need their type resolution
        key = (id(named), id(field_details_list))
        known = self._plain_selections.get(key)
        if known is None:
            self._plain_selections[key] = False  # a cycle is not plain
            grouped, defer_usages, _ = self.collect_subfields(named, field_details_list)
            known = not defer_usages and all(
                self._is_plain_subfield(named, sub) for sub in grouped.values()
            )
            self._plain_selections[key] = known
        return known

    def _is_plain_subfield(self, parent_type: GraphQLObjectType, field_details_list: Any) -> bool:
        node = field_details_list[0].node
        if node.name.value == "__typename":
            return True
        field = parent_type.fields.get(node.name.value)
        return (
            field is not None
            and not node.arguments
            and plain_reader(parent_type, field) is not None
            and self._is_plain(field.type, field_details_list)
        )

    def _complete(self, type_: GraphQLOutputType, field_details_list: Any, value: Any) -> Any:
        non_null = isinstance(type_, GraphQLNonNull)
        if non_null:
            type_ = type_.of_type  # type: ignore[union-attr]
        if value is None:
            return _GIVE_UP if non_null else None
        if value is _GIVE_UP or self.is_awaitable(value):
            return _GIVE_UP
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list | tuple):
                return _GIVE_UP
            items = []
            for item in value:
                completed = self._complete(type_.of_type, field_details_list, item)
                if completed is _GIVE_UP:
                    return _GIVE_UP
                items.append(completed)
            return items
        if isinstance(type_, GraphQLObjectType):
            return self._complete_object(type_, field_details_list, value)
        serialized = type_.serialize(value)  # type: ignore[union-attr]
        return _GIVE_UP if serialized is None or serialized is Undefined else serialized

    def _subfields(self, type_: GraphQLObjectType, field_details_list: Any) -> list[Subfield]:
        """The selected subfields of an object, planned once per selection."""
        key = (id(type_), id(field_details_list))
        cached = self._object_plans.get(key)
        if cached is not None:
            return cached[1]
        plan = []
        for response_name, sub in self.collect_subfields(type_, field_details_list)[0].items():
            name = sub[0].node.name.value
            if name == "__typename":
                plan.append(Subfield(response_name, None, type_, sub, None, True))
                continue
            field = type_.fields[name]
            non_null = isinstance(field.type, GraphQLNonNull)
            named = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
            serialize = named.serialize if is_leaf_type(named) else None
            reader = plain_reader(type_, field)
            plan.append(Subfield(response_name, reader, field.type, sub, serialize, non_null))
        # Keyed on ids like graphql-core's own memo: keep the field group alive with it.
        self._object_plans[key] = (field_details_list, plan)
        return plan

    def _complete_object(
        self, type_: GraphQLObjectType, field_details_list: Any, source: Any
    ) -> Any:
        if type_.is_type_of is not None and not type_.is_type_of(source, None):
            return _GIVE_UP
        result: dict[str, Any] = {}
        for response_name, read, field_type, sub, serialize, non_null in self._subfields(
            type_, field_details_list
        ):
            if read is None:
                result[response_name] = type_.name
                continue
            value = read(source)
            if serialize is None:  # objects and lists
                value = self._complete(field_type, sub, value)
            elif value is None:  # leaves, inline: most of the fields of a big answer
                if non_null:
                    return _GIVE_UP
            elif type(value) in _PLAIN_SCALARS or not self.is_awaitable(value):
                value = serialize(value)
                if value is None or value is Undefined:
                    return _GIVE_UP
            else:
                return _GIVE_UP
            if value is _GIVE_UP:
                return _GIVE_UP
            result[response_name] = value
        return result

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
        if (
            field is not None
            and not node.arguments
            and not self._has_middleware()
            and plain_reader(parent_type, field) is not None
            and self._is_plain(field.type, field_details_list)
        ):
            try:
                completed = self._complete(
                    field.type,
                    field_details_list,
                    plain_reader(parent_type, field)(source),  # type: ignore[misc]
                )
            except Exception:  # noqa: BLE001 - the regular path reports it properly
                completed = _GIVE_UP
            if completed is not _GIVE_UP:
                return completed
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
