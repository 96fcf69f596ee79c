"""The GraphQL schema: one module per domain, merged here into one Schema object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import strawberry
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

from schema import auth, confirmation, documents, outbox, subscriptions, templates
from schema.errors import should_mask

QUERIES: tuple[type, ...] = (
    auth.Query,
    outbox.Query,
    templates.Query,
    documents.Query,
    confirmation.Query,
)
MUTATIONS: tuple[type, ...] = (
    auth.Mutation,
    outbox.Mutation,
    templates.Mutation,
    documents.Mutation,
    confirmation.Mutation,
)


@dataclass(frozen=True)
class SchemaLimits:
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15
    production: bool = False  # masks unexpected errors, hides introspection and suggestions


def build_schema(limits: SchemaLimits = SchemaLimits()) -> strawberry.Schema:
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
    ]
    if limits.production:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask))
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=subscriptions.Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=limits.production),
    )


def printed_schema() -> str:
    return build_schema().as_str() + "\n"
