"""Records printed to PDF over HTTP: the text poppler extracts holds every field group and
value (accents, long values wrapped), page 1 renders, and the API's auth and tenancy apply."""

from __future__ import annotations

from typing import Any

import httpx
from strawberry import relay

from models.core import ApiScope
from resolvers import labels
from tests.confirmation_support import MANUAL, add_session_client, fr, today
from tests.conftest import GraphQLClient, Tenant
from tests.leads_support import CREATE_LEAD
from tests.print_support import assert_pdf, page_count
from tests.subpanels_support import CREATE

LONG_DESCRIPTION = " ".join(["Formation réglementaire à l'évacuation des établissements"] * 40)
LONG_WORD = "https://exemple.fr/" + "très-long-chemin-" * 12


async def make_lead(gql: GraphQLClient, tenant: Tenant, **values: Any) -> dict[str, Any]:
    fields = {
        "firstName": "Hélène",
        "lastName": "Lefèvre-Gaël",
        "email": "helene.lefevre@exemple.fr",
        "officePhone": "+33 1 23 45 67 89",
        "accountName": "Société Générale d'Équipement",
        "website": LONG_WORD,
        "primaryAddress": "12 rue de l'Église\n69002 Lyon",
        "description": LONG_DESCRIPTION,
        "assignedUserId": str(tenant.staff.user.id),
        "status": "IN_PROCESS",
        "opportunityAmount": "12500.50",
        "campaign": "Rentrée été",
        "isWaitlistEntry": True,
        "waitlistProductCode": "SST-ÉTÉ",
        "waitlistStatus": "PENDING",
        "waitlistPurchaseDate": "2026-11-20",
        "waitlistOrderNumber": "CMD-0042",
        "waitlistEmailsSent": 3,
        "lawfulBasis": "Intérêt légitime",
        "lawfulBasisSource": "Formulaire",
        "lawfulBasisReviewDate": "2027-01-15",
        **values,
    }
    data = await gql.ok(CREATE_LEAD, {"i": fields}, as_=tenant.staff)
    return data["createLead"]  # type: ignore[no-any-return]


async def test_lead_print_has_every_field_group_and_its_subpanels(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await make_lead(gql, tenant)
    for subject in ("Appel à Hélène", "Relance été"):
        note = {"note": {"subject": subject, "body": "ça marche"}}
        await gql.ok(CREATE, {"o": lead["id"], "i": note}, as_=tenant.staff)
    task = {"task": {"subject": "Préparer le devis", "status": "IN_PROGRESS"}}
    await gql.ok(CREATE, {"o": lead["id"], "i": task}, as_=tenant.staff)

    response = await client.get(f"/print/lead/{lead['id']}.pdf", headers=tenant.viewer.headers)
    text = assert_pdf(response)

    assert tenant.org.name in text and f"Imprimé le {fr(today())}" in text
    for group in ("Aperçu", "Renseignements supplémentaires", "Liste d'attente", "Consentement"):
        assert group in text
    for value in (
        "Client potentiel : Hélène Lefèvre-Gaël",
        "helene.lefevre@exemple.fr",
        "Société Générale d'Équipement",
        "12 rue de l'Église 69002 Lyon",
        "En cours de traitement",
        "12 500,50",
        "SST-ÉTÉ",
        "En attente",
        "20/11/2026",
        "CMD-0042",
        "Intérêt légitime",
        "15/01/2027",
        "Date de création",
    ):
        assert value in text, value
    # A long text wraps: every word of it is there, on lines of the page.
    assert text.count("l'évacuation des établissements") == 40
    # A word wider than its cell is cut, not lost past the page's edge.
    assert "".join(text.split()).count("très-long-chemin-") == 12
    for panel in ("Notes (2)", "Tâches (1)", "Documents (0)", "Historique des modifications"):
        assert panel in text, panel
    assert "Appel à Hélène" in text and "Préparer le devis · En cours" in text


async def test_lead_print_in_english(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await make_lead(gql, tenant)
    response = await client.get(
        f"/print/lead/{lead['id']}.pdf", headers={**tenant.staff.headers, "Accept-Language": "en"}
    )
    text = assert_pdf(response)
    for value in ("Overview", "More information", "Waiting list", "Consent", "In process"):
        assert value in text, value
    assert "12,500.50" in text and "Page 1 /" in text


async def test_session_print_has_planning_and_each_clients_confirmation_label(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    first = await add_session_client(tenant, client_name="Équipements Bérénice")
    second = await add_session_client(tenant, session=first.session, client_name="Ça Va SARL")
    await gql.ok(MANUAL, {"id": second.gid, "on": True}, as_=tenant.staff)

    session_id = relay.to_base64("Session", first.session.id)
    response = await client.get(f"/print/session/{session_id}.pdf", headers=tenant.staff.headers)
    text = assert_pdf(response)

    assert "Session : S-001 — Sécurité incendie" in text
    for slot in first.slots:
        assert fr(slot.date) in text
    assert "09:00" in text and "17:30" in text and "Salle 2" in text and "Lyon" in text
    assert "Clients (2)" in text
    assert "Équipements Bérénice Date(s) à confirmer" in text
    assert "Ça Va SARL Date(s) validée(s) manuellement" in text
    summary = labels.confirmation_summary(labels.list_value("TO_CONFIRM"), "fr")  # type: ignore[arg-type]
    assert f"Confirmation dates client {summary}" in text


async def test_client_print_has_contacts_and_sessions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = await add_session_client(tenant, client_name="Société Hélios")
    response = await client.get(f"/print/client/{rows.client.id}.pdf", headers=tenant.staff.headers)
    text = assert_pdf(response)
    assert "Client : Société Hélios" in text
    assert "Contacts (1)" in text and "Claire Dupont claire.dupont@acme.test" in text
    assert "Contact principal Claire Dupont" in text
    assert "Sessions (1)" in text and "S-001 Sécurité incendie" in text
    assert "Date(s) à confirmer" in text


async def test_a_record_longer_than_a_page_goes_on_over_pages(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await make_lead(gql, tenant, description=" ".join(["Très long paragraphe."] * 2000))
    response = await client.get(f"/print/lead/{lead['id']}.pdf", headers=tenant.staff.headers)
    text = assert_pdf(response)
    # Nothing lost at the page breaks (where a line may be cut from the next by a page head).
    assert text.count("Très") == text.count("paragraphe.") == 2000
    pages = page_count(response.content)
    assert pages > 2 and f"Page {pages} / {pages}" in text


async def test_print_needs_a_credential_that_may_read_and_a_record_of_the_organisation(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    lead = await make_lead(gql, tenant)
    path = f"/print/lead/{lead['id']}.pdf"

    anonymous = await client.get(path)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
    assert (await client.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401

    foreign = await client.get(path, headers=other_tenant.admin.headers)
    missing = await client.get("/print/lead/999999999.pdf", headers=other_tenant.admin.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "NOT_FOUND"
    assert (
        await client.get("/print/lead/abc.pdf", headers=tenant.staff.headers)
    ).status_code == 404
    assert (
        await client.get("/print/invoice/1.pdf", headers=tenant.staff.headers)
    ).status_code == 404

    write_only = await tenant.api_key(ApiScope.WRITE)
    refused = await client.get(path, headers={"Authorization": f"Bearer {write_only}"})
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    reader = await tenant.api_key(ApiScope.READ)
    assert_pdf(await client.get(path, headers={"Authorization": f"Bearer {reader}"}))
