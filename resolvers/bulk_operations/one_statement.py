"""PostgreSQL: a mass update's batch in one data-modifying statement.

``WITH old AS (SELECT … FOR UPDATE)``, the per-field "changed" flags computed in SQL
(``IS DISTINCT FROM``), ``UPDATE … FROM`` the changed leads (version bumped), the
change-log rows (one per lead and changed field) and one event per changed lead, all in
one round trip, the ids as one array parameter. It answers per lead: deleted or not, the
old value's text of each field and whether it changed, the event's id. What
``lead_writes``' read / write / audit do in four statements and Python diffs; SQLite
keeps that path (the same results: the tests run on both).

Text forms are PostgreSQL's ``::text`` of the column, which is ``resolvers.audit.as_text``
for the column types listed in ``TEXT_SAME``; a field of another type takes the other path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise import fields as tortoise_fields

from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead
from resolvers.bulk_operations.kinds import Batch, ItemOutcome
from resolvers.bulk_operations.lead_writes import derived_keys, failure, not_found
from resolvers.leads.records import RECORD_TYPE
from resolvers.runtime import current_unit, now

# Column types whose PostgreSQL text form is as_text's (numerics are stored quantized).
TEXT_SAME = (
    tortoise_fields.CharField,  # and its enum kind
    tortoise_fields.TextField,
    tortoise_fields.IntField,
    tortoise_fields.BigIntField,
    tortoise_fields.DecimalField,
    tortoise_fields.DateField,
)


def applies(names: Mapping[str, Any]) -> bool:
    """Whether the batch can take this path: PostgreSQL, and columns of ``TEXT_SAME``."""
    if Lead._meta.db.capabilities.dialect != "postgres":
        return False
    return all(isinstance(Lead._meta.fields_map[name], TEXT_SAME) for name in names)


class _Params:
    """Bound parameters, ``$n`` placeholders handed out in order."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, sql_type: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{'::' + sql_type if sql_type else ''}"


def _quoted(model: type[Any], name: str) -> str:
    return f'"{model._meta.fields_db_projection[name]}"'


def _sql(
    batch: Batch,
    values: Mapping[str, Any],
    texts: Mapping[str, str | None],
    action: str,
    event: str,
    at: datetime,
) -> tuple[str, list[Any]]:
    meta = Lead._meta
    p = _Params()
    scope, actor = batch.scope, batch.scope.actor
    org = p(scope.organization_id, "bigint")
    ids = p(batch.lead_ids, "bigint[]")
    stamp = p(at, "timestamptz")
    names = sorted(values)
    typed = {
        n: p(
            meta.fields_map[n].to_db_value(values[n], Lead),
            meta.fields_map[n].get_for_dialect("postgres", "SQL_TYPE"),
        )
        for n in names
    }
    column = {n: _quoted(Lead, n) for n in names}
    read = ", ".join(f"l.{column[n]}" for n in names)
    flags = ", ".join(
        f"(o.{column[n]} IS DISTINCT FROM {typed[n]}) AS c{i}, o.{column[n]}::text AS o{i}"
        for i, n in enumerate(names)
    )
    any_changed = " OR ".join(f"d.c{i}" for i in range(len(names)))
    sets = ", ".join(
        [f"{column[n]} = {typed[n]}" for n in names]
        + [f"{_quoted(Lead, k)} = {p(v, 'text')}" for k, v in derived_keys(values).items()]
    )
    per_field = ", ".join(
        f"('{n}', d.c{i}, d.o{i}, {p(texts[n], 'text')})" for i, n in enumerate(names)
    )
    changed_names = ", ".join(f"CASE WHEN d.c{i} THEN '{n}' END" for i, n in enumerate(names))
    log, ev = ChangeLogEntry._meta.db_table, DomainEvent._meta.db_table
    common = (
        f"{org}, {p(RECORD_TYPE, 'text')} AS record_type, d.id, "
        f"{p(actor.kind.value, 'text')} AS actor_kind, {p(actor.id, 'text')} AS actor_id, "
        f"{stamp}"
    )
    sql = f"""
WITH wanted AS (SELECT id, n FROM unnest({ids}) WITH ORDINALITY AS s(id, n)),
old AS (
  SELECT l.id, l.deleted_at, {read} FROM "{meta.db_table}" l JOIN wanted w ON w.id = l.id
  WHERE l.organization_id = {org} FOR UPDATE OF l
),
diff AS (
  SELECT o.id, w.n, o.deleted_at IS NOT NULL AS deleted, {flags}
  FROM old o JOIN wanted w ON w.id = o.id
),
upd AS (
  UPDATE "{meta.db_table}" l SET {sets}, version = l.version + 1, updated_at = {stamp}
  FROM diff d WHERE l.id = d.id AND NOT d.deleted AND ({any_changed})
  RETURNING l.id
),
changed AS (SELECT d.* FROM diff d JOIN upd u ON u.id = d.id),
log AS (
  INSERT INTO "{log}" (organization_id, record_type, record_id, actor_kind, actor_id, at,
    action, field, old_value, new_value, actor_label, bulk_job_id, reason)
  SELECT {common}, {p(action, "text")}, f.name, f.old, f.new,
    {p(actor.label, "text")}, {p(batch.tag, "text")}, {p(f"bulk operation {batch.operation.id}", "text")}
  FROM changed d CROSS JOIN LATERAL (VALUES {per_field}) AS f(name, changed, old, new)
  WHERE f.changed ORDER BY d.n, f.name
),
ev AS (
  INSERT INTO "{ev}" (organization_id, record_type, record_id, actor_kind, actor_id, at,
    type, payload)
  SELECT {common}, {p(event, "text")}, jsonb_build_object('id', d.id, 'fields',
    to_jsonb(array_remove(ARRAY[{changed_names}], NULL)), 'operationId', {p(batch.operation.id, "bigint")})
  FROM changed d ORDER BY d.n
  RETURNING id, record_id
)
SELECT d.*, ev.id AS event_id FROM diff d LEFT JOIN ev ON ev.record_id = d.id"""
    return sql, p.values


async def update_batch(
    batch: Batch,
    values: Mapping[str, Any],
    texts: Mapping[str, str | None],
    *,
    action: str,
    event: str,
) -> list[ItemOutcome]:
    """Sets ``values`` (their change-log texts ``texts``) on the batch's leads that are
    not deleted and differ; the outcome of each item (UPDATED, UNCHANGED or its error)."""
    at = now()
    sql, params = _sql(batch, values, texts, action, event, at)
    rows = {row["id"]: row for row in await Lead._meta.db.execute_query_dict(sql, params)}
    names = sorted(values)
    scope, actor = batch.scope, batch.scope.actor
    outcomes, events = [], []
    for item in batch.items:
        row = rows.get(item.lead_id)
        if row is None:
            outcomes.append(not_found(item))
            continue
        if row["deleted"]:
            outcomes.append(failure(item, "WRONG_STATE", "this lead is deleted: restore it first"))
            continue
        diff = [n for i, n in enumerate(names) if row[f"c{i}"]]
        if not diff:
            outcomes.append(ItemOutcome(item.position, item.lead_id, "UNCHANGED"))
            continue
        old = {n: row[f"o{i}"] for i, n in enumerate(names) if row[f"c{i}"]}
        outcomes.append(
            ItemOutcome(
                item.position,
                item.lead_id,
                "UPDATED",
                old_values=old,
                new_values={n: texts[n] for n in diff},
            )
        )
        # Built as a query's rows are (no validation: they were just written).
        events.append(
            DomainEvent._init_from_db(
                id=row["event_id"],
                organization_id=scope.organization_id,
                type=event,
                record_type=RECORD_TYPE,
                record_id=item.lead_id,
                payload={"id": item.lead_id, "fields": diff, "operationId": batch.operation.id},
                actor_kind=actor.kind.value,
                actor_id=actor.id,
                at=at,
            )
        )
    current_unit().events.extend(sorted(events, key=lambda e: e.id))
    return outcomes
