"""Login, the current caller, and API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.core import ApiKey as ApiKeyRow
from models.core import ApiScope as ApiScopeModel
from models.core import Organization as OrganizationRow
from models.core import Role as RoleModel
from models.core import User as UserRow
from resolvers import auth, organizations
from schema.context import Info

Role = strawberry.enum(RoleModel, name="Role")
ApiScope = strawberry.enum(ApiScopeModel, name="ApiScope")


@strawberry.type
class Organization:
    id: strawberry.ID
    name: str
    slug: str
    time_zone: str

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, slug=row.slug, time_zone=row.time_zone
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    full_name: str
    role: Role  # type: ignore[valid-type]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(str(row.id)), email=row.email, full_name=row.full_name, role=row.role
        )


@strawberry.type
class Me:
    organization: Organization
    user: User | None
    api_key_name: str | None
    can_write: bool


@strawberry.type
class LoginPayload:
    access_token: str
    token_type: str
    expires_in: int
    user: User


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    scopes: list[ApiScope]  # type: ignore[valid-type]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=[ApiScopeModel(s) for s in row.scopes],
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKey
    key: str = strawberry.field(description="The full key. Shown once: only its hash is stored.")


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated caller.")
    async def me(self, info: Info) -> Me:
        scope = info.context.require_scope()
        org = await OrganizationRow.get(id=scope.organization_id)
        user_id = scope.actor.user_id
        user = await scope.get(UserRow, user_id) if user_id else None
        return Me(
            organization=Organization.from_row(org),
            user=User.from_row(user) if user else None,
            api_key_name=None if user else scope.actor.label,
            can_write=scope.actor.can_write,
        )

    @strawberry.field(description="API keys of the organisation (administrators).")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        rows = await organizations.list_api_keys(info.context.require_scope())
        return [ApiKey.from_row(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Exchange email and password for a Bearer access token.")
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        services = info.context.services
        if services is not None:
            await services.rate_limit("login", f"{info.context.client_ip}:{email.lower()}")
        result = await auth.login(email, password)
        return LoginPayload(
            access_token=result.token,
            token_type="Bearer",
            expires_in=result.expires_in_seconds,
            user=User.from_row(result.user),
        )

    @strawberry.mutation
    async def create_api_key(self, info: Info, name: str, scopes: list[ApiScope]) -> CreatedApiKey:  # type: ignore[valid-type]
        row, key = await organizations.create_api_key_as(
            info.context.require_writer(), name, scopes
        )
        return CreatedApiKey(api_key=ApiKey.from_row(row), key=key)

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        row = await organizations.revoke_api_key(info.context.require_writer(), id)
        return ApiKey.from_row(row)
