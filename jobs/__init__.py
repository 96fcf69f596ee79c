"""arq tasks, run by the worker that ``app.worker`` composes (which logs each job with
the request that enqueued it, ``job_tags``).

- ``outbox_delivery``: deliver a batch of outbox emails (and the retry policy), enqueue
  deliveries, the outbox sweep.
- ``bulk_operations``: run a queued bulk operation; the sweep that resumes stale ones.
- ``prints``: render a queued list print into its file; the sweep of files nobody took.
- ``confirmation``: the confirmation deadline crons (expiry, reminders).
- ``schedule``: what the worker runs — the tasks with their timeouts and tries, the crons.
"""

from typing import Any

TAG_REQUEST_ID = "request_id"


def job_tags(request_id: str) -> dict[str, Any]:
    """Keyword arguments of an enqueued job that the worker logs and takes off before
    calling the task, which finds them in its context (app/worker.py): the request that
    enqueued it."""
    return {TAG_REQUEST_ID: request_id} if request_id else {}
