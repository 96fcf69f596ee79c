"""The GraphQL schema: one module per domain, merged here into one Schema object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema import (
    auth,
    clients,
    documents,
    exports,
    node,
    outbox,
    subscriptions,
    templates,
)
from schema.bulk_operations import emails as bulk_emails
from schema.bulk_operations import mutations as bulk_operation_mutations
from schema.bulk_operations import queries as bulk_operation_queries
from schema.bulk_operations import subscriptions as bulk_operation_subscriptions
from schema.confirmation import mutations as confirmation_mutations
from schema.confirmation import queries as confirmation_queries
from schema.errors import TypedInputErrors, log_errors, should_mask
from schema.execution import FastFieldsExecutionContext
from schema.guards import OperationGuard
from schema.leads import mutations as lead_mutations
from schema.leads import queries as lead_queries
from schema.metrics import OperationMetrics
from schema.sessions import mutations as session_mutations
from schema.sessions import queries as session_queries
from schema.subpanels import mutations as subpanel_mutations
from schema.subpanels import queries as subpanel_queries

QUERIES: tuple[type, ...] = (
    auth.Query,
    outbox.Query,
    node.Query,
    session_queries.Query,
    clients.Query,
    templates.Query,
    documents.Query,
    confirmation_queries.Query,
    lead_queries.Query,
    subpanel_queries.Query,
    bulk_operation_queries.Query,
    bulk_emails.Query,
    exports.Query,
)
MUTATIONS: tuple[type, ...] = (
    auth.Mutation,
    outbox.Mutation,
    session_mutations.Mutation,
    clients.Mutation,
    templates.Mutation,
    documents.Mutation,
    confirmation_mutations.Mutation,
    lead_mutations.Mutation,
    subpanel_mutations.Mutation,
    bulk_operation_mutations.Mutation,
    bulk_emails.Mutation,
    exports.Mutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (
    subscriptions.Subscription,
    bulk_operation_subscriptions.Subscription,
)


class TrainhubSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


@dataclass(frozen=True)
class SchemaLimits:
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15
    production: bool = False  # masks unexpected errors, hides introspection and suggestions
    fast_execution: bool = True  # schema/execution.py; off only to compare against it


# Documents whose parse and validation verdicts are kept (strawberry's LRU caches).
DOCUMENTS_CACHED = 256


def build_schema(limits: SchemaLimits = SchemaLimits()) -> strawberry.Schema:
    # The rule classes are made once per schema, not once per request as the limiter
    # extensions would: the validation cache is keyed on them, so it hits.
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if limits.production:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,  # first: its exit runs last, after masking and typing
        # A document over the token limit fails parsing, which the cache never keeps.
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=DOCUMENTS_CACHED),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
        OperationGuard,  # after the cache: it adds to the errors the cache sets
    ]
    if limits.production:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask))
    # Last: its exit runs first, so masking sees a typed user error.
    extensions.append(TypedInputErrors)
    return TrainhubSchema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS),
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=limits.production),
        execution_context_class=FastFieldsExecutionContext if limits.fast_execution else None,
    )


def printed_schema() -> str:
    return build_schema().as_str() + "\n"
