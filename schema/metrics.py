"""GraphQL metrics (served at /metrics, app/metrics.py): operations and their latency per
operation name and type, errors by code; and a log line per operation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLError
from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension

from schema.errors import is_user_facing

log = logging.getLogger(__name__)

OPERATION_SECONDS = Histogram(
    "trainhub_graphql_operation_seconds",
    "GraphQL operations (count and time), by operation name and type",
    ["operation", "type"],
)
ERRORS = Counter(
    "trainhub_graphql_errors_total",
    "Errors in GraphQL answers, by code (INTERNAL: masked, GRAPHQL: parse or validation)",
    ["operation", "code"],
)

# Operation names are the caller's choice: past this many distinct ones, new names are
# counted as OTHER so a client cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 300
ANONYMOUS, OTHER, UNPARSED = "_anonymous", "_other", "_unparsed"
_seen_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return ANONYMOUS
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return OTHER
        _seen_names.add(name)
    return name


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return "GRAPHQL" if is_user_facing(error) else "INTERNAL"


class OperationMetrics(SchemaExtension):
    """First of the schema's extensions: its exit runs last, so it counts the errors as
    the caller receives them (typed, masked)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        operation, kind = UNPARSED, "unknown"
        if context.graphql_document is not None:
            operation = operation_label(context.operation_name)
            with suppress(RuntimeError):  # no operation of that name in the document
                kind = context.operation_type.value
        OPERATION_SECONDS.labels(operation, kind).observe(seconds)
        codes = [error_code(e) for e in getattr(context.result, "errors", None) or []]
        for code in codes:
            ERRORS.labels(operation, code).inc()
        log.info(
            "graphql %s %s in %.1f ms%s",
            kind,
            operation,
            seconds * 1000,
            f", errors: {', '.join(codes)}" if codes else "",
        )
