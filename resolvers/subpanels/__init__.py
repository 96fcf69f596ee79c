"""Related-record subpanels (SPEC §8).

- ``sources``: where a panel's records come from (links of a target type, a relation, the
  change log), counted for a page of owners in one statement and paged for one owner.
- ``registry``: the one table of which panels each record type has, and their owners.
- ``layout``: each user's order and collapse state per record type (API keys: the default).
- ``loaders``: per-request batches of panel counts and layouts.
- ``records``: notes and tasks (their fields, creation, versioned updates).
- ``related``: create / select / unlink on a record, and deleting a note or task.
"""
