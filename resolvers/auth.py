"""Authentication: argon2 passwords, signed expiring access tokens, hashed API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from models.core import ApiKey, ApiScope, User
from resolvers.context import Actor, ActorKind, Scope
from resolvers.errors import Unauthenticated
from resolvers.runtime import current, now

_hasher = PasswordHasher()
API_KEY_PREFIX = "thk_"
LAST_USED_PRECISION = timedelta(minutes=1)
# A constant-cost dummy so that an unknown email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    token: str
    user: User
    expires_in_seconds: int


def user_actor(user: User) -> Actor:
    return Actor(ActorKind.USER, str(user.id), user.email, role=user.role)


def issue_access_token(user: User) -> LoginResult:
    rt = current()
    ttl = timedelta(minutes=rt.access_token_minutes)
    issued = now()
    claims = {"sub": str(user.id), "org": user.organization_id, "iat": issued, "exp": issued + ttl}
    token = jwt.encode(claims, rt.secret_key, algorithm="HS256")
    return LoginResult(token, user, int(ttl.total_seconds()))


async def login(email: str, password: str) -> LoginResult:
    user = await User.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise Unauthenticated("wrong email or password")
    if not verify_password(user.password_hash, password):
        raise Unauthenticated("wrong email or password")
    user.last_login_at = now()
    await user.save(update_fields=["last_login_at"])
    return issue_access_token(user)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(full key shown once, lookup prefix, stored hash)."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, _key_hash(key)


def bearer_from_header(value: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header."""
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


async def authenticate(bearer: str | None) -> Scope | None:
    """The scope of a Bearer credential (access token or API key); None when absent."""
    if not bearer:
        return None
    if bearer.startswith(API_KEY_PREFIX):
        return await _authenticate_api_key(bearer)
    try:
        claims = jwt.decode(
            bearer, current().secret_key, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        raise Unauthenticated("invalid or expired access token") from None
    user = await User.filter(id=int(claims["sub"]), is_active=True).first()
    if user is None or user.organization_id != claims.get("org"):
        raise Unauthenticated("invalid or expired access token")
    return Scope(user.organization_id, user_actor(user))


async def _authenticate_api_key(key: str) -> Scope:
    prefix = key[len(API_KEY_PREFIX) :].split("_", 1)[0]
    api_key = await ApiKey.filter(prefix=prefix).first()
    if (
        api_key is None
        or api_key.revoked_at is not None
        or not hmac.compare_digest(api_key.secret_hash, _key_hash(key))
    ):
        raise Unauthenticated("invalid or revoked API key")
    at = now()
    if api_key.last_used_at is None or at - api_key.last_used_at > LAST_USED_PRECISION:
        # Not a write on every request: last use is recorded to the minute.
        await ApiKey.filter(id=api_key.id).update(last_used_at=at)
    scopes = frozenset(ApiScope(s) for s in api_key.scopes)
    actor = Actor(ActorKind.API_KEY, str(api_key.id), api_key.name, scopes=scopes)
    return Scope(api_key.organization_id, actor)
