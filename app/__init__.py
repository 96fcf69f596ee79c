"""Composition: settings, ASGI app factory, CLI, auth, public pages, dev mailbox."""
