"""Leads in GraphQL (SPEC §7); thin, the rules live in ``resolvers.leads``:

- ``types``: the Lead, Store and LeadMerge nodes, labelled values, payloads.
- ``inputs``: filter, order, the editable fields, waiting-list entries, store, merge and
  conversion inputs.
- ``queries``: the list, a lead, its change log and duplicates, duplicate groups, stores.
- ``mutations``: record actions, stores and their waiting-list entries, merge, conversion.
"""
