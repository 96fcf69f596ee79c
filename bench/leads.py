"""Leads benchmark (SPEC §12): list + filter and duplicate detection on 100,000 leads,
through the resolvers and through GraphQL, against the equivalent raw SQL in the same run.

    .venv/bin/python -m bench.leads [--leads 100000] [--repeat 20]

On a scratch PostgreSQL database (bench/harness.py), bulk-loads the leads with COPY,
prints the ratios and appends the run to bench/RESULTS.md. bench/curves.py reuses the
loader and the list page pairs at 10k, 100k and 1M leads.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
from strawberry import Schema

from app.wiring import collect_garbage_less_often
from bench.harness import Run, scratch_database
from models.audit import ChangeLogEntry
from models.leads import LeadStatus, WaitlistStatus
from models.records import RecordLink
from resolvers.context import Scope, system_scope
from resolvers.leads.duplicates import count_duplicate_groups, duplicate_groups, lead_duplicates
from resolvers.leads.fields import duplicate_keys
from resolvers.leads.listing import LeadFilter, LeadOrder, LeadSort, list_leads
from resolvers.organizations import create_organization
from schema import build_schema
from schema.context import Context
from schema.pagination import paginate

FIRST = ["Léa", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Manon", "Gabriel", "Zoé", "Arthur"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy"]
PRODUCTS = ["PY-101", "JS-200", "SQL-110", "DATA-300", "MGT-050", "UX-120", "OPS-400", "SEC-210"]
COLUMNS = [
    "organization_id", "created_at", "updated_at", "version", "first_name", "last_name", "email",
    "office_phone", "mobile", "fax", "job_title", "department", "account_name", "website",
    "primary_address", "other_address", "description", "referred_by", "status", "lead_source",
    "status_description", "lead_source_description", "campaign", "is_waitlist_entry",
    "waitlist_product_code", "waitlist_date_added", "waitlist_status", "waitlist_order_number",
    "waitlist_emails_sent", "store_customer_id", "source_system", "lawful_basis",
    "lawful_basis_source", "email_norm", "name_norm", "phone_norm", "account_norm",
]  # fmt: skip
Pair = tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]

LIST_FILTER = LeadFilter(waitlist_statuses=(WaitlistStatus.PENDING,), product_code="PY-101")
LIST_ORDER = LeadOrder(LeadSort.NAME, descending=False)
RAW_LIST = """SELECT * FROM lead WHERE organization_id = $1 AND deleted_at IS NULL
  AND waitlist_status = 'PENDING' AND waitlist_product_code = 'PY-101'
  ORDER BY last_name, first_name, id LIMIT 51"""
RAW_LIST_COUNT = """SELECT count(*) FROM lead WHERE organization_id = $1 AND deleted_at IS NULL
  AND waitlist_status = 'PENDING' AND waitlist_product_code = 'PY-101'"""
RAW_SEARCH = """SELECT * FROM lead WHERE organization_id = $1 AND deleted_at IS NULL
  AND (name_norm LIKE '%' || $2 || '%' OR email_norm LIKE '%' || $2 || '%')
  ORDER BY created_at DESC, id DESC LIMIT 51"""
GRAPHQL_LIST = """{ leads(filter: {waitlistStatuses: [PENDING], productCode: "PY-101"},
  orderBy: {field: NAME, descending: false}, first: 50) {
  totalCount edges { node { id firstName lastName email waitlistProductCode
  status { value label } waitlistStatus { value } } } } }"""
GRAPHQL_LIST_SUBPANELS = GRAPHQL_LIST.replace(
    "waitlistStatus { value }", "waitlistStatus { value } subpanels { key totalCount }"
)
# A lead's five panels (resolvers/subpanels/registry.py) counted for the page's leads in
# one statement, as resolvers/subpanels/sources.py's count_together sends them.
RAW_PANEL_COUNTS = " UNION ALL ".join(
    [
        *(
            f"""SELECT {i} AS part, owner_id AS owner, count(*) AS n FROM recordlink
  WHERE organization_id = $1 AND owner_type = 'lead' AND target_type = '{target}'
  AND owner_id = ANY($2::bigint[]) GROUP BY owner_id"""
            for i, target in enumerate(("note", "task", "document", "email"))
        ),
        """SELECT 4, record_id, count(*) FROM changelogentry WHERE organization_id = $1
  AND record_type = 'lead' AND record_id = ANY($2::bigint[]) GROUP BY record_id""",
    ]
)
RAW_GROUP_PAGE = """WITH live AS (
    SELECT email_norm, name_norm, phone_norm, account_norm FROM lead
    WHERE organization_id = $1 AND deleted_at IS NULL),
  groups AS (
    SELECT 1 AS reason, email_norm AS k1, '' AS k2 FROM live WHERE email_norm <> ''
      GROUP BY email_norm HAVING count(*) > 1
    UNION ALL SELECT 2, name_norm, phone_norm FROM live WHERE name_norm <> '' AND phone_norm <> ''
      GROUP BY name_norm, phone_norm HAVING count(*) > 1
    UNION ALL SELECT 3, name_norm, account_norm FROM live WHERE name_norm <> '' AND account_norm <> ''
      GROUP BY name_norm, account_norm HAVING count(*) > 1)
  SELECT reason, k1, k2, (SELECT count(*) FROM groups) AS total FROM groups
  ORDER BY reason, k1, k2 LIMIT 51"""
# The first page holds only same-email groups (there are more than 51), as in the resolver.
RAW_GROUP_PAGE_ONLY = """SELECT email_norm AS k1 FROM lead
  WHERE organization_id = $1 AND deleted_at IS NULL AND email_norm <> ''
  GROUP BY email_norm HAVING count(*) > 1 ORDER BY email_norm LIMIT 51"""
RAW_GROUP_MEMBERS = """SELECT * FROM lead WHERE organization_id = $1 AND deleted_at IS NULL AND (
  email_norm = ANY($2::text[])
  OR (name_norm, phone_norm) IN (SELECT * FROM unnest($3::text[], $4::text[]))
  OR (name_norm, account_norm) IN (SELECT * FROM unnest($5::text[], $6::text[]))) ORDER BY id"""
RAW_DUPLICATES = """SELECT * FROM lead WHERE organization_id = $1 AND deleted_at IS NULL AND id <> $2
  AND (email_norm = $3 OR (name_norm = $4 AND phone_norm = $5) OR (name_norm = $4 AND account_norm = $6))
  ORDER BY id LIMIT 100"""


def person(i: int) -> tuple[str, str, str, str, str]:
    """Lead ``i``'s first and last name, email, phone and account (no chance collisions)."""
    first, last = FIRST[i * 7 % len(FIRST)], LAST[i * 13 % len(LAST)]
    email = f"{first}.{last}.{i}@exemple.fr".lower()
    phone = f"01 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d} 00"
    return first, last, email, phone, f"Société {i % 20000}"


def lead_record(org_id: int, i: int, rng: random.Random, now: datetime) -> tuple[Any, ...]:
    first, last, email, phone, account = person(i)
    if i and i % 50 == 0:  # the previous lead's email typed again, other case and spaces
        first, last, email = person(i - 1)[0], person(i - 1)[1], f"  {person(i - 1)[2].upper()} "
    elif i and i % 70 == 0:  # the previous person again, same phone, other formatting
        first, last, phone = (
            person(i - 1)[0],
            person(i - 1)[1].upper(),
            "+33 " + person(i - 1)[3][1:],
        )
    elif i and i % 90 == 0:  # the previous person again, same company
        first, last, account = person(i - 1)[0].upper(), person(i - 1)[1], person(i - 1)[4] + " "
    values = SimpleNamespace(
        first_name=first,
        last_name=last,
        email=email,
        office_phone=phone,
        mobile="",
        account_name=account,
    )
    keys = duplicate_keys(values)  # type: ignore[arg-type]
    created = now - timedelta(minutes=i)
    return (
        org_id, created, created, 1, first, last, email, phone, "", "", "", "", account, "", "", "",
        "", "", rng.choice(list(LeadStatus)).value, "", "", "", "", True, rng.choice(PRODUCTS),
        created, rng.choice(list(WaitlistStatus)).value, "", rng.randint(0, 3), f"CM-{i}",
        "CM store", "", "", keys["email_norm"], keys["name_norm"], keys["phone_norm"], keys["account_norm"],
    )  # fmt: skip


async def timed(
    ours: Callable[[], Awaitable[Any]], theirs: Callable[[], Awaitable[Any]], repeat: int
) -> tuple[float, float]:
    """Median seconds of ``repeat`` runs of each after one warm-up, the two taking turns
    (and turns at going first) so that a change in the machine's load hits both alike."""
    await ours()
    await theirs()
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            start = time.perf_counter()
            await (ours, theirs)[side]()
            samples[side].append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


async def load(dsn: str, org_id: int, count: int, first: int = 0) -> float:
    """Leads ``first`` … ``first + count - 1`` with COPY (rows generated as they are
    sent), then ANALYZE; returns the seconds it all took."""
    rng = random.Random(12 + first)
    now = datetime.now(UTC)

    def records() -> Iterator[tuple[Any, ...]]:
        for i in range(first, first + count):
            yield lead_record(org_id, i, rng, now)

    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        await conn.copy_records_to_table("lead", records=records(), columns=COLUMNS)
        await conn.execute("ANALYZE lead")
        return time.perf_counter() - start
    finally:
        await conn.close()


async def load_panel_rows(dsn: str, org_id: int) -> float:
    """Something for the leads' panels to count, generated in SQL: lead n gets n % 3 notes,
    n % 2 tasks, a document if n % 5 == 0, an email if n % 4 == 0 (links; the counts do not
    read the records themselves), and 1 + n % 3 change-log entries. Returns the seconds."""
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        await conn.execute(
            """INSERT INTO recordlink (organization_id, created_at, updated_at, version,
              owner_type, owner_id, target_type, target_id)
            SELECT $1, now(), now(), 1, 'lead', lead.id, kind, lead.id * 10 + copy
            FROM lead, LATERAL (VALUES ('note', lead.id % 3), ('task', lead.id % 2),
              ('document', (lead.id % 5 = 0)::int), ('email', (lead.id % 4 = 0)::int)) AS p(kind, n),
              generate_series(1, p.n) AS copy
            WHERE lead.organization_id = $1""",
            org_id,
        )
        await conn.execute(
            """INSERT INTO changelogentry (organization_id, record_type, record_id, action,
              field, actor_kind, actor_label, reason, at)
            SELECT $1, 'lead', lead.id, 'update', 'status', 'system', '', '', now()
            FROM lead, generate_series(0, lead.id % 3) WHERE lead.organization_id = $1""",
            org_id,
        )
        await conn.execute("ANALYZE recordlink, changelogentry")
        return time.perf_counter() - start
    finally:
        await conn.close()


async def answer(schema: Schema, scope: Scope, document: str) -> bytes:
    """The document answered as the HTTP view answers it: a context whose answer orjson
    encodes (embedding the JSON PostgreSQL built), the encoding included."""
    result = await schema.execute(document, context_value=Context(scope=scope, json_fragments=True))
    assert not result.errors, result.errors
    return orjson.dumps({"data": result.data})


def list_pairs(scope: Scope, raw: asyncpg.Connection, beside: asyncpg.Connection) -> list[Pair]:
    """The filtered list page + totalCount: through the resolvers, through GraphQL, and
    the raw SQL of both. Like ``paginate(count_too=True)``, the raw page and its COUNT run
    at once, the COUNT on a second connection (``beside``)."""
    schema = build_schema()
    org_id = scope.organization_id

    async def resolver_list() -> None:
        page = await paginate(
            list_leads(scope, LIST_FILTER, LIST_ORDER), 50, None, lambda r: r, count_too=True
        )
        await page.total_count()

    async def graphql_list() -> None:
        await answer(schema, scope, GRAPHQL_LIST)

    async def raw_list() -> None:
        await raw_page(org_id, raw, beside)

    return [
        ("list page + totalCount (resolvers)", resolver_list, raw_list),
        ("list page + totalCount (GraphQL)", graphql_list, raw_list),
    ]


async def raw_page(org_id: int, raw: asyncpg.Connection, beside: asyncpg.Connection) -> list[int]:
    """The raw page and its COUNT at once; the page's lead ids."""
    rows, _ = await asyncio.gather(
        raw.fetch(RAW_LIST, org_id), beside.fetchval(RAW_LIST_COUNT, org_id)
    )
    return [row["id"] for row in rows[:50]]


def subpanels_pair(scope: Scope, raw: asyncpg.Connection, beside: asyncpg.Connection) -> Pair:
    """The same page with each lead's ``subpanels { key totalCount }``, and its raw SQL:
    the page and its COUNT at once, then the panels' counts in one statement."""
    schema = build_schema()
    org_id = scope.organization_id

    async def graphql_subpanels() -> None:
        await answer(schema, scope, GRAPHQL_LIST_SUBPANELS)

    async def raw_subpanels() -> None:
        ids = await raw_page(org_id, raw, beside)
        await raw.fetch(RAW_PANEL_COUNTS, org_id, ids)

    return ("list page + totalCount + subpanels counts (GraphQL)", graphql_subpanels, raw_subpanels)


async def measure(dsn: str, org_id: int, repeat: int) -> list[tuple[str, float, float]]:
    scope = system_scope(org_id)
    raw, beside = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    sample = await raw.fetchrow("SELECT * FROM lead WHERE id = 5000")
    assert sample is not None

    async def raw_list_one_connection() -> None:  # the baseline until 2026-12-03
        await raw.fetch(RAW_LIST, org_id)
        await raw.fetchval(RAW_LIST_COUNT, org_id)

    async def raw_list() -> None:
        await raw_page(org_id, raw, beside)

    async def resolver_search() -> None:
        await paginate(
            list_leads(scope, LeadFilter(search="martin"), LeadOrder()), 50, None, lambda r: r
        )

    async def raw_search() -> None:
        await raw.fetch(RAW_SEARCH, org_id, "martin")

    async def resolver_groups() -> None:
        await duplicate_groups(scope, LeadFilter(), 0, 51)
        await count_duplicate_groups(scope, LeadFilter())

    async def raw_groups() -> None:
        page = await raw.fetch(RAW_GROUP_PAGE, org_id)
        keys = {
            reason: [(r["k1"], r["k2"]) for r in page if r["reason"] == reason]
            for reason in (1, 2, 3)
        }
        await raw.fetch(
            RAW_GROUP_MEMBERS,
            org_id,
            [k1 for k1, _ in keys[1]],
            *([k[0] for k in keys[2]], [k[1] for k in keys[2]]),
            *([k[0] for k in keys[3]], [k[1] for k in keys[3]]),
        )

    async def resolver_group_page() -> None:
        await duplicate_groups(scope, LeadFilter(), 0, 51)

    async def raw_group_page() -> None:
        page = await raw.fetch(RAW_GROUP_PAGE_ONLY, org_id)
        await raw.fetch(RAW_GROUP_MEMBERS, org_id, [r["k1"] for r in page], [], [], [], [])

    async def resolver_duplicates() -> None:
        await lead_duplicates(scope, sample["id"])

    async def raw_duplicates() -> None:
        row = await raw.fetchrow(
            "SELECT * FROM lead WHERE id = $1 AND organization_id = $2", sample["id"], org_id
        )
        await raw.fetch(
            RAW_DUPLICATES,
            org_id,
            row["id"],
            row["email_norm"],
            row["name_norm"],
            row["phone_norm"],
            row["account_norm"],
        )

    pairs = [
        *list_pairs(scope, raw, beside),
        subpanels_pair(scope, raw, beside),
        (
            "raw page then COUNT on one connection, vs at once on two",
            raw_list_one_connection,
            raw_list,
        ),
        ("free-text search page (resolvers)", resolver_search, raw_search),
        ("duplicate groups page (resolvers)", resolver_group_page, raw_group_page),
        ("duplicate groups page + totalCount (resolvers)", resolver_groups, raw_groups),
        ("duplicates of one lead (resolvers)", resolver_duplicates, raw_duplicates),
    ]
    try:
        return [(name, *await timed(ours, theirs, repeat)) for name, ours, theirs in pairs]
    finally:
        await raw.close()
        await beside.close()


def table(rows: list[tuple[str, float, float]]) -> list[str]:
    return [
        "| operation | ours (ms) | raw SQL (ms) | ratio |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {ours * 1000:.2f} | {theirs * 1000:.2f} | {ours / theirs:.2f}× |"
            for name, ours, theirs in rows
        ),
    ]


async def main(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            run = Run(f"leads: {count:,} leads, list, search and duplicates against raw SQL")
            org = await create_organization("Bench")
            print(f"loading {count:,} leads…", flush=True)
            load_seconds = await load(settings.database_url, org.id, count)
            panel_seconds = await load_panel_rows(settings.database_url, org.id)
            print(
                f"loaded in {load_seconds:.2f} s (+ {panel_seconds:.2f} s of panel rows); "
                f"measuring ({repeat} runs each)…",
                flush=True,
            )
            groups = await count_duplicate_groups(system_scope(org.id), LeadFilter())
            links, entries = await RecordLink.all().count(), await ChangeLogEntry.all().count()
            collect_garbage_less_often()  # as the API process does once started
            rows = await measure(settings.database_url, org.id, repeat)
    lines = [
        f"- {count:,} leads ({groups:,} duplicate groups) generated and loaded with COPY in "
        f"{load_seconds:.2f} s; their panels' rows (links, change log: "
        f"{links:,} + {entries:,}) in {panel_seconds:.2f} s",
        f"- median of {repeat} runs after a warm-up, ours and raw taking turns; ratio = ours / "
        "raw SQL; the raw list page and its COUNT run at once on two connections, as ours do",
        "- GraphQL rows answer as the HTTP view does (the leads' JSON built by PostgreSQL, "
        "embedded; the orjson encoding of the answer included in the time)",
        "",
        *table(rows),
    ]
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.leads, args.repeat))
