"""``/metrics`` in Prometheus' text format: what this process counted (GraphQL operations
and errors: schema/metrics.py; email deliveries: jobs/outbox_delivery.py; job durations
(app/worker.py) and live subscriptions (app/wiring.py): here) and the outbox depth, read from the database at each scrape.

Access: with ``METRICS_TOKEN`` set, ``Authorization: Bearer <token>`` from anywhere;
without it, development answers loopback clients only and production has no /metrics.
Several processes behind one port (``trainhub serve --workers N``) share their counts
through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the
CLI). The worker serves its own on ``WORKER_METRICS_PORT``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.settings import Settings
from resolvers.outbox import depth_by_status

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

ACTIVE_SUBSCRIPTIONS = Gauge(
    "trainhub_active_subscriptions",
    "GraphQL subscriptions following the live event feed",
    multiprocess_mode="livesum",
)
JOB_SECONDS = Histogram(
    "trainhub_job_seconds",
    "Worker jobs (count and time), by task and outcome (ok, retry, error)",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


class _OutboxDepth(Collector):
    def __init__(self, counts: dict[Any, int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "trainhub_outbox_emails",
            "Outbox emails by status (all organisations)",
            labels=["status"],
        )
        for status, count in self.counts.items():
            gauge.add_metric([str(status)], count)
        yield gauge


def _process_metrics() -> bytes:
    if MULTIPROCESS_DIR not in os.environ:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


def _is_loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def routes(settings: Settings) -> list[Route]:
    token = settings.metrics_token
    if settings.is_production and not token:
        return []

    async def metrics(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse(
                    "metrics need Authorization: Bearer <METRICS_TOKEN>",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif not _is_loopback(request):
            return PlainTextResponse("metrics are served to loopback clients only", 403)
        outbox = CollectorRegistry()
        outbox.register(_OutboxDepth(await depth_by_status()))
        body = _process_metrics() + generate_latest(outbox)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics)]
