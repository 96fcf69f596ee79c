"""``trainhub seed-demo`` gives a few leads, clients, contacts and sessions notes, tasks
and documents, once, so that their subpanels are not empty in ``make dev DEMO=1``."""

from __future__ import annotations

from typing import Any

from app.demo import seed_demo
from models.core import Role, User
from models.leads import Lead
from models.records import Document, Note, RecordLink, Task
from resolvers.auth import issue_access_token
from tests.conftest import GraphQLClient
from tests.subpanels_support import gid, shown, subpanels


async def test_demo_records_have_related_records_once(gql: GraphQLClient, app: Any) -> None:
    org = await seed_demo(lambda _: None)
    counts = (await Note.all().count(), await Task.all().count(), await Document.all().count())
    await seed_demo(lambda _: None)
    assert (
        await Note.all().count(),
        await Task.all().count(),
        await Document.all().count(),
    ) == counts
    assert counts == (16, 16, 2)
    owners = set(await RecordLink.filter(target_type="note").values_list("owner_type", flat=True))
    assert owners == {"lead", "client", "contact", "session"}

    admin = await User.get(organization_id=org.id, role=Role.ADMIN)
    token = issue_access_token(admin).token
    lead = await Lead.filter(organization_id=org.id, deleted_at__isnull=True).order_by("id").first()
    assert lead is not None
    panels = await subpanels(gql, token, gid("Lead", lead.id))
    assert [panels[k]["totalCount"] for k in ("notes", "tasks", "documents")] == [1, 1, 1]
    [note] = shown(panels["notes"])
    assert note["subject"] and note["author"] == {"email": admin.email}
