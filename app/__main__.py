"""``python -m app`` is ``trainhub``."""

from app.cli import main

main()
