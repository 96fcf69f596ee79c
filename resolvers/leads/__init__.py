"""Leads (SPEC §7), one module per concern:

- ``fields``: the field groups, values parsed from text and validated, duplicate keys.
- ``records``: one lead written (versioned update, creation, soft delete, each with its
  change log and events) and the record view's actions; ``RECORD_TYPE``, ``EVENT_TYPES``.
- ``listing``: the list's filter and order, Previous/Next.
- ``duplicates``: likely duplicates of a lead, duplicate groups.
- ``merge``: merge duplicates into a primary, and undo.
- ``conversion``: lead → contact (and client).
- ``stores``: stores, their secrets and signatures, the webhook's scope.
- ``waitlist_events``: a store's events parsed and checked field by field.
- ``ingestion``: events applied to leads (the webhook's core) and their bulk upsert.
"""
