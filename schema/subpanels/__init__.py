"""Related-record subpanels in GraphQL (rules in ``resolvers/subpanels/``).

- ``field``: ``subpanels_field``, the ``subpanels`` field of each record type.
- ``records``: the ``Note`` and ``Task`` nodes.
- ``types``: ``Subpanel``, the ``RelatedRecord`` union and which type shows each kind,
  the layout types.
- ``inputs``: what createRelated, updateNote and updateTask take; owner ids decoded.
- ``queries``, ``mutations``.
"""
