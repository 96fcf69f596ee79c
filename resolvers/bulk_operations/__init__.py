"""Bulk operations on leads (SPEC §7 "Bulk actions"), one module per concern:

- ``kinds``: what a kind is and the registry; ``engine``: start, batches, resume;
  ``rows``: one-statement multi-row INSERTs; ``queries``: reading operations and items.
- The kinds: ``mass_update`` (with its dry run), ``deletion`` (delete / restore),
  ``revert`` (puts back what a revertible kind did).

How a new kind plugs in (e.g. bulk emails): write ``async def process(batch: Batch) ->
list[ItemOutcome]`` that works on ``batch.lead_ids`` (already frozen, of the
organisation; re-read them in the batch, they may have changed since the start) inside
the transaction the engine opened — set-based writes, emails through the outbox, events
through ``resolvers.events`` — and answers one ``ItemOutcome(position, lead_id, outcome=…)``
per item, or with ``errors=[ItemError(...)]`` for an item that failed; ``register(Kind(
"send_lead_emails", process))`` at import time (add its module to
``kinds.KIND_MODULES``); start it with ``engine.start_operation(scope, "send_lead_emails",
await select(...), arguments={...}, policy=…, idempotency_key=…)``, where ``arguments``
(JSON) is what ``batch.arguments`` gives back in every batch, also in the worker.
"""
