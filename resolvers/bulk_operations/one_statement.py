"""PostgreSQL: a batch of a mass update, or of its revert, in one data-modifying statement.

``WITH old AS (SELECT … FOR UPDATE)``, the per-field "changed" flags computed in SQL
(``IS DISTINCT FROM``), ``UPDATE … FROM`` the changed leads (version bumped), the
change-log rows (one per lead and changed field), one event per changed lead and the
items' rows of the leads written (UPDATED or REVERTED with old and new values, or
UNCHANGED), all in one round trip, the ids and positions as array parameters. It answers
per lead: deleted or not, the fields it conflicts on, the names of the fields it changed,
the event's id; the engine writes only the failing items' rows. What ``lead_writes``'
read / write / audit and the engine's item INSERT do in five statements and Python diffs;
SQLite keeps that path (the same results: the tests run on both).

A mass update sets the same values on every lead (bound once); a revert joins each lead
to the reverted operation's item and puts back its ``old_values`` where the lead still
has its ``new_values`` (else a CONFLICT, unless forced). ``_Writes`` is what differs.

Text forms are PostgreSQL's ``::text`` of the column, which is ``resolvers.audit.as_text``
for the column types listed in ``TEXT_SAME``; a field of another type takes the other path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import fields as tortoise_fields

from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead
from models.operations import BulkOperation, BulkOperationItem
from resolvers.bulk_operations.kinds import Batch, ItemOutcome
from resolvers.bulk_operations.lead_writes import derived_keys, failure, not_found
from resolvers.events import written_events
from resolvers.leads.records import RECORD_TYPE
from resolvers.runtime import current_unit, now

UPDATED, UNCHANGED, REVERTED = "UPDATED", "UNCHANGED", "REVERTED"
NO_CONFLICT = "'{}'::text[]"

# Column types whose PostgreSQL text form is as_text's (numerics are stored quantized).
TEXT_SAME = (
    tortoise_fields.CharField,  # and its enum kind
    tortoise_fields.TextField,
    tortoise_fields.IntField,
    tortoise_fields.BigIntField,
    tortoise_fields.DecimalField,
    tortoise_fields.DateField,
)


def applies(names: Iterable[str], *, restoring: bool = False) -> bool:
    """Whether a batch setting the columns ``names`` can take this path: PostgreSQL, and
    columns of ``TEXT_SAME``; ``restoring`` (a revert: each lead its own values), also no
    duplicate-detection key to derive, which only Python computes."""
    if Lead._meta.db.capabilities.dialect != "postgres":
        return False
    names = list(names)
    if restoring and derived_keys(dict.fromkeys(names, "")):
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


def _sql_type(name: str) -> str:
    return str(Lead._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE"))


@dataclass(frozen=True)
class _Field:
    """One column the statement sets, as SQL over ``o`` (the lead's locked row)."""

    name: str
    value: str  # what it is set to, typed
    text: str  # that value's change-log text
    changed: str  # whether the lead's value differs from it


@dataclass(frozen=True)
class _Writes:
    """What a batch writes: the fields, what else ``old`` reads (joins and columns), the
    names a lead conflicts on (a text[] over ``o``), columns set alongside (derived keys)
    and whether a deleted lead is refused."""

    fields: list[_Field]
    joins: str = ""
    reads: str = ""
    conflicts: str = NO_CONFLICT
    also_set: list[str] = dataclasses.field(default_factory=list)
    refuse_deleted: bool = True
    outcome: str = UPDATED  # of a lead it changes


def _setting(p: _Params, values: Mapping[str, Any], texts: Mapping[str, str | None]) -> _Writes:
    """A mass update: the same values on every lead."""
    fields = []
    for name in sorted(values):
        field = Lead._meta.fields_map[name]
        typed = p(field.to_db_value(values[name], Lead), _sql_type(name))
        changed = f"o.{_quoted(Lead, name)} IS DISTINCT FROM {typed}"
        fields.append(_Field(name, typed, p(texts[name], "text"), changed))
    derived = [f"{_quoted(Lead, k)} = {p(v, 'text')}" for k, v in derived_keys(values).items()]
    return _Writes(fields, also_set=derived)


def _restoring(p: _Params, target: BulkOperation, names: Iterable[str], force: bool) -> _Writes:
    """A revert: each lead's values before ``target`` (its item's ``old_values``) where
    the lead still has what ``target`` wrote (``new_values``), or anyway if ``force``."""
    fields, conflicts = [], []
    for name in sorted(names):
        current, key = f"o.{_quoted(Lead, name)}::text", f"'{name}'"
        was, wrote = f"o.was->>{key}", f"o.wrote->>{key}"
        changed = f"(o.wrote ? {key} AND {current} IS DISTINCT FROM {was})"
        fields.append(_Field(name, f"({was})::{_sql_type(name)}", was, changed))
        conflicts.append(
            f"CASE WHEN o.wrote ? {key} AND {current} IS DISTINCT FROM {wrote} THEN {key} END"
        )
    # LATERAL … LIMIT 1: one index look-up per lead, and a row estimate the planner can
    # trust (it takes the items of a just-finished operation, unanalysed, for a few rows).
    joins = (
        f"JOIN LATERAL (SELECT t.old_values AS was, t.new_values AS wrote FROM "
        f'"{BulkOperationItem._meta.db_table}" t WHERE t.operation_id = '
        f"{p(target.id, 'bigint')} AND t.lead_id = l.id AND t.outcome = {p(UPDATED, 'text')} "
        "LIMIT 1) t ON true"
    )
    # A conflict: a field the operation wrote whose value is no longer what it wrote.
    conflict = f"array_remove(ARRAY[{', '.join(conflicts)}], NULL)"
    return _Writes(
        fields,
        joins=joins,
        reads=", t.was, t.wrote",
        conflicts=NO_CONFLICT if force else conflict,
        refuse_deleted=False,
        outcome=REVERTED,
    )


def _sql(p: _Params, batch: Batch, writes: _Writes, action: str, event: str, at: datetime) -> str:
    meta = Lead._meta
    scope, actor = batch.scope, batch.scope.actor
    org = p(scope.organization_id, "bigint")
    ids = p(batch.lead_ids, "bigint[]")
    positions = p([item.position for item in batch.items], "int[]")
    stamp = p(at, "timestamptz")
    fields = writes.fields
    column = {f.name: _quoted(Lead, f.name) for f in fields}
    read = ", ".join(f"l.{column[f.name]}" for f in fields)
    per_field_columns = ", ".join(
        f"({f.changed}) AS c{i}, o.{column[f.name]}::text AS o{i}, {f.value} AS v{i}, "
        f"{f.text} AS t{i}"
        for i, f in enumerate(fields)
    )
    any_changed = " OR ".join(f"d.c{i}" for i in range(len(fields)))
    sets = ", ".join(
        [
            f"{column[f.name]} = CASE WHEN d.c{i} THEN d.v{i} ELSE l.{column[f.name]} END"
            for i, f in enumerate(fields)
        ]
        + writes.also_set
    )
    per_field = ", ".join(f"('{f.name}', d.c{i}, d.o{i}, d.t{i})" for i, f in enumerate(fields))
    refused = "d.deleted OR " if writes.refuse_deleted else ""
    operation = p(batch.operation.id, "bigint")
    log, ev = ChangeLogEntry._meta.db_table, DomainEvent._meta.db_table
    common = (
        f"{org}, {p(RECORD_TYPE, 'text')} AS record_type, d.id, "
        f"{p(actor.kind.value, 'text')} AS actor_kind, {p(actor.id, 'text')} AS actor_id, "
        f"{stamp}"
    )
    return f"""
WITH old AS (
  SELECT l.id, w.n, l.deleted_at, {read}{writes.reads}
  FROM unnest({ids}, {positions}) AS w(id, n) JOIN "{meta.db_table}" l ON l.id = w.id
  {writes.joins}
  WHERE {scope.sql_condition("l", org)} FOR UPDATE OF l
),
diff AS (
  SELECT o.id, o.n, o.deleted_at IS NOT NULL AS deleted, {writes.conflicts} AS conflicts,
    {per_field_columns}
  FROM old o
),
allowed AS (SELECT * FROM diff d WHERE NOT ({refused}cardinality(d.conflicts) > 0)),
upd AS (
  UPDATE "{meta.db_table}" l SET {sets}, version = l.version + 1, updated_at = {stamp}
  FROM allowed d WHERE l.id = d.id AND ({any_changed})
  RETURNING d.*
),
fields AS (
  SELECT d.id, d.n, f.name, f.old, f.new FROM upd d CROSS JOIN LATERAL (VALUES {per_field}) AS f(name, changed, old, new) WHERE f.changed
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
  SELECT {operation}, d.n, d.id, CASE WHEN c.id IS NULL THEN {p(UNCHANGED, "text")}
    ELSE {p(writes.outcome, "text")} END, '', false, '[]'::jsonb, c.old, c.new
  FROM allowed d LEFT JOIN per_lead c ON c.id = d.id
)
SELECT d.id, d.deleted, d.conflicts, c.names, ev.id AS event_id
FROM diff d LEFT JOIN per_lead c ON c.id = d.id LEFT JOIN ev ON ev.record_id = d.id"""


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
    p = _Params()
    return await _run(batch, p, _setting(p, values, texts), action, event_type)


async def revert_batch(
    batch: Batch, target: BulkOperation, names: Iterable[str], force: bool
) -> list[ItemOutcome]:
    """Puts back what ``target`` (a mass update of the columns ``names``) changed on the
    batch's leads: REVERTED, UNCHANGED, or a CONFLICT naming the fields changed since."""
    p = _Params()
    return await _run(batch, p, _restoring(p, target, names, force), "revert", "lead.updated")


async def _run(
    batch: Batch, p: _Params, writes: _Writes, action: str, event_type: str
) -> list[ItemOutcome]:
    at = now()
    sql = _sql(p, batch, writes, action, event_type, at)
    rows = {row["id"]: row for row in await Lead._meta.db.execute_query_dict(sql, p.values)}
    outcomes, written = [], []
    for item in batch.items:
        row = rows.get(item.lead_id)
        if row is None:
            outcomes.append(not_found(item))
            continue
        if row["deleted"] and writes.refuse_deleted:
            outcomes.append(failure(item, "WRONG_STATE", "this lead is deleted: restore it first"))
            continue
        if row["conflicts"]:
            changed = ", ".join(row["conflicts"])
            outcomes.append(failure(item, "CONFLICT", f"changed since the operation: {changed}"))
            continue
        diff: list[str] | None = row["names"]
        # Its item's row is written by the statement already.
        outcome = UNCHANGED if diff is None else writes.outcome
        outcomes.append(ItemOutcome(item.position, item.lead_id, outcome, recorded=True))
        if diff is not None:
            payload = {"id": item.lead_id, "fields": diff, "operationId": batch.operation.id}
            written.append((row["event_id"], item.lead_id, payload))
    events = written_events(batch.scope, event_type, RECORD_TYPE, at, sorted(written))
    current_unit().events.extend(events)
    return outcomes
