"""Checks of a request that graphql-core's validation rules cannot make, because they
see the document and not the request: which operation to run, and over which transport."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from resolvers.errors import ValidationFailed
from schema.context import Context


class OperationGuard(SchemaExtension):
    """Refuses, as typed errors before anything runs, a document of several operations
    without ``operationName`` (strawberry would run the first one; the GraphQL spec asks
    for an error) and a subscription sent by HTTP (strawberry would execute it as a query and answer
    an internal error: subscriptions are served over graphql-transport-ws only).

    Listed after strawberry's ValidationCache: both hook validation's start, and the
    cache sets the validation errors, to which this adds its own."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        refusal = _refusal(context)
        if refusal is not None:
            error = GraphQLError(refusal.message, original_error=refusal)
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield


def _refusal(context: ExecutionContext) -> ValidationFailed | None:
    document = context.graphql_document
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # The name the caller gave, None if none: the public ``operation_name`` falls back
    # to the first operation's, and strawberry (0.341) has no public copy of it (the
    # view's and Schema.stream's arguments do not reach extensions); tests/test_defects
    # (defect 13) fails if this attribute goes.
    given_name = context._provided_operation_name  # noqa: SLF001
    if given_name is None and len(operations) > 1:
        return ValidationFailed(
            "the document has several operations: name the one to run in operationName",
            field="operationName",
        )
    chosen = next(
        (
            op
            for op in operations
            if given_name is None or (op.name and op.name.value == given_name)
        ),
        None,
    )
    over_http = isinstance(context.context, Context) and context.context.over_http
    if (
        chosen is not None
        and OperationType(chosen.operation.value) is OperationType.SUBSCRIPTION
        and over_http
    ):
        return ValidationFailed(
            "subscriptions are served over WebSocket (graphql-transport-ws), not HTTP",
            field="query",
        )
    return None
