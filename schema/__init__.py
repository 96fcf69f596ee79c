"""The GraphQL schema: one module per domain, merged here into one Schema object."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import strawberry
from graphql import DocumentNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema import (
    auth,
    clients,
    confirmation,
    documents,
    leads,
    node,
    outbox,
    subscriptions,
    templates,
)
from schema.errors import TypedInputErrors, should_mask
from schema.execution import FastFieldsExecutionContext
from schema.sessions import mutations as session_mutations
from schema.sessions import queries as session_queries

QUERIES: tuple[type, ...] = (
    auth.Query,
    outbox.Query,
    node.Query,
    session_queries.Query,
    clients.Query,
    templates.Query,
    documents.Query,
    confirmation.Query,
    leads.Query,
)
MUTATIONS: tuple[type, ...] = (
    auth.Mutation,
    outbox.Mutation,
    session_mutations.Mutation,
    clients.Mutation,
    templates.Mutation,
    documents.Mutation,
    confirmation.Mutation,
    leads.Mutation,
)


@dataclass(frozen=True)
class SchemaLimits:
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15
    production: bool = False  # masks unexpected errors, hides introspection and suggestions
    fast_execution: bool = True  # schema/execution.py; off only to compare against it


class CheckedDocuments:
    """Query texts that passed parsing and every validation rule of one schema (its
    depth, alias and token limits included), with their parsed documents: a query seen
    before is neither parsed nor validated again. Only valid documents are kept, at most
    ``size`` of them (least recently used dropped), so junk queries cannot fill it."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, query: str | None) -> DocumentNode | None:
        document = self._documents.get(query) if query else None
        if document is not None:
            self._documents.move_to_end(query)  # type: ignore[arg-type]
        return document

    def add(self, query: str, document: DocumentNode) -> None:
        self._documents[query] = document
        if len(self._documents) > self.size:
            self._documents.popitem(last=False)


class SkipCheckedDocuments(SchemaExtension):
    """Reuses a document's earlier verdict; a new one goes through the usual parsing
    and validation (limiters included) and is remembered only if it passed them all."""

    def __init__(self, checked: CheckedDocuments) -> None:
        self.checked = checked
        self.known = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None:
            document = self.checked.get(context.query)
            if document is not None:
                context.graphql_document, self.known = document, True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.known:
            context.pre_execution_errors = []  # strawberry then skips its validation
        yield
        if not self.known and context.pre_execution_errors == [] and context.query:
            self.checked.add(context.query, context.graphql_document)  # type: ignore[arg-type]


def build_schema(limits: SchemaLimits = SchemaLimits()) -> strawberry.Schema:
    checked = CheckedDocuments()
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: SkipCheckedDocuments(checked),
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
    ]
    if limits.production:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask))
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    # Last: its exit runs first, so masking sees a typed user error.
    extensions.append(TypedInputErrors)
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=subscriptions.Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=limits.production),
        execution_context_class=FastFieldsExecutionContext if limits.fast_execution else None,
    )


def printed_schema() -> str:
    return build_schema().as_str() + "\n"
