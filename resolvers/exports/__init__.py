"""Exports and prints of the lists (SPEC §7): which lists, their columns, their rows."""
