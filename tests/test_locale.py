"""The locale of answers, negotiated from ``Accept-Language`` (q-values honoured) over
HTTP: GraphQL labels and the public response pages. French unless English is preferred."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import GraphQLClient, Tenant

CREATE = """mutation($input: CreateSessionInput!) {
  createSession(input: $input) { status { label } } }"""

# (Accept-Language, the locale it must give)
NEGOTIATED = [
    ("en;q=0.1, fr", "fr"),  # French preferred, English accepted much less
    ("fr;q=0.2, en;q=0.9", "en"),
    ("en-GB,en;q=0.9,fr;q=0.5", "en"),
    ("EN-us", "en"),
    ("de-DE, en;q=0.8, fr;q=0.7", "en"),  # the best we have among the acceptable ones
    ("fr-CA", "fr"),
    ("en;q=0", "fr"),  # q=0: not acceptable
    ("de-DE", "fr"),
    ("*", "fr"),
    ("", "fr"),
]


@pytest.mark.parametrize(("header", "locale"), NEGOTIATED)
async def test_graphql_labels_follow_the_negotiated_locale(
    gql: GraphQLClient, tenant: Tenant, header: str, locale: str
) -> None:
    data = await gql.ok(
        CREATE,
        {"input": {"reference": f"S-{len(header)}", "title": "Incendie"}},
        as_=tenant.staff,
        headers={"Accept-Language": header},
    )
    assert data["createSession"]["status"]["label"] == {"fr": "Brouillon", "en": "Draft"}[locale]


@pytest.mark.parametrize(("header", "locale"), NEGOTIATED)
async def test_response_pages_follow_the_negotiated_locale(
    client: httpx.AsyncClient, header: str, locale: str
) -> None:
    page = await client.get("/respond/no-such-token", headers={"Accept-Language": header})
    assert page.status_code == 404
    assert f'<html lang="{locale}">' in page.text
    assert {"fr": "Lien inconnu", "en": "Unknown link"}[locale] in page.text
