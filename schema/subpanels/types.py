"""``Subpanel`` (key, title, collapsed, count, records), the ``RelatedRecord`` union of
the real record types, and the per-user layout types. Which GraphQL type shows each kind
of related record is the one table ``NODES``; which panels a record type has is
``resolvers/subpanels/registry.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Annotated, Any

import strawberry

from resolvers import labels
from resolvers.context import Scope
from resolvers.subpanels import layout as layouts
from resolvers.subpanels.layout import Layout, PanelSetting
from resolvers.subpanels.loaders import panel_counts, panel_layouts
from resolvers.subpanels.registry import OwnerType, Panel, RelatedKind, panel_of
from resolvers.subpanels.sources import Order
from schema.audit import ChangeLogEntry
from schema.clients import Contact
from schema.confirmation.types import DateProposal
from schema.context import Info
from schema.documents import Document
from schema.leads.types import Lead
from schema.outbox import Email
from schema.pagination import Connection, build_connection, decode_cursor, page_size
from schema.prefetch import Deferred, below, selections_of
from schema.sessions.types import SessionClient, session_client_nodes
from schema.subpanels.records import Note, Task

SubpanelRecordType = strawberry.enum(
    OwnerType, name="SubpanelRecordType", description="The record types that have subpanels."
)
RelatedRecordKind = strawberry.enum(
    RelatedKind, name="RelatedRecordKind", description="What a subpanel lists."
)
RelatedOrder = strawberry.enum(
    Order,
    name="RelatedOrder",
    description="NEWEST_FIRST / OLDEST_FIRST: by the record's date (the change log's time, "
    "else its creation); TITLE_*: by its subject, name or file name.",
)

RelatedRecord = Annotated[
    Note | Task | Document | Email | DateProposal | Contact | SessionClient | Lead | ChangeLogEntry,
    strawberry.union("RelatedRecord", description="A record listed in a subpanel."),
]

Build = Callable[[Info, list[Any]], Awaitable[Sequence[Any]]]


def _each(make: Callable[[Any], Any]) -> Build:
    async def build(info: Info, rows: list[Any]) -> list[Any]:
        return [make(row) for row in rows]

    return build


async def _session_clients(info: Info, rows: list[Any]) -> Sequence[Any]:
    # Their clients (and contacts) prefetched when the page selects them.
    return await session_client_nodes(info, rows, below(selections_of(info), "edges", "node"))


NODES: dict[RelatedKind, Build] = {
    RelatedKind.NOTE: _each(Note.from_row),
    RelatedKind.TASK: _each(Task.from_row),
    RelatedKind.DOCUMENT: _each(Document.from_row),
    RelatedKind.EMAIL: _each(Email.from_row),
    RelatedKind.DATE_PROPOSAL: _each(DateProposal.from_row),
    RelatedKind.CONTACT: _each(Contact.from_row),
    RelatedKind.SESSION_CLIENT: _session_clients,
    RelatedKind.LEAD: _each(Lead.from_row),
    RelatedKind.CHANGE_LOG: _each(ChangeLogEntry.from_row),
}


@strawberry.type(description="A related-record subpanel of one record, as the caller laid it out.")
class Subpanel:
    key: str
    title: str
    kind: RelatedKind = strawberry.field(graphql_type=RelatedRecordKind)
    collapsed: bool
    can_create: bool = strawberry.field(
        description='createRelated makes a record in this panel ("Créer").'
    )
    can_select: bool = strawberry.field(
        description="linkRelated / unlinkRelated attach and detach existing records "
        '("Sélectionner").'
    )
    default_order: Order = strawberry.field(graphql_type=RelatedOrder)
    # Loaded for the whole page when the query selects it (subpanels_of), else Deferred:
    # a plain attribute either way, completed without a resolver per panel.
    total_count: int | Deferred[int] = strawberry.field(
        graphql_type=int,
        description="How many records the panel holds; asked for a whole list page, one "
        "statement for all the panels' counts.",
    )
    owner_type: strawberry.Private[OwnerType]
    owner_id: strawberry.Private[int]
    panel: strawberry.Private[Panel]

    @classmethod
    def of(
        cls,
        setting: PanelSetting,
        owner_type: OwnerType,
        owner_id: int,
        locale: str,
        total_count: int | Deferred[int],
    ) -> Subpanel:
        panel = setting.panel
        return cls(
            total_count=total_count,
            key=panel.key,
            title=labels.subpanel_title(panel.key, locale),
            kind=panel.kind,
            collapsed=setting.collapsed,
            can_create=panel.creatable,
            can_select=panel.selectable,
            default_order=panel.order,
            owner_type=owner_type,
            owner_id=owner_id,
            panel=panel,
        )

    async def _count(self, info: Info) -> int:
        loader = info.context.loader(panel_counts)
        return await loader.load((self.owner_type, self.key, self.owner_id))

    @strawberry.field(description="The panel's records, a page at a time.")
    async def records(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_by: Annotated[
            RelatedOrder | None,  # type: ignore[valid-type]
            strawberry.argument(description="Default: the panel's defaultOrder."),
        ] = None,
    ) -> Connection[RelatedRecord]:
        size, offset = page_size(first), decode_cursor(after)
        scope = info.context.require_scope()
        order = order_by or self.panel.order
        source = self.panel.source
        rows = await source.page(scope, self.owner_type, self.owner_id, order, offset, size + 1)
        nodes = await NODES[self.panel.kind](info, rows[:size])
        return build_connection(nodes, offset, size, len(rows) > size, lambda: self._count(info))


def _counts_wanted(scope: Scope) -> dict[tuple[int, ...], bool]:
    """Per request: whether a field of the query (its AST nodes) selects totalCount."""
    return {}


def counts_selected(info: Info) -> bool:
    """Whether the panels' totalCount is selected: worked out once per field of the query,
    not once per record of the page (strawberry rebuilds the selections at each call)."""
    wanted = info.context.loader(_counts_wanted)
    nodes = tuple(id(node) for node in info._raw_info.field_nodes)
    if nodes not in wanted:
        wanted[nodes] = below(selections_of(info), "totalCount") is not None
    return wanted[nodes]


async def subpanels_of(
    info: Info, owner_type: OwnerType, owner_id: int, keys: Sequence[str] | None = None
) -> list[Subpanel]:
    """The record's panels (``keys`` only, if given) in the caller's order; the caller's
    layouts cost one query per request, the counts of a whole page one statement."""
    wanted = {panel_of(owner_type, k, field=f"keys.{i}").key for i, k in enumerate(keys or ())}
    found = await info.context.loader(panel_layouts).load(owner_type)
    settings = [s for s in found.panels if keys is None or s.panel.key in wanted]
    loader = info.context.loader(panel_counts)
    count_keys = [(owner_type, s.panel.key, owner_id) for s in settings]
    counts: Sequence[int | Deferred[int]]
    if counts_selected(info):
        # One wait per record rather than per panel; the page's records reach the loader
        # in the same tick.
        counts = await loader.load_many(count_keys)
    else:
        counts = [Deferred(partial(loader.load, key)) for key in count_keys]
    return [
        Subpanel.of(s, owner_type, owner_id, info.context.locale, count)
        for s, count in zip(settings, counts, strict=True)
    ]


@strawberry.type(description="A subpanel in the caller's layout of a record type.")
class SubpanelSetting:
    key: str
    title: str
    collapsed: bool


@strawberry.type(description="The caller's order and collapse state of a record type's subpanels.")
class SubpanelLayout:
    record_type: OwnerType = strawberry.field(graphql_type=SubpanelRecordType)
    panels: list[SubpanelSetting]
    stored: bool = strawberry.field(
        description="False: the default layout (nothing stored; always so for an API key)."
    )

    @classmethod
    def of(cls, layout: Layout, locale: str) -> SubpanelLayout:
        return cls(
            record_type=layout.owner_type,
            panels=[
                SubpanelSetting(
                    key=s.panel.key,
                    title=labels.subpanel_title(s.panel.key, locale),
                    collapsed=s.collapsed,
                )
                for s in layout.panels
            ],
            stored=layout.stored,
        )


async def layout_of(info: Info, owner_type: OwnerType) -> SubpanelLayout:
    found = await layouts.layout(info.context.require_scope(), owner_type)
    return SubpanelLayout.of(found, info.context.locale)
