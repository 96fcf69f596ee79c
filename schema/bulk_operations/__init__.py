"""Bulk operations in GraphQL (rules in ``resolvers/bulk_operations/``): the
``BulkOperation`` node and its items, the list, the progress subscription, and the
lead bulk actions (mass update with dry run, revert, delete, restore)."""
