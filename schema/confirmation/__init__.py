"""Client confirmation of session dates in GraphQL (rules in ``resolvers/confirmation/``).

- ``types``: ``Confirmation``, ``DateProposal`` (node), the preview and settings types;
  ``confirmation_of`` / ``proposals_of_row`` for the SessionClient node type.
- ``inputs``: ``DateProposalInput``, ``BulkDateProposalInput`` and their decoding.
- ``queries``: a session client's confirmation and proposals.
- ``mutations``: preview/send (one, or many on the bulk contract), manual validation,
  the reminder setting.
"""
