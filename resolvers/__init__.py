"""Business rules behind every query and mutation, one module per domain.

Plain async functions taking explicit arguments (a ``Scope``: organisation + actor, then
inputs), called alike by GraphQL, jobs, the CLI and tests.
"""
