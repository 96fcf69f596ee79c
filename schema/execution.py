"""A faster execution path for plain-attribute fields, GraphQL semantics intact.

graphql-core spends ~10 µs on every field: a resolve-info object, a response path, the
resolver call and the generic completion. In a large nested page most fields are plain
attributes of already-loaded objects: scalars and enums (``title``, ``date``…), nested
objects and lists of them. For strawberry "basic" fields (no resolver, no field
extension, no arguments) this executor reads the attribute and completes it directly,
recursing into object and list values with the same sub-selection graphql-core would
collect.

Anything unusual is handed to graphql-core's own code for that field — which, for a
plain attribute, does the very same read — so results, error messages, error paths
and null propagation are exactly graphql-core's: a null in a non-null position, a
value that fails coercion or its type check, ``@defer``/``@stream``, resolve-hook
middleware. Fields with real resolvers (dataloaders, permissions) always take
graphql-core's path; their errors are located with correct paths because paths are
built as graphql-core builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLOutputType
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from graphql.type import (
    GraphQLList,
    GraphQLNonNull,
    is_leaf_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# Returned by a fast completion that hands the field to graphql-core's path.
FALLBACK: Any = object()


class _Shape:
    """How a GraphQL output type is completed on the fast path."""

    __slots__ = ("item", "kind", "named", "non_null", "type")

    def __init__(self, output_type: GraphQLOutputType) -> None:
        self.type = output_type
        self.non_null = isinstance(output_type, GraphQLNonNull)
        inner = output_type.of_type if self.non_null else output_type
        self.named: Any = inner
        self.item: _Shape | None = None
        if isinstance(inner, GraphQLList):
            self.item = _Shape(inner.of_type)
            self.kind = "list" if self.item.kind in ("leaf", "object") else "other"
        elif is_leaf_type(inner):
            self.kind = "leaf"
        elif is_object_type(inner):
            self.kind = "object"
        else:
            self.kind = "other"  # interfaces and unions: graphql-core resolves the type


class _Plan:
    __slots__ = ("attribute", "shape")

    def __init__(self, attribute: str, shape: _Shape) -> None:
        self.attribute = attribute
        self.shape = shape


# id(field) -> (field, plan). GraphQLField is unhashable; keeping the field in the entry
# keeps its id from being reused by another field while the entry exists.
_plans: dict[int, tuple[GraphQLField, _Plan | None]] = {}


def _plan(field_def: GraphQLField) -> _Plan | None:
    entry = _plans.get(id(field_def))
    if entry is None or entry[0] is not field_def:
        entry = _plans[id(field_def)] = (field_def, _make_plan(field_def))
    return entry[1]


def _make_plan(field_def: GraphQLField) -> _Plan | None:
    strawberry_field = (field_def.extensions or {}).get("strawberry-definition")
    if strawberry_field is None or field_def.args or not strawberry_field.is_basic_field:
        return None
    if not getattr(field_def.resolve, "_is_default", False):
        return None  # exception handlers or other wrapping: keep the full path
    shape = _Shape(field_def.type)
    if shape.kind == "other":
        return None
    return _Plan(strawberry_field.python_name, shape)


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        if position_context is not None or (manager is not None and manager.middlewares):
            # Incremental delivery, or resolve hooks that must see every field.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        slow: GroupedFieldSet = {}
        pending = False
        for name, details, plan in self._compile(parent_type, grouped_field_set):
            value = (
                FALLBACK
                if plan is None
                else self._complete_attribute(plan, source_value, details, path, name, parent_type)
            )
            results[name] = value  # FALLBACK keeps the query's response-key order
            if value is FALLBACK:
                slow[name] = details
            elif not pending and plan is not None and plan.shape.kind != "leaf":
                pending = self.is_awaitable(value)
        if slow:
            rest = super().execute_fields(parent_type, source_value, path, slow, None)
            if self.is_awaitable(rest):
                return self._await_fields(results, rest)
            results.update(rest)
            pending = pending or any(self.is_awaitable(v) for v in rest.values())
        if not pending and not slow:
            return results
        return self._finish(results)

    def _compile(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[tuple[str, FieldDetailsList, _Plan | None]]:
        """Plans of a selection set, once per execution (graphql-core memoizes the
        grouped field set of a sub-selection, so every item of a list shares it)."""
        cache: dict[int, Any] = self.__dict__.setdefault("_compiled", {})
        entry = cache.get(id(grouped_field_set))
        if entry is None or entry[0] is not grouped_field_set:
            fields = parent_type.fields
            compiled = []
            for name, details in grouped_field_set.items():
                field_def = fields.get(details[0].node.name.value)
                compiled.append((name, details, _plan(field_def) if field_def else None))
            entry = cache[id(grouped_field_set)] = (grouped_field_set, compiled)
        return entry[1]  # type: ignore[no-any-return]

    # -- fast completion -------------------------------------------------------------

    def _complete_attribute(
        self,
        plan: _Plan,
        source: Any,
        details: FieldDetailsList,
        path: Path | None,
        name: str,
        parent_type: GraphQLObjectType,
    ) -> Any:
        value = getattr(source, plan.attribute, Undefined)
        shape = plan.shape
        if shape.kind == "leaf":
            return _complete_leaf(shape, value)
        if value is Undefined:
            return FALLBACK
        if value is None:
            return FALLBACK if shape.non_null else None
        field_path = Path(path, name, parent_type.name)
        if shape.kind == "object":
            return self._guarded(
                shape, details, field_path, self._object(shape, details, field_path, value)
            )
        return self._guarded(
            shape, details, field_path, self._list(shape, details, field_path, value)
        )

    def _object(self, shape: _Shape, details: FieldDetailsList, path: Path, value: Any) -> Any:
        object_type = shape.named
        if object_type.is_type_of is not None and object_type.is_type_of(value, None) is not True:
            return FALLBACK
        grouped, defers, _ = self.collect_subfields(object_type, details)
        if defers:
            return FALLBACK
        return lambda: self.execute_fields(object_type, value, path, grouped, None)

    def _list(self, shape: _Shape, details: FieldDetailsList, path: Path, values: Any) -> Any:
        if not isinstance(values, list | tuple):
            return FALLBACK
        item = shape.item
        assert item is not None
        if item.kind == "leaf":
            completed = [_complete_leaf(item, v) for v in values]
            return FALLBACK if any(c is FALLBACK for c in completed) else (lambda: completed)
        object_type = item.named
        is_type_of = object_type.is_type_of
        for v in values:
            if v is None:
                if item.non_null:
                    return FALLBACK
            elif is_type_of is not None and is_type_of(v, None) is not True:
                return FALLBACK
        grouped, defers, _ = self.collect_subfields(object_type, details)
        if defers:
            return FALLBACK

        def run() -> Any:
            items = [
                None
                if v is None
                else self._guarded_call(
                    item,
                    details,
                    path.add_key(i, None),
                    lambda v=v, i=i: self.execute_fields(
                        object_type, v, path.add_key(i, None), grouped, None
                    ),
                )
                for i, v in enumerate(values)
            ]
            awaitables = [i for i, r in enumerate(items) if self.is_awaitable(r)]
            if not awaitables:
                return items

            async def await_items() -> list[Any]:
                done = await gather_with_cancel(*(items[i] for i in awaitables))
                for i, result in zip(awaitables, done, strict=True):
                    items[i] = result
                return items

            return await_items()

        return run

    def _guarded(self, shape: _Shape, details: FieldDetailsList, path: Path, run: Any) -> Any:
        if run is FALLBACK:
            return FALLBACK
        return self._guarded_call(shape, details, path, run)

    def _guarded_call(
        self, shape: _Shape, details: FieldDetailsList, path: Path, run: Callable[[], Any]
    ) -> Any:
        """graphql-core's error protection around a completion: a nullable position
        records the error and becomes null; a non-null one re-raises to its parent."""
        try:
            result = run()
        except Exception as raw_error:
            self.handle_field_error(raw_error, shape.type, details, path)
            return None
        if not self.is_awaitable(result):
            return result

        async def await_guarded() -> Any:
            try:
                return await result
            except Exception as raw_error:
                self.handle_field_error(raw_error, shape.type, details, path)
                return None

        return await_guarded()

    # -- assembling the response map ------------------------------------------------------

    def _finish(self, results: dict[str, Any]) -> AwaitableOrValue[dict[str, Any]]:
        is_awaitable = self.is_awaitable
        pending = [k for k, v in results.items() if v is not FALLBACK and is_awaitable(v)]
        if not pending:
            return {k: v for k, v in results.items() if v is not FALLBACK}

        async def await_results() -> dict[str, Any]:
            done = await gather_with_cancel(*(results[k] for k in pending))
            results.update(zip(pending, done, strict=True))
            return {k: v for k, v in results.items() if v is not FALLBACK}

        return await_results()

    async def _await_fields(self, results: dict[str, Any], rest: Any) -> dict[str, Any]:
        results.update(await rest)
        finished = self._finish(results)
        return await finished if self.is_awaitable(finished) else finished  # type: ignore[misc]


def _complete_leaf(shape: _Shape, value: Any) -> Any:
    """The coerced scalar/enum, or FALLBACK when graphql-core must produce the error."""
    if value is None:
        return FALLBACK if shape.non_null else None
    if value is Undefined:
        return FALLBACK
    try:
        coerced = shape.named.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - the full path reports it as a field error
        return FALLBACK
    return FALLBACK if coerced is None or coerced is Undefined else coerced
