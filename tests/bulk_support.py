"""Helpers of the bulk-operation tests: leads made directly, operations over GraphQL."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from models.leads import Lead
from resolvers.leads.records import create_manual_lead
from tests.conftest import Tenant

OPERATION = """id kind status total processed succeeded failed error
  items(first: 100) { totalCount edges { node { index id outcome errors { code field message }
    oldValues newValues } } }"""
DELETE = f"""mutation($s: LeadSelection!, $p: ErrorPolicy! = REJECT_EVERYTHING, $k: String) {{
  deleteLeads(selection: $s, errorPolicy: $p, idempotencyKey: $k) {{ {OPERATION} }} }}"""
RESTORE = f"""mutation($s: LeadSelection!, $p: ErrorPolicy! = REJECT_EVERYTHING) {{
  restoreLeads(selection: $s, errorPolicy: $p) {{ {OPERATION} }} }}"""
REVERT = f"""mutation($id: ID!, $force: Boolean! = false) {{
  revertBulkOperation(id: $id, force: $force) {{ {OPERATION} }} }}"""
NODE = f"""query($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {OPERATION}
  revertedBy {{ id }} reverts {{ id }} createdBy {{ email }} }} }} }}"""


def gid(pk: int, type_name: str = "Lead") -> str:
    return str(relay.GlobalID(type_name, str(pk)))


async def make_leads(tenant: Tenant, count: int, **values: Any) -> list[Lead]:
    return [
        await create_manual_lead(tenant.staff.scope, {"last_name": f"Lead {i}", **values})
        for i in range(count)
    ]


def outcomes(operation: dict[str, Any]) -> list[str | None]:
    return [edge["node"]["outcome"] for edge in operation["items"]["edges"]]


def error_codes(operation: dict[str, Any]) -> list[list[str]]:
    return [[e["code"] for e in edge["node"]["errors"]] for edge in operation["items"]["edges"]]
