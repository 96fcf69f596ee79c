"""Tortoise models, one module per domain, grouped into Tortoise apps (see ``models.apps``).

Model docstrings become SQL table comments: keep semicolons out of them (the SQLite
migration runner splits statements on them).
"""
