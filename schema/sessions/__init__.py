"""Training sessions in GraphQL (rules in ``resolvers/sessions/``).

- ``types``: the ``Session``, ``SessionSlot`` and ``SessionClient`` nodes, and the
  builders that prefetch what a query selects below them (schema/prefetch.py).
- ``inputs``: the list filter and order, the session and slot inputs.
- ``queries``: ``sessions`` and ``session``.
- ``mutations``: sessions, their planning and their clients, the two bulk mutations
  (``createSessions``, ``addClientsToSession``) with their payloads.
"""
