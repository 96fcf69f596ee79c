"""Client companies and their contacts: Relay nodes, lists and mutations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types.nodes import Selection

from models.sessions import Client as ClientRow
from models.sessions import Contact as ContactRow
from resolvers import clients, dataloaders
from resolvers.dataloaders import ClientRecord, ContactRecord
from resolvers.subpanels.registry import OwnerType
from schema.common import DeleteResult, deleted, given_fields
from schema.context import Context, Info
from schema.pagination import Connection, paginate
from schema.prefetch import Deferred, below, same, selections_of, with_nodes
from schema.relay import db_id
from schema.subpanels.field import subpanels_field

if TYPE_CHECKING:
    from schema.sessions.types import Session

SessionRef = Annotated["Session", strawberry.lazy("schema.sessions.types")]


@strawberry.type
class Contact(relay.Node):
    id: relay.NodeID[int]
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    version: int
    client_id: strawberry.Private[int | None]
    subpanels = subpanels_field(OwnerType.CONTACT)

    @classmethod
    def from_row(cls, row: ContactRow | ContactRecord) -> Contact:
        return cls(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            job_title=row.job_title,
            version=row.version,
            client_id=row.client_id,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        if self.client_id is None:
            return None
        row = await info.context.loader(dataloaders.clients_by_id).load(self.client_id)
        return Client.from_row(row, info.context) if row else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Contact | None]:
        rows = await info.context.require_scope().get_many(ContactRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type
class Client(relay.Node):
    id: relay.NodeID[int]
    name: str
    address: str
    siret: str | None
    version: int
    contacts: list[Contact] | Deferred[list[Contact]] = strawberry.field(
        graphql_type=list[Contact], description="Contacts of this client, by last then first name."
    )
    main_contact: Contact | None | Deferred[Contact | None] = strawberry.field(
        graphql_type=Contact | None, description="The contact proposals are sent to by default."
    )
    main_contact_id: strawberry.Private[int | None]
    subpanels = subpanels_field(OwnerType.CLIENT)

    @classmethod
    def from_row(cls, row: ClientRow | ClientRecord, context: Context) -> Client:
        """The client; its contacts load on demand unless ``preload_contacts`` sets them."""

        async def load_contacts() -> list[Contact]:
            rows = await context.loader(dataloaders.contacts_by_client).load(row.id)
            return [Contact.from_row(r) for r in rows]

        async def load_main_contact() -> Contact | None:
            return _main_of(row.main_contact_id, await load_contacts())

        return cls(
            id=row.id,
            name=row.name,
            address=row.address,
            siret=row.siret,
            version=row.version,
            contacts=Deferred(load_contacts),
            main_contact=Deferred(load_main_contact) if row.main_contact_id else None,
            main_contact_id=row.main_contact_id,
        )

    def preload_contacts(self, contacts: list[Contact]) -> None:
        self.contacts = contacts
        self.main_contact = _main_of(self.main_contact_id, contacts)

    @strawberry.field(description="Sessions this client is in, by first slot date.")
    async def sessions(self, info: Info) -> list[SessionRef]:
        from schema.sessions.types import session_nodes

        rows = await info.context.loader(dataloaders.sessions_by_client).load(self.id)
        return await session_nodes(info, rows, None)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Client | None]:
        rows = await info.context.require_scope().get_many(ClientRow, node_ids)
        return [cls.from_row(row, info.context) if row else None for row in rows]


def _main_of(main_contact_id: int | None, contacts: list[Contact]) -> Contact | None:
    # The main contact is one of the client's own contacts (set_main_contact checks it).
    if main_contact_id is not None:  # no scan for the clients without one
        for contact in contacts:
            if contact.id == main_contact_id:
                return contact
    return None


async def client_nodes(
    info: Info,
    rows: Sequence[ClientRow | ClientRecord | None],
    selections: list[Selection] | None,
) -> list[Client | None]:
    """Client nodes with their contacts prefetched when the query selects them."""
    nodes = [Client.from_row(row, info.context) if row else None for row in rows]
    present = [node for node in nodes if node is not None]
    if below(selections, "contacts") is not None or below(selections, "mainContact") is not None:
        loader = info.context.loader(dataloaders.contacts_by_clients)
        for node, contacts in zip(
            present, await loader.load(tuple(n.id for n in present)), strict=True
        ):
            node.preload_contacts([Contact.from_row(c) for c in contacts])
    return nodes


ClientOrder = strawberry.enum(clients.ClientOrder, name="ClientOrder")


@strawberry.input
class ClientFilter:
    text: str | None = strawberry.field(default=None, description="In the name or SIRET.")

    def to_resolver(self) -> clients.ClientFilter:
        return clients.ClientFilter(text=self.text or "")


@strawberry.input
class ContactFilter:
    client_id: relay.GlobalID | None = None
    text: str | None = strawberry.field(default=None, description="In the names or email.")

    def to_resolver(self) -> clients.ContactFilter:
        return clients.ContactFilter(
            client_id=db_id(self.client_id, Client) if self.client_id else None,
            text=self.text or "",
        )


@strawberry.input
class CreateClientInput:
    name: str
    address: str = ""
    siret: str | None = None


@strawberry.input
class UpdateClientInput:
    id: relay.GlobalID
    version: int
    name: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    siret: str | None = strawberry.UNSET


@strawberry.input
class CreateContactInput:
    client_id: relay.GlobalID | None = None
    first_name: str = ""
    last_name: str
    email: str = ""
    phone: str = ""
    job_title: str = ""
    main: bool = strawberry.field(default=False, description="Make it the client's main contact.")


@strawberry.input
class UpdateContactInput:
    id: relay.GlobalID
    version: int
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    job_title: str | None = strawberry.UNSET


@strawberry.type
class Query:
    @strawberry.field
    async def clients(
        self,
        info: Info,
        filter: ClientFilter | None = None,
        order_by: ClientOrder = clients.ClientOrder.NAME_ASC,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Client]:
        where = filter.to_resolver() if filter else clients.ClientFilter()
        qs = clients.clients_query(info.context.require_scope(), where, order_by)
        page = await paginate(qs, first, after, same)
        node_selections = below(selections_of(info), "edges", "node")
        return await with_nodes(page, lambda rows: client_nodes(info, rows, node_selections))

    @strawberry.field
    async def client(self, info: Info, id: relay.GlobalID) -> Client:
        scope = info.context.require_scope()
        row = await scope.get(ClientRow, db_id(id, Client))
        (node,) = await client_nodes(info, [row], selections_of(info))
        return node  # type: ignore[return-value]

    @strawberry.field
    async def contacts(
        self,
        info: Info,
        filter: ContactFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Contact]:
        where = filter.to_resolver() if filter else clients.ContactFilter()
        qs = clients.contacts_query(info.context.require_scope(), where)
        return await paginate(qs, first, after, Contact.from_row)


CLIENT_INPUT_FIELDS = ("name", "address", "siret")
CONTACT_INPUT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title")


def _contact_values(input: Any) -> dict[str, Any]:
    return given_fields(input, CONTACT_INPUT_FIELDS)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_client(self, info: Info, input: CreateClientInput) -> Client:
        values = given_fields(input, CLIENT_INPUT_FIELDS, nullable=("siret",))
        return Client.from_row(
            await clients.create_client(info.context.require_writer(), values), info.context
        )

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_client(self, info: Info, input: UpdateClientInput) -> Client:
        values = given_fields(input, CLIENT_INPUT_FIELDS, nullable=("siret",))
        row = await clients.update_client(
            info.context.require_writer(), db_id(input.id, Client), input.version, values
        )
        return Client.from_row(row, info.context)

    @strawberry.mutation(description="Refused while the client is in a session.")
    async def delete_client(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        removed = await clients.delete_client(info.context.require_writer(), db_id(id, Client))
        return deleted(Client, removed)

    @strawberry.mutation
    async def create_contact(self, info: Info, input: CreateContactInput) -> Contact:
        client_id = db_id(input.client_id, Client) if input.client_id else None
        row = await clients.create_contact(
            info.context.require_writer(), client_id, _contact_values(input), main=input.main
        )
        return Contact.from_row(row)

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_contact(self, info: Info, input: UpdateContactInput) -> Contact:
        row = await clients.update_contact(
            info.context.require_writer(),
            db_id(input.id, Contact),
            input.version,
            _contact_values(input),
        )
        return Contact.from_row(row)

    @strawberry.mutation
    async def delete_contact(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        removed = await clients.delete_contact(info.context.require_writer(), db_id(id, Contact))
        return deleted(Contact, removed)

    @strawberry.mutation
    async def set_main_contact(
        self, info: Info, client_id: relay.GlobalID, contact_id: relay.GlobalID
    ) -> Client:
        row = await clients.set_main_contact(
            info.context.require_writer(), db_id(client_id, Client), db_id(contact_id, Contact)
        )
        return Client.from_row(row, info.context)
