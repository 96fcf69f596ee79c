"""Tortoise app registry: each app owns its model modules and its migrations package.

Apps are split by domain so that each domain's migrations evolve on their own; foreign
keys across apps are written ``"core.Organization"``.
"""

from __future__ import annotations

from typing import Any

APPS: dict[str, list[str]] = {
    "core": [
        "models.core",
        "models.audit",
        "models.outbox",
        "models.records",
        "models.subpanels",
    ],
    "training": ["models.sessions"],
    "confirmation": ["models.confirmation"],
    "leads": ["models.leads"],
    "operations": ["models.operations"],
    "exports": ["models.exports"],
}


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            label: {
                "models": modules,
                "default_connection": "default",
                "migrations": f"models.migrations.{label}",
            }
            for label, modules in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }
