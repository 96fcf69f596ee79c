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

from binascii import b2a_base64
from collections.abc import Callable
from datetime import date, datetime, time
from enum import Enum
from functools import lru_cache, partial
from operator import attrgetter
from types import CodeType
from typing import Any, Generic, TypeVar

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    OperationType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from schema.prefetch import Prebuilt

Reader = Callable[[Any], Any]
Completer = Callable[[Any], Any]  # a value -> its completed form, or _GIVE_UP
K = TypeVar("K")
V = TypeVar("V")
# Leaf types whose serialize returns a value of this exact Python type unchanged.
_IDENTITY_SERIALIZED = {GraphQLString.name: str, GraphQLID.name: str, GraphQLBoolean.name: bool}


# A field's metadata key: ``function(source, **arguments)`` giving what its resolver
# would, without side effects, or NOT_READY when only the resolver can (then it runs).
PRELOADED = "trainhub-preloaded"
# A field's metadata key: True when schema/json_sql.py computes in SQL what its resolver
# gives (no side effects, no guard): selected without arguments, it is plain data inside
# JSON the database built (a ``Prebuilt``), and takes the regular path anywhere else.
BUILT_IN_SQL = "trainhub-built-in-sql"
_PLAIN_ARGUMENT_TYPES = (GraphQLInt, GraphQLString, GraphQLBoolean, GraphQLID)
_READER = "trainhub-plain-reader"  # cached per GraphQLField in its extensions
_UNSET = object()
_GIVE_UP = object()
NOT_READY = _GIVE_UP


def _only_prebuilt(source: Any) -> Any:
    return _GIVE_UP  # a BUILT_IN_SQL field outside prebuilt JSON: its resolver runs


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
    attribute, prefix = origin.resolve_id_attr(), f"{parent_type.name}:"

    def read(source: Any) -> Any:
        if not isinstance(source, origin):
            return _GIVE_UP  # another kind of root: strawberry's resolver knows what to do
        # strawberry's to_base64, minus its checks of the type argument (and b64encode's).
        return b2a_base64(f"{prefix}{getattr(source, attribute)}".encode(), newline=False).decode()

    return read


def _find_reader(parent_type: GraphQLObjectType, field: GraphQLField) -> Reader | None:
    if field.args:
        return None
    definition: Any = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
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


_WRAPPERS = (GraphQLNonNull, GraphQLList)  # a tuple: ``A | B`` would build a union at each call


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, _WRAPPERS):
        type_ = type_.of_type
    return type_


@lru_cache(maxsize=1024)
def _function_code(lines: tuple[str, ...]) -> CodeType:
    """``complete_object``'s code, compiled once per distinct selection shape: every
    request has its own field groups, but the same document gives the same lines."""
    body = "".join(f"    {line}\n" for line in lines)
    return compile(f"def complete_object(source):\n{body}", "<fast path>", "exec")


# Built-in types without instance attributes or ``__await__``: is_awaitable's last check
# (hasattr, which raises inside for them) is what it costs most on dates and times.
_NEVER_AWAITABLE = frozenset({date, datetime, time, int, float})


def _plain_types(type_: GraphQLNamedType) -> frozenset[type]:
    """The Python types a leaf's values have that are never awaitable: the built-ins, and
    the Python class of a strawberry enum (its members; the class has no ``__await__``)."""
    definition = type_.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    enum_class = getattr(definition, "wrapped_cls", None)
    if not isinstance(type_, GraphQLEnumType) or not (
        isinstance(enum_class, type)
        and issubclass(enum_class, Enum)
        and not hasattr(enum_class, "__await__")
    ):
        return _NEVER_AWAITABLE
    return _NEVER_AWAITABLE | {enum_class}


def _member_names(type_: GraphQLNamedType) -> tuple[type | None, dict[Any, str]]:
    """A strawberry enum's Python class and the name its serialize gives each member (the
    first GraphQL value equal to the member's), or (None, {}) for any other leaf type:
    its serialize scans the values and reads ``member.value`` each time (an enum
    property, slow), ~1 µs per enum leaf; a dict lookup is what it computes."""
    if not isinstance(type_, CustomGraphQLEnumType):
        return None, {}
    enum_class, kind = type_.wrapped_cls, type(type_)
    if (
        kind.coerce_output_value is not CustomGraphQLEnumType.coerce_output_value
        or kind.serialize is not CustomGraphQLEnumType.serialize
        or not (isinstance(enum_class, type) and issubclass(enum_class, Enum))
    ):
        return None, {}
    names: dict[Any, str] = {}
    for name, value in type_.values.items():
        for member in enum_class:
            if member.value == value.value:
                names.setdefault(member, name)
    return enum_class, names


def _leaf_serializer(type_: GraphQLNamedType, is_awaitable: Any) -> Completer:
    """A non-null leaf value serialized, or _GIVE_UP when it is not a plain value."""
    serialize, plain = type_.serialize, _plain_types(type_)  # type: ignore[attr-defined]
    enum_class, names = _member_names(type_)

    def leaf(value: Any) -> Any:
        if type(value) is enum_class:
            return names.get(value, _GIVE_UP)  # not found: serialize's error, in its path
        if type(value) not in plain and (value is _GIVE_UP or is_awaitable(value)):
            return _GIVE_UP
        value = serialize(value)
        return _GIVE_UP if value is None or value is Undefined else value

    return leaf


def _type_check(type_: GraphQLObjectType, is_awaitable: Any, names: dict[str, Any]) -> list[str]:
    """Lines giving up when the source is not of ``type_``: strawberry's ``is_type_of``
    (it never reads info; none of ours is custom), skipped for an exact instance of the
    type's class that carries no ``strawberry.cast``, which it would accept."""
    definition = type_.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    names.update(is_type_of=type_.is_type_of, is_awaitable=is_awaitable, origin=origin)
    names["cast"] = TYPE_CAST_ATTRIBUTE
    exact = isinstance(origin, type) and "__slots__" not in vars(origin)
    if type_.is_type_of is None:
        condition = "type(source) is not origin and " if exact else ""
        return [f"if {condition}is_awaitable(source):", "    return G"]
    condition = "(type(source) is not origin or cast in source.__dict__) and " if exact else ""
    return [f"if {condition}not is_type_of(source, None):", "    return G"]


class RecentByIdentity(Generic[K, V]):
    """A value for each of the last ``size`` objects it was given, by identity: each kept
    alive with its value, so that its id is not reused while it is here."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[int, tuple[K, V]] = {}

    def get(self, key: K) -> V | None:
        found = self._items.get(id(key))
        return found[1] if found is not None and found[0] is key else None

    def put(self, key: K, value: V) -> None:
        if id(key) not in self._items and len(self._items) >= self._size:
            del self._items[next(iter(self._items))]  # the oldest
        self._items[id(key)] = (key, value)


# What a subscription event's result depends on besides the event, when its selection
# reads plain data only: (document text, operation name, variables).
EventResultKey = tuple[str, str | None, str]
# The results of recent events (a process hands every subscriber the same event object,
# schema/subscriptions.py): the subscribers with the same document and variables get
# the result executed for the first of them, not one execution each (SPEC §12).
_EVENT_RESULTS: RecentByIdentity[Any, dict[EventResultKey, ExecutionResult]] = RecentByIdentity(256)


class FastFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Shared with the per-event copies of a subscription's executor (copy() is shallow).
        self._event_key: dict[str, Any] = {}
        self._plain_selections: dict[tuple[int, int], bool] = {}
        # Keyed on ids like graphql-core's own memo; the field groups are kept alive with them.
        self._object_completers: dict[tuple[int, int], tuple[Any, Completer]] = {}
        self._field_completers: dict[tuple[int, int], tuple[Any, Completer | None]] = {}
        self._selection_readers: dict[tuple[int, int], tuple[Any, Reader | None]] = {}
        self._json_shapes: dict[tuple[int, int], tuple[Any, Any]] = {}

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._event_result_key()
        if key is None:
            return super().execute_operation(serially)
        results = _EVENT_RESULTS.get(self.root_value)
        if results is None:
            results = {}
            _EVENT_RESULTS.put(self.root_value, results)
        shared = results.get(key)
        if shared is not None:
            return ExecutionResult(shared.data)
        result = super().execute_operation(serially)
        if type(result) is ExecutionResult and not result.errors:  # errors: each their own
            results[key] = result
        return result

    def _event_result_key(self) -> EventResultKey | None:
        """For an event of a subscription whose whole selection reads plain data: what
        its result depends on besides the event, which is the root field's value
        (strawberry's per-event resolver returns it). None for anything else."""
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return None
        if "key" not in self._event_key:
            self._event_key["key"] = self._find_event_key()
        return self._event_key["key"]  # type: ignore[no-any-return]

    def _find_event_key(self) -> EventResultKey | None:
        root_type, location = self.schema.subscription_type, self.operation.loc
        if root_type is None or location is None or self._has_middleware():
            return None
        grouped, defer_usages, _ = collect_fields(
            self.schema,
            self.fragments,
            self.variable_values,
            root_type,
            self.operation,
            self.hide_suggestions,
        )
        self._event_key["fields"] = grouped  # _is_plain's memo is keyed on the groups' ids
        if defer_usages:
            return None
        for details in grouped.values():
            field = root_type.fields.get(details[0].node.name.value)
            if details[0].node.name.value != "__typename" and (
                field is None or not self._is_plain(field.type, details)
            ):
                return None
        name = self.operation.name.value if self.operation.name else None
        return location.source.body, name, repr(sorted(self.variable_values.coerced.items()))

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
            and self._selection_reader(parent_type, field_details_list) is not None
            and self._is_plain(field.type, field_details_list)
        )

    def _selection_reader(
        self, parent_type: GraphQLObjectType, field_details_list: Any
    ) -> Reader | None:
        """How a selected field reads its value from the source without a resolver call:
        a plain attribute, or a field's ``PRELOADED`` function with the selection's
        arguments. None when it needs its resolver."""
        key = (id(parent_type), id(field_details_list))
        cached = self._selection_readers.get(key)
        if cached is not None:
            return cached[1]
        first = field_details_list[0]
        field = parent_type.fields[first.node.name.value]
        definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        metadata = getattr(definition, "metadata", None) or {}
        reader: Reader | None = None
        if metadata.get(BUILT_IN_SQL) and not first.node.arguments:
            reader = _only_prebuilt
        elif not field.args:
            reader = None if first.node.arguments else plain_reader(parent_type, field)
        elif all(_named(arg.type) in _PLAIN_ARGUMENT_TYPES for arg in field.args.values()):
            preloaded = metadata.get(PRELOADED)
            if preloaded is not None:
                reader = self._preloaded_reader(field, first, preloaded)
        self._selection_readers[key] = (field_details_list, reader)
        return reader

    def _preloaded_reader(self, field: GraphQLField, first: Any, preloaded: Any) -> Reader | None:
        try:  # graphql-core's coercion: defaults, variables
            values = get_argument_values(
                field,
                first.node,
                self.variable_values,
                first.fragment_variable_values,
                self.hide_suggestions,
            )
        except Exception:  # noqa: BLE001 - the regular path reports it properly
            return None
        # Scalars only: strawberry would pass these values as they are, by Python name.
        python_names = {
            name: arg.extensions[GraphQLCoreConverter.DEFINITION_BACKREF].python_name
            for name, arg in field.args.items()
        }
        arguments = {python_names[name]: value for name, value in values.items()}
        return lambda source: preloaded(source, **arguments)

    def _value_completer(self, type_: GraphQLOutputType, field_details_list: Any) -> Completer:
        """Completes a field's value of ``type_``, compiled once per selection."""
        non_null = isinstance(type_, GraphQLNonNull)
        inner = type_.of_type if non_null else type_  # type: ignore[union-attr]
        if isinstance(inner, GraphQLList):
            complete_item = self._value_completer(inner.of_type, field_details_list)

            def complete_list(value: Any) -> Any:
                if value is None:
                    return _GIVE_UP if non_null else None
                if not isinstance(value, (list, tuple)):  # an awaitable, an iterator
                    return _GIVE_UP
                items = [complete_item(item) for item in value]
                return _GIVE_UP if _GIVE_UP in items else items

            return complete_list
        if isinstance(inner, GraphQLObjectType):
            # Compiled at the first value that is not prebuilt JSON (a page of it needs none).
            complete_object: Completer | None = None
            json_shape = partial(self._json_shape, inner, field_details_list)
            embeddable: list[Any] = [None]  # a shape found equal to this selection's

            def complete_nullable(value: Any) -> Any:
                nonlocal complete_object
                if value is None:
                    return _GIVE_UP if non_null else None
                if value is _GIVE_UP:  # a reader's: only its resolver knows the value
                    return _GIVE_UP
                if type(value) is Prebuilt:  # the JSON of exactly this selection, or not
                    if value.shape is not embeddable[0]:  # the page's others: same object
                        if value.shape != json_shape():
                            return _GIVE_UP
                        embeddable[0] = value.shape
                    return value.json
                if complete_object is None:
                    complete_object = self._object_completer(inner, field_details_list)
                return complete_object(value)

            return complete_nullable
        serialize = inner.serialize  # type: ignore[union-attr]
        is_awaitable = self.is_awaitable

        def complete_leaf(value: Any) -> Any:
            if value is None:
                return _GIVE_UP if non_null else None
            if is_awaitable(value):
                return _GIVE_UP
            serialized = serialize(value)
            return _GIVE_UP if serialized is None or serialized is Undefined else serialized

        return complete_leaf

    def _json_shape(self, type_: GraphQLObjectType, field_details_list: Any) -> Any:
        """What a ``Prebuilt`` value must have been built for to be embedded here
        (schema/json_sql.py's ``Shape``): the fields graphql-core collects, with aliases,
        fragments and skip/include applied; None unless all of them read plain data."""
        key = (id(type_), id(field_details_list))
        cached = self._json_shapes.get(key)
        if cached is not None:
            return cached[1]
        shape: Any = None
        if self._is_plain(type_, field_details_list):
            entries = []
            for response_name, sub in self.collect_subfields(type_, field_details_list)[0].items():
                name = sub[0].node.name.value
                named = _named(type_.fields[name].type) if name != "__typename" else None
                child = None
                if isinstance(named, GraphQLObjectType):
                    child = self._json_shape(named, sub)
                    if child is None:
                        break
                entries.append((response_name, name, child))
            else:
                shape = (type_.name, tuple(entries))
        self._json_shapes[key] = (field_details_list, shape)
        return shape

    def _object_completer(self, type_: GraphQLObjectType, field_details_list: Any) -> Completer:
        """Completes an object with the selected subfields, compiled once per selection
        into one Python function (no loop over the fields, one dict display): a leaf is
        read and serialized inline (most of the fields of a big answer)."""
        key = (id(type_), id(field_details_list))
        cached = self._object_completers.get(key)
        if cached is not None:
            return cached[1]
        names: dict[str, Any] = {"G": _GIVE_UP}
        lines = [*_type_check(type_, self.is_awaitable, names)]
        keys = []
        for i, (response_name, sub) in enumerate(
            self.collect_subfields(type_, field_details_list)[0].items()
        ):
            keys.append(f"{response_name!r}: v{i}")
            name = sub[0].node.name.value
            if name == "__typename":
                keys[-1] = f"{response_name!r}: {type_.name!r}"
                continue
            field = type_.fields[name]
            names[f"read{i}"] = self._selection_reader(type_, sub)
            lines.append(f"v{i} = read{i}(source)")
            non_null = isinstance(field.type, GraphQLNonNull)
            named = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
            if is_leaf_type(named):
                names[f"leaf{i}"] = _leaf_serializer(named, self.is_awaitable)  # type: ignore[union-attr]
                exact = _IDENTITY_SERIALIZED.get(named.name)  # type: ignore[union-attr]
                lines.append(f"if v{i} is None:")
                lines.append("    return G" if non_null else "    pass")
                if exact is not None:
                    names[f"exact{i}"] = exact
                    lines.append(f"elif type(v{i}) is not exact{i}:")
                else:
                    lines.append("else:")
                lines += [f"    v{i} = leaf{i}(v{i})", f"    if v{i} is G:", "        return G"]
            else:  # objects and lists, null handling included
                names[f"child{i}"] = self._value_completer(field.type, sub)
                lines += [f"v{i} = child{i}(v{i})", f"if v{i} is G:", "    return G"]
        lines.append("return {" + ", ".join(keys) + "}")
        exec(_function_code(tuple(lines)), names)  # noqa: S102 - our own code
        complete_object: Completer = names["complete_object"]
        # Keyed on ids like graphql-core's own memo: keep the field group alive with it.
        self._object_completers[key] = (field_details_list, complete_object)
        return complete_object

    def _field_completer(
        self, parent_type: GraphQLObjectType, field_details_list: Any
    ) -> Completer | None:
        """Reads and completes a plain field, or None when it is not one."""
        key = (id(parent_type), id(field_details_list))
        cached = self._field_completers.get(key)
        if cached is not None:
            return cached[1]
        completer = None
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        if field is not None and not self._has_middleware():
            read = self._selection_reader(parent_type, field_details_list)
            if read is not None and self._is_plain(field.type, field_details_list):
                complete = self._value_completer(field.type, field_details_list)

                def completer(source: Any) -> Any:
                    value = read(source)
                    return _GIVE_UP if value is _GIVE_UP else complete(value)

        self._field_completers[key] = (field_details_list, completer)
        return completer

    def execute_field(  # type: ignore[override]
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        completer = self._field_completer(parent_type, field_details_list)
        if completer is not None:
            try:
                completed = completer(source)
            except Exception:  # noqa: BLE001 - the regular path reports it properly
                completed = _GIVE_UP
            if completed is not _GIVE_UP:
                return completed
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
