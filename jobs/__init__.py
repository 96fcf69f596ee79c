"""arq tasks, run by the worker that ``app.worker`` composes.

- ``outbox_delivery``: deliver one outbox email (and its retry policy), enqueue deliveries,
  the outbox sweep.
- ``bulk_operations``: run a queued bulk operation; the sweep that resumes stale ones.
- ``prints``: render a queued list print into its file; the sweep of files nobody took.
- ``confirmation``: the confirmation deadline crons (expiry, reminders).
- ``schedule``: what the worker runs — the tasks with their timeouts and tries, the crons.
"""
