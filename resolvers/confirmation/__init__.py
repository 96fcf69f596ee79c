"""Client confirmation of session dates (SPEC §5).

- ``state``: the state machine's core — every state change goes through ``transition``
  (change log + ``confirmation.changed`` event + the session's confirmation summary, in
  the caller's transaction); the reset after a planning change.
- ``session_client``: ``SessionClientContext``, a session client with what a proposal is
  made of, and the organisation's calendar day.
- ``emails``: response-link tokens and URLs, the planning snapshot, template variables.
- ``proposals``: compose, preview and send a proposal; the bulk send (``sendDateProposals``).
- ``answers``: what a link token opens, the public response page's read, the client's
  answer and the owner's notification.
- ``deadlines``: what the crons call (expiry, reminders) and the reminder setting.
- ``manual``: manual validation on/off.
- ``history``: labels and history (the read side). The per-request dataloaders of the
  confirmation fields live with the others in ``resolvers/dataloaders.py``.

A proposal's link works while the session client's ``current_proposal_id`` still points at
it and its deadline (end of that day in the organisation's time zone) has not passed.
"""
