"""Documents: GraphQL multipart upload, size and type limits, generated storage names,
SHA-256, roles and isolation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.settings import Settings
from models.records import Document
from tests.conftest import GraphQLClient, Member, Tenant, error_codes

PDF = b"%PDF-1.7\n" + b"0123456789" * 100
LIST = "{ documents(first: 10) { totalCount edges { node { id filename size sha256 } } } }"


async def upload(
    client: httpx.AsyncClient, member: Member, name: str, content: bytes, kind: str
) -> dict[str, Any]:
    operations = {
        "query": "mutation($f: Upload!) { uploadDocument(file: $f) { id filename contentType size sha256 } }",
        "variables": {"f": None},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (name, content, kind)},
        headers=member.headers,
    )
    return response.json()  # type: ignore[no-any-return]


def stored_files(settings: Settings) -> list[str]:
    directory = settings.storage_dir
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def small_limit(settings: Settings) -> Iterator[int]:
    previous = settings.upload_max_bytes
    settings.upload_max_bytes = 2048
    yield 2048
    settings.upload_max_bytes = previous


async def test_upload_stores_under_generated_name(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    before = stored_files(settings)
    body = await upload(
        client, tenant.staff, "../../etc/Programme 2026.pdf", PDF, "application/pdf"
    )
    document = body["data"]["uploadDocument"]
    assert document["filename"] == "Programme 2026.pdf"
    assert document["size"] == len(PDF) and document["contentType"] == "application/pdf"
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    [new_file] = sorted(set(stored_files(settings)) - set(before))
    assert new_file.endswith(".pdf") and "Programme" not in new_file
    assert (settings.storage_dir / new_file).read_bytes() == PDF
    row = await Document.get(filename="Programme 2026.pdf")
    assert row.storage_name == new_file and row.uploaded_by_id == tenant.staff.user.id

    listed = (await gql.ok(LIST, as_=tenant.viewer))["documents"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == document["id"]


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("tool.exe", b"MZ\x90\x00", "application/x-msdownload"),
        ("page.html", b"<script>", "text/html"),
        ("fake.pdf", b"MZ not a pdf", "application/pdf"),
        ("image.png", b"%PDF-1.4", "image/png"),
        ("report.pdf", b"%PDF", "text/plain"),
        ("empty.txt", b"", "text/plain"),
    ],
)
async def test_refused_types_store_nothing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    name: str,
    content: bytes,
    kind: str,
) -> None:
    before = stored_files(settings)
    body = await upload(client, tenant.staff, name, content, kind)
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "file"
    assert stored_files(settings) == before
    assert await Document.all().count() == 0


async def test_size_limit(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, small_limit: int
) -> None:
    before = stored_files(settings)
    body = await upload(client, tenant.staff, "big.txt", b"x" * (small_limit + 1), "text/plain")
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert "limit" in body["errors"][0]["message"]
    assert stored_files(settings) == before and await Document.all().count() == 0
    ok = await upload(client, tenant.staff, "fits.txt", b"x" * small_limit, "text/plain")
    assert ok["data"]["uploadDocument"]["size"] == small_limit


async def test_roles_and_isolation(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    denied = await upload(client, tenant.viewer, "a.txt", b"hello", "text/plain")
    assert error_codes(denied) == ["FORBIDDEN"]
    await upload(client, tenant.staff, "a.txt", b"hello", "text/plain")
    assert (await gql.ok(LIST, as_=other_tenant.staff))["documents"]["totalCount"] == 0
    assert (await gql.ok(LIST, as_=tenant.staff))["documents"]["totalCount"] == 1
