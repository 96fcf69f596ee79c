"""One record printed to PDF (SPEC §7 "Imprimer en format PDF"): a lead with every field
group of the seed, a session with its planning and clients, a client with its contacts and
sessions; each followed by its subpanels' counts and latest items, in the caller's order.

Reads go through ``Scope``: a foreign id is NOT_FOUND, like a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from models.core import Organization, User
from models.leads import Lead, Store
from models.sessions import Client, Contact, SessionClient, TrainingSession
from resolvers import labels
from resolvers.confirmation.emails import planning_for_display, planning_snapshot
from resolvers.confirmation.history import confirmation_label
from resolvers.context import Scope
from resolvers.errors import Forbidden
from resolvers.prints.pdf import Header, PrintDocument
from resolvers.prints.texts import text
from resolvers.runtime import now
from resolvers.sessions.slots import current_planning
from resolvers.subpanels.layout import layout
from resolvers.subpanels.registry import OwnerType, Panel, RelatedKind
from resolvers.subpanels.sources import Order

LATEST_ITEMS = 5  # items of each subpanel a print lists (its count says how many in all)
RECORD_TYPES = ("lead", "session", "client")


class Printing:
    """What every print of one request shares: the organisation, locale and time zone."""

    def __init__(self, scope: Scope, organization: Organization, locale: str) -> None:
        self.scope = scope
        self.organization = organization
        self.locale = labels.locale_of(locale)
        self.zone = ZoneInfo(organization.time_zone)

    @classmethod
    async def start(cls, scope: Scope, locale: str) -> Printing:
        if not scope.actor.can_read:
            raise Forbidden("this API key may not read data (it needs the READ scope)")
        organization = await Organization.get(id=scope.organization_id)
        return cls(scope, organization, locale)

    def t(self, key: str) -> str:
        return text(key, self.locale)

    def document(
        self, title: str, filter_text: str = "", *, landscape: bool = False
    ) -> PrintDocument:
        header = Header(
            organization=self.organization.name,
            title=title,
            printed_on=f"{self.t('printed_on')} {self.when(now())}",
            filter_text=filter_text,
            page_label=self.t("page"),
        )
        return PrintDocument(header, landscape=landscape)

    def value(self, value: Any) -> str:
        """A field's value as the print shows it."""
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, date):
            return labels.format_date(value, self.locale)
        if isinstance(value, Decimal):
            return format_decimal(value, format="#,##0.00", locale=self.locale)
        return str(value)

    def when(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{labels.format_date(local.date(), self.locale)} {local:%H:%M}"

    def confirmation(self, session_client: SessionClient) -> str:
        return confirmation_label(session_client, self.organization.time_zone, self.locale)


def full_name(person: Lead | Contact) -> str:
    return " ".join(p for p in (person.first_name, person.last_name) if p)


async def _user_name(scope: Scope, user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = await scope.query(User).filter(id=user_id).first()
    return (user.full_name or user.email) if user else ""


# --- lead ----------------------------------------------------------------------------


async def print_lead(scope: Scope, lead_id: int, locale: str) -> bytes:
    printing = await Printing.start(scope, locale)
    lead = await scope.get(Lead, lead_id)
    assigned = await _user_name(scope, lead.assigned_user_id)
    store = await scope.query(Store).filter(id=lead.store_id).first() if lead.store_id else None
    doc = printing.document(f"{printing.t('lead')} : {full_name(lead) or lead.email}")
    for group, pairs in _lead_groups(lead, assigned, store.name if store else "", printing):
        doc.section(printing.t(group))
        doc.fields((printing.t(key), printing.value(value)) for key, value in pairs)
    await _subpanels(printing, doc, OwnerType.LEAD, lead.id)
    return doc.render()


def _lead_groups(
    lead: Lead, assigned: str, store: str, printing: Printing
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The seed's groups (overview, more information, waiting list, consent, other)."""

    def status(value: Any) -> str | None:
        return labels.lead_value(value.value, printing.locale) if value else None

    return [
        (
            "overview",
            [
                ("name", full_name(lead)),
                ("email", lead.email),
                ("office_phone", lead.office_phone),
                ("mobile", lead.mobile),
                ("fax", lead.fax),
                ("job_title", lead.job_title),
                ("department", lead.department),
                ("account_name", lead.account_name),
                ("website", lead.website),
                ("primary_address", lead.primary_address),
                ("other_address", lead.other_address),
                ("description", lead.description),
                ("assigned_user", assigned),
                ("referred_by", lead.referred_by),
            ],
        ),
        (
            "more_information",
            [
                ("status", status(lead.status)),
                ("lead_source", lead.lead_source),
                ("status_description", lead.status_description),
                ("lead_source_description", lead.lead_source_description),
                ("opportunity_amount", lead.opportunity_amount),
                ("campaign", lead.campaign),
            ],
        ),
        (
            "waiting_list",
            [
                ("is_waitlist_entry", lead.is_waitlist_entry),
                ("waitlist_product_code", lead.waitlist_product_code),
                ("waitlist_date_added", lead.waitlist_date_added),
                ("waitlist_status", status(lead.waitlist_status)),
                ("waitlist_purchase_date", lead.waitlist_purchase_date),
                ("waitlist_order_number", lead.waitlist_order_number),
                ("waitlist_emails_sent", lead.waitlist_emails_sent),
                ("store_customer_id", lead.store_customer_id),
                ("source_system", lead.source_system),
                ("store", store),
            ],
        ),
        (
            "consent",
            [
                ("lawful_basis", lead.lawful_basis),
                ("lawful_basis_source", lead.lawful_basis_source),
                ("lawful_basis_review_date", lead.lawful_basis_review_date),
            ],
        ),
        (
            "other",
            [
                ("record_id", lead.id),
                ("created_at", lead.created_at),
                ("updated_at", lead.updated_at),
                ("deleted_at", lead.deleted_at),
            ],
        ),
    ]


# --- session -------------------------------------------------------------------------


async def print_session(scope: Scope, session_id: int, locale: str) -> bytes:
    printing = await Printing.start(scope, locale)
    session = await scope.get(TrainingSession, session_id)
    summary = session.confirmation_summary
    doc = printing.document(f"{printing.t('session')} : {session.reference} — {session.title}")
    doc.section(printing.t("overview"))
    pairs: list[tuple[str, Any]] = [
        ("reference", session.reference),
        ("title", session.title),
        ("product_code", session.product_code),
        ("location", session.location),
        ("session_status", labels.session_status(session.status, printing.locale)),
        ("owner", await _user_name(scope, session.owner_id)),
        (
            "confirmation_summary",
            labels.confirmation_summary(summary, printing.locale) if summary else None,
        ),
    ]
    doc.fields((printing.t(key), printing.value(value)) for key, value in pairs)
    slots = planning_for_display(
        planning_snapshot(session, await current_planning(scope, session.id)), printing.locale
    )
    doc.section(printing.t("planning"))
    if slots:
        columns = [printing.t(k) for k in ("date", "start", "end", "location")]
        doc.data_table(columns, [[s["date"], s["start"], s["end"], s["location"]] for s in slots])
    else:
        doc.paragraph(printing.t("no_planning"))
    enrolled = (
        await scope.query(SessionClient).filter(session_id=session.id).order_by("created_at", "id")
    )
    names = await _names(scope, Client, [sc.client_id for sc in enrolled])
    doc.section(f"{printing.t('clients')} ({len(enrolled)})")
    doc.data_table(
        [printing.t("client"), printing.t("confirmation_state")],
        [[names.get(sc.client_id, ""), printing.confirmation(sc)] for sc in enrolled],
    )
    await _subpanels(printing, doc, OwnerType.SESSION, session.id)
    return doc.render()


async def _names(scope: Scope, model: type[Client], ids: Sequence[int]) -> dict[int, str]:
    rows = await scope.query(model).filter(id__in=list(ids)).values_list("id", "name")
    return {int(pk): str(name) for pk, name in rows}


# --- client --------------------------------------------------------------------------


async def print_client(scope: Scope, client_id: int, locale: str) -> bytes:
    printing = await Printing.start(scope, locale)
    client = await scope.get(Client, client_id)
    contacts = (
        await scope.query(Contact)
        .filter(client_id=client.id)
        .order_by("last_name", "first_name", "id")
    )
    main = next((c for c in contacts if c.id == client.main_contact_id), None)
    doc = printing.document(f"{printing.t('client')} : {client.name}")
    doc.section(printing.t("overview"))
    pairs: list[tuple[str, Any]] = [
        ("client_name", client.name),
        ("address", client.address),
        ("siret", client.siret),
        ("main_contact", full_name(main) if main else ""),
    ]
    doc.fields((printing.t(key), printing.value(value)) for key, value in pairs)
    doc.section(f"{printing.t('contacts')} ({len(contacts)})")
    doc.data_table(
        [printing.t(k) for k in ("name", "email", "phone", "job_title")],
        [[full_name(c), c.email, c.phone, c.job_title] for c in contacts],
    )
    enrolled = (
        await scope.query(SessionClient).filter(client_id=client.id).order_by("created_at", "id")
    )
    sessions = {
        s.id: s
        for s in await scope.query(TrainingSession).filter(
            id__in=[sc.session_id for sc in enrolled]
        )
    }
    doc.section(f"{printing.t('sessions')} ({len(enrolled)})")
    doc.data_table(
        [printing.t(k) for k in ("reference", "title", "dates", "confirmation_state")],
        [_session_row(printing, sessions[sc.session_id], sc) for sc in enrolled],
    )
    await _subpanels(printing, doc, OwnerType.CLIENT, client.id)
    return doc.render()


def _session_row(
    printing: Printing, session: TrainingSession, enrolled: SessionClient
) -> list[str]:
    dates = " – ".join(
        dict.fromkeys(printing.value(d) for d in (session.first_date, session.last_date))
    )
    return [session.reference, session.title, dates, printing.confirmation(enrolled)]


# --- subpanels -----------------------------------------------------------------------


async def _subpanels(
    printing: Printing, doc: PrintDocument, owner_type: OwnerType, owner_id: int
) -> None:
    """Each subpanel, in the caller's order: its total count and its latest items."""
    scope = printing.scope
    for setting in (await layout(scope, owner_type)).panels:
        panel = setting.panel
        count = (await panel.source.counts(scope, owner_type.value, [owner_id])).get(owner_id, 0)
        doc.section(f"{labels.subpanel_title(panel.key, printing.locale)} ({count})")
        if not count:
            continue
        order = Order.NEWEST_FIRST if panel.order is Order.TITLE_ASC else panel.order
        rows = await panel.source.page(scope, owner_type.value, owner_id, order, 0, LATEST_ITEMS)
        described = await _describe(printing, panel, rows)
        doc.data_table([printing.t("date"), printing.t("item")], described)
        if count > len(rows):
            doc.paragraph(printing.t("more_items").format(shown=len(rows), count=count))


async def _describe(printing: Printing, panel: Panel, rows: list[Any]) -> list[list[str]]:
    if panel.kind is RelatedKind.SESSION_CLIENT:
        await SessionClient.fetch_for_list(rows, "session", "client")
    when = panel.source.date
    return [
        [printing.value(getattr(row, when)), _item_text(printing, panel.kind, row)] for row in rows
    ]


def _item_text(printing: Printing, kind: RelatedKind, row: Any) -> str:
    if kind is RelatedKind.SESSION_CLIENT:
        session, client = row.session, row.client
        return (
            f"{session.reference} — {session.title} · {client.name} · {printing.confirmation(row)}"
        )
    if kind in (RelatedKind.CONTACT, RelatedKind.LEAD):
        return full_name(row)
    if kind is RelatedKind.CHANGE_LOG:
        if row.field:
            change = f"{row.field} : {row.old_value or '—'} → {row.new_value or '—'}"
        else:
            change = row.action
        return f"{change} ({row.actor_label})"
    if kind is RelatedKind.TASK:
        return f"{row.subject} · {labels.task_status(row.status.value, printing.locale)}"
    if kind is RelatedKind.DOCUMENT:
        return str(row.filename)
    return str(row.subject)  # notes, emails, date proposals
