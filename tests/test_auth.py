"""Login, tokens, API keys, roles and tenant isolation through the HTTP API."""

from __future__ import annotations

from typing import Any

from models.core import ApiScope
from tests.conftest import PASSWORD, GraphQLClient, Tenant, error_codes

ME = "{ me { organization { name } user { email role } apiKeyName canWrite } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken tokenType user { email } } }"


async def test_login_then_me(gql: GraphQLClient, tenant: Tenant) -> None:
    data = await gql.ok(LOGIN, {"e": "STAFF@org-a.test", "p": PASSWORD})
    token = data["login"]["accessToken"]
    assert data["login"]["tokenType"] == "Bearer"
    me = (await gql.ok(ME, as_=token))["me"]
    assert me == {
        "organization": {"name": "Org A"},
        "user": {"email": "staff@org-a.test", "role": "STAFF"},
        "apiKeyName": None,
        "canWrite": True,
    }


async def test_wrong_password_and_unknown_email_look_the_same(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    wrong = await gql(LOGIN, {"e": "staff@org-a.test", "p": "nope nope nope"})
    unknown = await gql(LOGIN, {"e": "ghost@org-a.test", "p": PASSWORD})
    assert error_codes(wrong) == error_codes(unknown) == ["UNAUTHENTICATED"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert wrong["data"] is None


async def test_anonymous_and_tampered_tokens_are_refused(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    assert error_codes(await gql(ME)) == ["UNAUTHENTICATED"]
    tampered = tenant.staff.token[:-2] + ("aa" if not tenant.staff.token.endswith("aa") else "bb")
    body = await gql(ME, as_=tampered)
    assert body["status"] == 401 and error_codes(body) == ["UNAUTHENTICATED"]


async def test_api_key_scopes_and_revocation(gql: GraphQLClient, tenant: Tenant) -> None:
    created = await gql.ok(
        'mutation { createApiKey(name: "script", scopes: [READ]) { key apiKey { id prefix scopes } } }',
        as_=tenant.admin,
    )
    key = created["createApiKey"]["key"]
    assert key.startswith("thk_") and created["createApiKey"]["apiKey"]["scopes"] == ["READ"]
    me = (await gql.ok(ME, as_=key))["me"]
    assert me["apiKeyName"] == "script" and me["canWrite"] is False

    # READ-only key cannot mutate.
    denied = await gql('mutation { createApiKey(name: "x", scopes: [READ]) { key } }', as_=key)
    assert error_codes(denied) == ["FORBIDDEN"]

    key_id = created["createApiKey"]["apiKey"]["id"]
    await gql.ok(
        "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        {"id": key_id},
        as_=tenant.admin,
    )
    refused = await gql(ME, as_=key)
    assert refused["status"] == 401 and error_codes(refused) == ["UNAUTHENTICATED"]


async def test_last_used_is_recorded(gql: GraphQLClient, tenant: Tenant) -> None:
    key = await tenant.api_key(ApiScope.READ)
    keys = (await gql.ok("{ apiKeys { lastUsedAt } }", as_=tenant.admin))["apiKeys"]
    assert keys == [{"lastUsedAt": None}]
    await gql.ok(ME, as_=key)
    keys = (await gql.ok("{ apiKeys { lastUsedAt } }", as_=tenant.admin))["apiKeys"]
    assert keys[0]["lastUsedAt"] is not None

    # Recorded to the minute: a burst of requests does not write on each one.
    from datetime import timedelta

    from resolvers import runtime

    first = keys[0]["lastUsedAt"]
    await gql.ok(ME, as_=key)
    assert (await gql.ok("{ apiKeys { lastUsedAt } }", as_=tenant.admin))["apiKeys"][0][
        "lastUsedAt"
    ] == first
    later = runtime.now() + timedelta(minutes=2)
    runtime.current().clock = lambda: later  # the app fixture resets the clock
    await gql.ok(ME, as_=key)
    assert (await gql.ok("{ apiKeys { lastUsedAt } }", as_=tenant.admin))["apiKeys"][0][
        "lastUsedAt"
    ] != first


async def test_viewer_cannot_mutate(gql: GraphQLClient, tenant: Tenant) -> None:
    me = (await gql.ok(ME, as_=tenant.viewer))["me"]
    assert me["canWrite"] is False
    body = await gql(
        'mutation { createApiKey(name: "x", scopes: [READ]) { key } }', as_=tenant.viewer
    )
    assert error_codes(body) == ["FORBIDDEN"]


async def test_foreign_api_key_id_answers_like_a_missing_one(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await gql.ok(
        'mutation { createApiKey(name: "a", scopes: [READ]) { apiKey { id } } }', as_=tenant.admin
    )
    key_id = mine["createApiKey"]["apiKey"]["id"]
    foreign = await gql(
        "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
        {"id": key_id},
        as_=other_tenant.admin,
    )
    missing = await gql("mutation { revokeApiKey(id: 999999) { id } }", as_=other_tenant.admin)
    assert error_codes(foreign) == error_codes(missing) == ["NOT_FOUND"]
    assert foreign["errors"][0]["message"].replace(key_id, "N") == missing["errors"][0][
        "message"
    ].replace("999999", "N")
    listed = (await gql.ok("{ apiKeys { id } }", as_=other_tenant.admin))["apiKeys"]
    assert listed == []


async def test_login_is_rate_limited(gql: GraphQLClient, tenant: Tenant, app: Any) -> None:
    from resolvers.organizations import create_user

    # A user of its own: the per-minute counter is keyed by client IP and email.
    await create_user(tenant.org, "limited@org-a.test", PASSWORD)
    from resolvers import runtime

    frozen = runtime.now()  # one rate window for the whole test (the app fixture resets it)
    runtime.current().clock = lambda: frozen
    settings = app.state.services.settings
    limit = settings.login_rate_per_minute
    settings.login_rate_per_minute = 3
    try:
        attempts = [
            await gql(LOGIN, {"e": "limited@org-a.test", "p": "wrong password!"}) for _ in range(4)
        ]
        assert [error_codes(a) for a in attempts] == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
        # Even the right password waits for the window to pass.
        assert error_codes(await gql(LOGIN, {"e": "limited@org-a.test", "p": PASSWORD})) == [
            "RATE_LIMITED"
        ]
    finally:
        settings.login_rate_per_minute = limit


async def test_lists_never_show_another_organisations_rows(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    from resolvers import runtime
    from resolvers.outbox import queue_email

    async with runtime.atomic():
        await queue_email(tenant.staff.scope, to=["x@client.test"], subject="A", html="a", text="a")
    mine = await gql.ok("{ emails { subject } }", as_=tenant.staff)
    theirs = await gql.ok("{ emails { subject } }", as_=other_tenant.staff)
    assert mine["emails"] == [{"subject": "A"}] and theirs["emails"] == []
