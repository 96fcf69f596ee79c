"""PostgreSQL: a mass update's batch in one data-modifying statement.

``WITH old AS (SELECT … FOR UPDATE)``, the per-field "changed" flags computed in SQL
(``IS DISTINCT FROM``), ``UPDATE … FROM`` the changed leads (version bumped), the
change-log rows (one per lead and changed field), one event per changed lead and the
items' rows of the leads found (UPDATED with old and new values, or UNCHANGED), all in
one round trip, the ids and positions as array parameters. It answers per lead: deleted
or not, the names of the fields it changed, the event's id; the engine writes only the
failing items' rows. What ``lead_writes``' read / write / audit and the engine's item
INSERT do in five statements and Python diffs; SQLite keeps that path (the same results:
the tests run on both).

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
from models.operations import BulkOperationItem
from resolvers.bulk_operations.kinds import Batch, ItemOutcome
from resolvers.bulk_operations.lead_writes import derived_keys, failure, not_found
from resolvers.events import written_events
from resolvers.leads.records import RECORD_TYPE
from resolvers.runtime import current_unit, now

UPDATED, UNCHANGED = "UPDATED", "UNCHANGED"

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
    positions = p([item.position for item in batch.items], "int[]")
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
    operation = p(batch.operation.id, "bigint")
    log, ev = ChangeLogEntry._meta.db_table, DomainEvent._meta.db_table
    common = (
        f"{org}, {p(RECORD_TYPE, 'text')} AS record_type, d.id, "
        f"{p(actor.kind.value, 'text')} AS actor_kind, {p(actor.id, 'text')} AS actor_id, "
        f"{stamp}"
    )
    sql = f"""
WITH wanted AS (SELECT * FROM unnest({ids}, {positions}) AS s(id, n)),
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
fields AS (
  SELECT d.id, d.n, f.name, f.old, f.new FROM diff d JOIN upd u ON u.id = d.id
  CROSS JOIN LATERAL (VALUES {per_field}) AS f(name, changed, old, new) WHERE f.changed
),
per_lead AS (
  SELECT id, min(n) AS n, array_agg(name ORDER BY name) AS names,
    jsonb_object_agg(name, old) AS old, jsonb_object_agg(name, new) AS new
  FROM fields GROUP BY id
),
log AS (
  INSERT INTO "{log}" (organization_id, record_type, record_id, actor_kind, actor_id, at,
    action, field, old_value, new_value, actor_label, bulk_job_id, reason)
  SELECT {common}, {p(action, "text")}, d.name, d.old, d.new, {p(actor.label, "text")},
    {p(batch.tag, "text")}, {p(f"bulk operation {batch.operation.id}", "text")}
  FROM fields d ORDER BY d.n, d.name
),
ev AS (
  INSERT INTO "{ev}" (organization_id, record_type, record_id, actor_kind, actor_id, at,
    type, payload)
  SELECT {common}, {p(event, "text")},
    jsonb_build_object('id', d.id, 'fields', to_jsonb(d.names), 'operationId', {operation})
  FROM per_lead d ORDER BY d.n
  RETURNING id, record_id
),
items AS (
  INSERT INTO "{BulkOperationItem._meta.db_table}" (operation_id, position, lead_id, outcome,
    reason, failed, errors, old_values, new_values)
  SELECT {operation}, d.n, d.id, CASE WHEN c.id IS NULL THEN '{UNCHANGED}' ELSE '{UPDATED}' END,
    '', false, '[]'::jsonb, c.old, c.new
  FROM diff d LEFT JOIN per_lead c ON c.id = d.id WHERE NOT d.deleted
)
SELECT d.id, d.deleted, c.names, ev.id AS event_id
FROM diff d LEFT JOIN per_lead c ON c.id = d.id LEFT JOIN ev ON ev.record_id = d.id"""
    return sql, p.values


async def update_batch(
    batch: Batch,
    values: Mapping[str, Any],
    texts: Mapping[str, str | None],
    *,
    action: str,
    event_type: str,
) -> list[ItemOutcome]:
    """Sets ``values`` (their change-log texts ``texts``) on the batch's leads that are
    not deleted and differ; the outcome of each item (UPDATED, UNCHANGED or its error)."""
    at = now()
    sql, params = _sql(batch, values, texts, action, event_type, at)
    rows = {row["id"]: row for row in await Lead._meta.db.execute_query_dict(sql, params)}
    outcomes, written = [], []
    for item in batch.items:
        row = rows.get(item.lead_id)
        if row is None:
            outcomes.append(not_found(item))
            continue
        if row["deleted"]:
            outcomes.append(failure(item, "WRONG_STATE", "this lead is deleted: restore it first"))
            continue
        diff: list[str] | None = row["names"]
        # Its item's row is written by the statement already.
        outcome = UNCHANGED if diff is None else UPDATED
        outcomes.append(ItemOutcome(item.position, item.lead_id, outcome, recorded=True))
        if diff is not None:
            payload = {"id": item.lead_id, "fields": diff, "operationId": batch.operation.id}
            written.append((row["event_id"], item.lead_id, payload))
    events = written_events(batch.scope, event_type, RECORD_TYPE, at, sorted(written))
    current_unit().events.extend(events)
    return outcomes
