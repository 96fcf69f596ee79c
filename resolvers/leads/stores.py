"""Stores (SPEC §7 ingestion): the shops whose waiting lists feed leads, their signing
secrets, and the scope their webhook acts in."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from models.core import Role, User
from models.leads import Store
from resolvers.context import Actor, ActorKind, Scope
from resolvers.errors import Forbidden, NotFound, ValidationFailed

MIN_SECRET_LENGTH = 16


def new_store_secret() -> str:
    return secrets.token_urlsafe(32)


async def create_store(
    scope: Scope,
    name: str,
    source_system: str,
    default_assignee_id: int | None,
    secret: str | None = None,
) -> tuple[Store, str]:
    """A store and its signing secret (the one its platform gave, or a new one), returned
    this once (administrators only)."""
    if scope.actor.role != Role.ADMIN:
        raise Forbidden("only administrators may add a store")
    if not name.strip():
        raise ValidationFailed("a store needs a name", field="name")
    if default_assignee_id is not None:
        try:
            await scope.get(User, default_assignee_id)
        except NotFound:
            raise NotFound("default assignee not found", field="defaultAssigneeId") from None
    if secret is not None and not MIN_SECRET_LENGTH <= len(secret.strip()) <= 128:
        raise ValidationFailed(
            f"a store secret needs {MIN_SECRET_LENGTH} to 128 characters", field="secret"
        )
    secret = secret.strip() if secret else new_store_secret()
    store = await scope.create(
        Store,
        name=name.strip(),
        secret=secret,
        source_system=source_system.strip() or name.strip(),
        default_assignee_id=default_assignee_id,
    )
    return store, secret


async def get_store(scope: Scope, store_id: int | None) -> Store:
    """None: an id that is no store's, answered like a missing one."""
    try:
        return await scope.get(Store, store_id)
    except NotFound:
        raise NotFound("store not found", field="storeId") from None


def store_scope(store: Store) -> Scope:
    """The webhook acts as the store, inside the store's organisation only."""
    return Scope(store.organization_id, Actor(ActorKind.STORE, str(store.id), store.name))


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Signature: sha256=<hex>`` of the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())
