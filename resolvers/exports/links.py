"""Signed download links for a browser, which sends no Bearer header: an export or a
print of a list (``createExportLink``), and a file the worker generated (the print's 202
answer and the file's status carry them), for one user, five minutes.

The link carries the request's own parameters plus ``user``, ``expires`` and
``signature``: an HMAC-SHA256, under the application's secret, of the path, the user,
their organisation, a hash of every other parameter, and the expiry. Changing any of
them breaks the signature (FORBIDDEN); past the expiry the link is gone (LINK_EXPIRED);
a user no longer active, or moved to another organisation, no longer matches it
(FORBIDDEN).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from models.core import User
from resolvers.auth import user_actor
from resolvers.context import Scope, row_id
from resolvers.errors import Forbidden, LinkExpired
from resolvers.runtime import current, now

LINK_LIFETIME = timedelta(minutes=5)
SIGNED = ("user", "expires", "signature")  # the parameters the signature adds
LIST_PATHS = {"csv": "/exports/{list}.csv", "pdf": "/print/{list}.pdf"}


def list_path(list_name: str, format: str) -> str:
    return LIST_PATHS[format].format(list=list_name)


def _parameters_hash(parameters: Mapping[str, str]) -> str:
    canonical = "&".join(
        f"{key}={value}" for key, value in sorted(parameters.items()) if key not in SIGNED
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _signature(path: str, user_id: int, organization_id: int, hashed: str, expires: int) -> str:
    message = f"{path}\n{user_id}\n{organization_id}\n{hashed}\n{expires}"
    return hmac.new(current().secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_link(
    scope: Scope, path: str, parameters: Mapping[str, str] | None = None
) -> tuple[str, datetime]:
    """The absolute URL of ``path`` with ``parameters`` for the user of ``scope`` (links
    are for users: a script sends its API key as a Bearer header), and when it expires."""
    user_id = scope.actor.user_id
    if user_id is None:
        raise Forbidden("export links are for users; scripts send their key as a Bearer header")
    parameters = parameters or {}
    expires_at = (now() + LINK_LIFETIME).replace(microsecond=0)
    expires = int(expires_at.timestamp())
    signature = _signature(
        path, user_id, scope.organization_id, _parameters_hash(parameters), expires
    )
    query = urlencode({**parameters, "user": user_id, "expires": expires, "signature": signature})
    return f"{current().public_base_url}{path}?{query}", expires_at


def is_signed(parameters: Mapping[str, str]) -> bool:
    return "signature" in parameters


async def link_scope(path: str, parameters: Mapping[str, str]) -> Scope:
    """The scope of the user a signed link to ``path`` was made for, once its signature
    and expiry hold; the organisation is the one the link was signed for."""
    user_id = row_id(parameters.get("user", ""))
    expires = parameters.get("expires", "")
    user = await User.filter(id=user_id, is_active=True).first() if user_id else None
    if user is None or not expires.isdigit():
        raise Forbidden("this link is not valid")
    expected = _signature(
        path, user.id, user.organization_id, _parameters_hash(parameters), int(expires)
    )
    if not hmac.compare_digest(expected, parameters.get("signature", "")):
        raise Forbidden("this link is not valid")
    if now().timestamp() > int(expires):
        raise LinkExpired("this link has expired: ask for a new one")
    return Scope(user.organization_id, user_actor(user))
