"""Helpers of the subpanel tests: one query reading every panel of any record (with each
related record summarised by its type and main column), and the subpanel mutations."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from tests.conftest import GraphQLClient, Member

RECORD = """
fragment R on RelatedRecord {
  __typename
  ... on Note { id subject body author { email } }
  ... on Task { id subject dueDate status { value label } assignee { email } }
  ... on Document { id filename uploadedBy { email } }
  ... on Email { id subject kind }
  ... on DateProposal { id subject }
  ... on Contact { id lastName }
  ... on SessionClient { id client { name } session { reference } }
  ... on Lead { id lastName }
  ... on ChangeLogEntry { action field newValue reason }
}"""
PANEL = """
fragment P on Subpanel {
  key title kind collapsed canCreate canSelect defaultOrder totalCount
  records(first: $first, after: $after, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { ...R } } }
}"""
OWNERS = ("Lead", "Client", "Contact", "Session", "SessionClient")
SUBPANELS = (
    """query($id: ID!, $keys: [String!], $first: Int, $after: String, $order: RelatedOrder) {
  node(id: $id) { __typename """
    + " ".join(f"... on {t} {{ subpanels(keys: $keys) {{ ...P }} }}" for t in OWNERS)
    + " } }"
    + PANEL
    + RECORD
)
CREATE = (
    """mutation($o: ID!, $i: RelatedRecordInput!) { createRelated(ownerId: $o, input: $i) {
  record { ...R } subpanel { key totalCount } } }"""
    + RECORD
)
TARGETS = """count results { index id outcome errors { code field message } record { ...R } }"""
LINK = (
    """mutation($o: ID!, $k: String!, $t: [ID!]!, $p: ErrorPolicy! = REJECT_EVERYTHING,
    $ik: String) { linkRelated(ownerId: $o, key: $k, targetIds: $t, errorPolicy: $p,
    idempotencyKey: $ik) { """
    + TARGETS
    + " } }"
    + RECORD
)
UNLINK = (
    """mutation($o: ID!, $k: String!, $t: [ID!]!, $p: ErrorPolicy! = REJECT_EVERYTHING) {
  unlinkRelated(ownerId: $o, key: $k, targetIds: $t, errorPolicy: $p) { """
    + TARGETS
    + " } }"
    + RECORD
)


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


async def subpanels(
    gql: GraphQLClient, member: Member | str, owner: str, **variables: Any
) -> dict[str, dict[str, Any]]:
    """The owner's panels by key (dicts keep the caller's order)."""
    data = await gql.ok(SUBPANELS, {"id": owner, **variables}, as_=member)
    return {panel["key"]: panel for panel in data["node"]["subpanels"]}


def shown(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a panel's page."""
    return [edge["node"] for edge in panel["records"]["edges"]]


def identities(panel: dict[str, Any]) -> list[tuple[str, str]]:
    """Each record of the page as (type, id)."""
    return [(r["__typename"], r.get("id", "")) for r in shown(panel)]


async def create_related(
    gql: GraphQLClient, member: Member, owner: str, **input: Any
) -> dict[str, Any]:
    data = await gql.ok(CREATE, {"o": owner, "i": input}, as_=member)
    return data["createRelated"]  # type: ignore[no-any-return]


async def add_note(gql: GraphQLClient, member: Member, owner: str, subject: str) -> str:
    created = await create_related(gql, member, owner, note={"subject": subject})
    return created["record"]["id"]  # type: ignore[no-any-return]


async def make_records(gql: GraphQLClient, member: Member, tag: str = "") -> dict[str, str]:
    """One record of each type with subpanels, through the API: their global IDs."""
    client = await gql.ok(
        "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }",
        {"i": {"name": f"Acme{tag} SA"}},
        as_=member,
    )
    client_id = client["createClient"]["id"]
    contact = await gql.ok(
        "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
        {"i": {"clientId": client_id, "lastName": "Dupont", "email": f"c{tag}@acme.test"}},
        as_=member,
    )
    session = await gql.ok(
        "mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }",
        {
            "i": {
                "reference": f"S-{tag or '1'}",
                "title": f"Sécurité incendie {tag}".strip(),
                "slots": [{"date": "2027-03-01", "startTime": "09:00", "endTime": "17:00"}],
            }
        },
        as_=member,
    )
    session_id = session["createSession"]["id"]
    enrolled = await gql.ok(
        "mutation($s: ID!, $c: ID!) { addClientToSession(sessionId: $s, clientId: $c) { id } }",
        {"s": session_id, "c": client_id},
        as_=member,
    )
    lead = await gql.ok(
        "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
        {"i": {"lastName": f"Martin{tag}", "email": f"m{tag}@x.test"}},
        as_=member,
    )
    return {
        "Lead": lead["createLead"]["id"],
        "Client": client_id,
        "Contact": contact["createContact"]["id"],
        "Session": session_id,
        "SessionClient": enrolled["addClientToSession"]["id"],
    }
