"""Training sessions, their planning and the clients in them (SPEC §4–5).

- ``slots``: a slot's value (``SlotSpec``), the planning checks, how slots are stored.
- ``listing``: the session list's filter and sort orders.
- ``records``: creating (one or in bulk), updating and deleting sessions.
- ``planning``: changing a session's slots; every change goes through ``planning_changed``.
- ``session_clients``: adding clients to a session (one or in bulk) and removing them.

Every write is one transaction with its change-log rows and events.
"""
