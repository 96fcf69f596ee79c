"""Documents (attachments): multipart upload and listing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from starlette.datastructures import UploadFile
from strawberry import relay
from strawberry.file_uploads import Upload

from models.records import Document as DocumentRow
from resolvers import dataloaders, documents
from resolvers.errors import ValidationFailed
from schema.auth import User
from schema.context import Info
from schema.pagination import Connection, paginate


@strawberry.type(description="An uploaded file, stored under a generated name.")
class Document(relay.Node):
    id: relay.NodeID[int]
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    uploaded_by_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: DocumentRow) -> Document:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            created_at=row.created_at,
            uploaded_by_id=row.uploaded_by_id,
        )

    @strawberry.field(description="Who uploaded it (null for an API key or a removed user).")
    async def uploaded_by(self, info: Info) -> User | None:
        if self.uploaded_by_id is None:
            return None
        row = await info.context.loader(dataloaders.users_by_id).load(self.uploaded_by_id)
        return User.from_row(row) if row else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Document | None]:
        rows = await info.context.require_scope().get_many(DocumentRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type
class Query:
    @strawberry.field(description="The organisation's documents, newest first.")
    async def documents(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Document]:
        scope = info.context.require_scope()
        return await paginate(
            scope.query(DocumentRow).order_by("-id"), first, after, Document.from_row
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Upload a file (GraphQL multipart request); size and type are limited."
    )
    async def upload_document(self, info: Info, file: Upload) -> Document:
        scope = info.context.require_writer()
        settings = info.context.services.settings
        if not isinstance(file, UploadFile):  # the Upload scalar takes any value as it is
            raise ValidationFailed(
                "file must be a file part of a GraphQL multipart request", field="file"
            )
        row = await documents.upload_document(
            scope,
            filename=file.filename,
            content_type=file.content_type,
            read=file.read,
            max_bytes=settings.upload_max_bytes,
        )
        return Document.from_row(row)
