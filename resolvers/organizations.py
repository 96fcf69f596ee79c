"""Organisations, their users and API keys (CLI and admin mutations)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tortoise.exceptions import IntegrityError

from models.core import ApiKey, ApiScope, Organization, Role, User
from resolvers.auth import hash_password, new_api_key
from resolvers.context import Scope
from resolvers.errors import Conflict, Forbidden, ValidationFailed, WrongState
from resolvers.runtime import atomic, now
from resolvers.templates import ensure_default_templates

MIN_PASSWORD_LENGTH = 10


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "org"


async def create_organization(
    name: str, *, slug: str | None = None, time_zone: str = "Europe/Paris"
) -> Organization:
    name = name.strip()
    if not name:
        raise ValidationFailed("name is required", field="name")
    try:
        async with atomic():
            organization = await Organization.create(
                name=name, slug=slug or _slugify(name), time_zone=time_zone
            )
            await ensure_default_templates(organization.id)
            return organization
    except IntegrityError:
        raise Conflict(
            f"an organisation with slug '{slug or _slugify(name)}' exists", field="slug"
        ) from None


async def create_user(
    organization: Organization,
    email: str,
    password: str,
    *,
    role: Role = Role.STAFF,
    full_name: str = "",
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed("email is not valid", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    try:
        async with atomic():
            return await User.create(
                organization_id=organization.id,
                email=email,
                full_name=full_name,
                password_hash=hash_password(password),
                role=role,
            )
    except IntegrityError:
        raise Conflict(f"a user with email {email} exists", field="email") from None


async def create_api_key(
    organization: Organization,
    name: str,
    scopes: Iterable[ApiScope],
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which is shown once and never stored."""
    scope_list = sorted({ApiScope(s).value for s in scopes})
    if not scope_list:
        raise ValidationFailed("at least one scope is required", field="scopes")
    key, prefix, secret_hash = new_api_key()
    async with atomic():
        api_key = await ApiKey.create(
            organization_id=organization.id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=scope_list,
            created_by=created_by,
        )
    return api_key, key


def _require_admin(scope: Scope) -> None:
    if scope.actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may manage API keys")


async def create_api_key_as(
    scope: Scope, name: str, scopes: Iterable[ApiScope]
) -> tuple[ApiKey, str]:
    _require_admin(scope)
    organization = await Organization.get(id=scope.organization_id)
    user = await scope.get(User, scope.actor.user_id)
    return await create_api_key(organization, name, scopes, created_by=user)


async def revoke_api_key(scope: Scope, api_key_id: int | str) -> ApiKey:
    _require_admin(scope)
    async with atomic():
        api_key = await scope.get(ApiKey, api_key_id, for_update=True)
        if api_key.revoked_at is not None:
            raise WrongState("this API key is already revoked")
        api_key.revoked_at = now()
        await api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


async def list_api_keys(scope: Scope) -> list[ApiKey]:
    _require_admin(scope)
    return await scope.query(ApiKey).order_by("id")
