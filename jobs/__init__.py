"""arq worker: email delivery, outbox sweep, and time-driven jobs."""
