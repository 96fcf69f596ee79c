"""Throughput of the nested sessions query (SPEC §12), three servers side by side in one
run on one fresh PostgreSQL database (bench/harness.py: ``TRAINHUB_BENCH_PG``,
``TRAINHUB_BENCH_REDIS``):

- Trainhub: ``trainhub serve`` (strawberry + Tortoise, one uvicorn process), /graphql;
- hand-written: bench/baseline_app.py (asyncpg + dicts, one uvicorn process), same JSON;
- PostGraphile 5 (bench/peers, one Node process) on the same tables, through a login
  role with a password over TCP, answering the same query in its own dialect.

    .venv/bin/python -m bench.nested_sessions [--seconds 10] [--rounds 3] [--connections 4]

Seeds 100 sessions × 4 slots × 5 clients × 3 contacts, checks that the three answer the
same data (database ids, values, order), then loads each with ``wrk`` in turn, round
after round, prints requests/s and the ratios Trainhub / PostGraphile and Trainhub /
hand-written, and appends the run to bench/RESULTS.md.

Documented differences: PostGraphile has no labels (status, confirmation summary and
state are raw values), encodes its Relay ids its own way (both are decoded to database
ids for the check), gives time-with-time-zone columns their offset and each slot's own
location (Trainhub falls back to the session's; the check applies that rule to it). It
verifies the Bearer token (HS256, same secret) but reads no user row and scopes by an
explicit ``condition`` on the organisation, where Trainhub and the hand-written
endpoint look the user up and scope by it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from bench.harness import GridShape, Run, reader_role, scratch_database, seed_sessions
from bench.loadgen import Load, wrk, wrk_version
from bench.servers import (
    Server,
    free_port,
    node_version,
    postgraphile,
    postgraphile_version,
    product_env,
    running,
    trainhub_serve,
    uvicorn_app,
)

QUERY = """query { sessions(first: 100, orderBy: FIRST_DATE_ASC) { totalCount edges { node {
  id reference title productCode status { value label } firstDate lastDate
  confirmationSummary { value label }
  slots { date startTime endTime location }
  clients { edges { node { id confirmation { state label }
    client { id name mainContact { id email } contacts { id firstName lastName email } } } } }
} } } }"""
# The same query in PostGraphile's dialect (its inflection of the same tables/columns).
POSTGRAPHILE_QUERY = """query { allTrainingsessions(first: 100,
  condition: {organizationId: "%(org)d"}, orderBy: [FIRST_DATE_ASC, ROW_ID_ASC]) {
  totalCount edges { node {
  id reference title productCode status firstDate lastDate confirmationSummary location
  sessionslotsBySessionId(orderBy: [DATE_ASC, START_TIME_ASC, POSITION_ASC, ROW_ID_ASC]) {
    nodes { date startTime endTime location } }
  sessionclientsBySessionId(orderBy: ROW_ID_ASC) { edges { node { id confirmationState
    clientByClientId { id name contactByMainContactId { id email }
      contactsByClientId(orderBy: [LAST_NAME_ASC, FIRST_NAME_ASC, ROW_ID_ASC]) {
        nodes { id firstName lastName email } } } } } }
} } } }"""
SHAPE: GridShape = {
    "sessions": 100,
    "clients_per_session": 5,
    "contacts_per_client": 3,
    "slots_per_session": 4,
}
TRAINHUB, HANDWRITTEN, POSTGRAPHILE = "Trainhub", "hand-written", "PostGraphile"


@dataclass
class Endpoint:
    name: str
    url: str
    body: Path


# --- the check: both dialects reduced to the data they share --------------------------


def relay_pk(global_id: str) -> int:
    """Database id of a Trainhub Relay id (base64 of ``Type:id``)."""
    return int(base64.b64decode(global_id).decode().rsplit(":", 1)[1])


def postgraphile_pk(node_id: str) -> int:
    """Database id of a PostGraphile node id (base64 of ``["Type", "id"]``)."""
    return int(json.loads(base64.b64decode(node_id))[1])


def wall_clock(value: str) -> str:
    return time.fromisoformat(value).replace(tzinfo=None).isoformat()


def trainhub_data(answer: dict[str, Any]) -> tuple[int, list[Any]]:
    def client(c: dict[str, Any]) -> tuple[Any, ...]:
        main = c["mainContact"]
        return (
            relay_pk(c["id"]),
            c["name"],
            main and (relay_pk(main["id"]), main["email"]),
            [(relay_pk(p["id"]), p["firstName"], p["lastName"], p["email"]) for p in c["contacts"]],
        )

    def session(s: dict[str, Any]) -> tuple[Any, ...]:
        return (
            relay_pk(s["id"]),
            s["reference"],
            s["title"],
            s["productCode"],
            s["status"]["value"],
            s["firstDate"],
            s["lastDate"],
            s["confirmationSummary"] and s["confirmationSummary"]["value"],
            [(x["date"], x["startTime"], x["endTime"], x["location"]) for x in s["slots"]],
            [
                (relay_pk(e["node"]["id"]), e["node"]["confirmation"]["state"])
                + client(e["node"]["client"])
                for e in s["clients"]["edges"]
            ],
        )

    page = answer["data"]["sessions"]
    return page["totalCount"], [session(edge["node"]) for edge in page["edges"]]


def postgraphile_data(answer: dict[str, Any]) -> tuple[int, list[Any]]:
    def client(c: dict[str, Any]) -> tuple[Any, ...]:
        main = c["contactByMainContactId"]
        return (
            postgraphile_pk(c["id"]),
            c["name"],
            main and (postgraphile_pk(main["id"]), main["email"]),
            [
                (postgraphile_pk(p["id"]), p["firstName"], p["lastName"], p["email"])
                for p in c["contactsByClientId"]["nodes"]
            ],
        )

    def session(s: dict[str, Any]) -> tuple[Any, ...]:
        slots = s["sessionslotsBySessionId"]["nodes"]
        return (
            postgraphile_pk(s["id"]),
            s["reference"],
            s["title"],
            s["productCode"],
            s["status"],
            s["firstDate"],
            s["lastDate"],
            s["confirmationSummary"],
            [
                (x["date"], wall_clock(x["startTime"]), wall_clock(x["endTime"]))
                + (x["location"] or s["location"],)  # Trainhub's fallback rule
                for x in slots
            ],
            [
                (postgraphile_pk(e["node"]["id"]), e["node"]["confirmationState"])
                + client(e["node"]["clientByClientId"])
                for e in s["sessionclientsBySessionId"]["edges"]
            ],
        )

    page = answer["data"]["allTrainingsessions"]
    return page["totalCount"], [session(edge["node"]) for edge in page["edges"]]


async def answers(endpoints: list[Endpoint], token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=60) as http:
        got = {}
        for e in endpoints:
            response = await http.post(e.url, content=e.body.read_bytes(), headers=headers)
            response.raise_for_status()
            got[e.name] = response.json()
            if "errors" in got[e.name]:
                raise SystemExit(f"{e.name} answered errors: {got[e.name]['errors']}")
        return got


async def check_same_data(endpoints: list[Endpoint], token: str) -> int:
    """Raises unless the three answer the same data; returns the number of sessions."""
    got = await answers(endpoints, token)
    if got[TRAINHUB] != got[HANDWRITTEN]:
        raise SystemExit("Trainhub and the hand-written endpoint do not answer the same JSON")
    ours, theirs = trainhub_data(got[TRAINHUB]), postgraphile_data(got[POSTGRAPHILE])
    if ours != theirs:
        first = next(
            (i for i, (a, b) in enumerate(zip(ours[1], theirs[1], strict=False)) if a != b), None
        )
        detail = (
            "" if first is None else f"Session #{first}: {ours[1][first]} != {theirs[1][first]}"
        )
        raise SystemExit(f"Trainhub and PostGraphile do not answer the same data. {detail}")
    if len(ours[1]) != SHAPE["sessions"]:
        raise SystemExit(f"expected {SHAPE['sessions']} sessions, got {len(ours[1])}")
    return len(ours[1])


# --- the measurement -------------------------------------------------------------------


def measure(
    endpoints: list[Endpoint], token: str, seconds: float, rounds: int, connections: int
) -> dict[str, list[Load]]:
    """Each endpoint in turn for ``seconds``, ``rounds`` times (after a 2 s warm-up)."""
    authorization = f"Bearer {token}"
    for e in endpoints:
        wrk(e.url, e.body, authorization, 2, connections)
    loads: dict[str, list[Load]] = {e.name: [] for e in endpoints}
    for round_number in range(1, rounds + 1):
        for e in endpoints:
            load = wrk(e.url, e.body, authorization, seconds, connections)
            loads[e.name].append(load)
            print(
                f"round {round_number}: {e.name:>13} {load.per_second:7.1f} req/s "
                f"(p50 {load.p50_ms:.0f} ms, p99 {load.p99_ms:.0f} ms)",
                flush=True,
            )
    return loads


def overall(loads: list[Load]) -> float:
    return sum(x.requests for x in loads) / sum(x.seconds for x in loads)


def report(loads: dict[str, list[Load]], seconds: float, connections: int) -> list[str]:
    rate = {name: overall(runs) for name, runs in loads.items()}
    rows = [
        f"| {name} | {rate[name]:.1f} | {' / '.join(f'{x.per_second:.1f}' for x in runs)} | "
        f"{statistics.median(x.p50_ms for x in runs):.0f} |"
        for name, runs in loads.items()
    ]
    rounds = len(loads[TRAINHUB])

    def per_round(other: str) -> str:
        ratios = [
            a.per_second / b.per_second for a, b in zip(loads[TRAINHUB], loads[other], strict=True)
        ]
        return f"{min(ratios):.2f}–{max(ratios):.2f}× by round"

    return [
        "- Data: 100 sessions × 4 slots × 5 clients × 3 contacts (~11k fields), fresh "
        "PostgreSQL database; the three answers checked equal (ids, values, order)",
        f"- Load: wrk, 1 thread, {connections} connections, {rounds} rounds × {seconds:g} s per "
        "endpoint in turn (after a 2 s warm-up each); one server process each, wrk on the "
        "same cores",
        "",
        "| endpoint | req/s (all rounds) | req/s by round | p50 latency (ms) |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"**Trainhub / PostGraphile: {rate[TRAINHUB] / rate[POSTGRAPHILE]:.2f}×** "
        f"({per_round(POSTGRAPHILE)}; target ≥ 1.0×) — "
        f"**Trainhub / hand-written: {rate[TRAINHUB] / rate[HANDWRITTEN]:.2f}×** "
        f"({per_round(HANDWRITTEN)}; target ≥ 0.6×)",
    ]


def servers_and_endpoints(
    settings: Settings, reader_dsn: str, organization_id: int, work: Path
) -> tuple[list[tuple[Server, int]], list[Endpoint]]:
    """The three servers with their ports (started, maybe not listening yet) and the
    requests each is sent."""
    graphql, postgraphile_body = work / "graphql.json", work / "postgraphile.json"
    graphql.write_text(json.dumps({"query": QUERY}))
    postgraphile_body.write_text(
        json.dumps({"query": POSTGRAPHILE_QUERY % {"org": organization_id}})
    )
    ports = [free_port() for _ in range(3)]
    baseline_env = {**product_env(settings), "BENCH_DSN": settings.database_url}
    servers = [
        postgraphile(reader_dsn, settings.secret_key, ports[0], work),
        uvicorn_app("bench.baseline_app:create_app", ports[1], baseline_env, work, HANDWRITTEN),
        trainhub_serve(settings, ports[2], work),
    ]
    endpoints = [
        Endpoint(POSTGRAPHILE, f"http://127.0.0.1:{ports[0]}/graphql", postgraphile_body),
        Endpoint(HANDWRITTEN, f"http://127.0.0.1:{ports[1]}/sessions", graphql),
        Endpoint(TRAINHUB, f"http://127.0.0.1:{ports[2]}/graphql", graphql),
    ]
    return list(zip(servers, ports, strict=True)), endpoints


async def main(seconds: float, rounds: int, connections: int) -> None:
    tools = [f"Node {node_version()}", f"PostGraphile {postgraphile_version()}", wrk_version()]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with scratch_database(work) as settings, reader_role(settings) as reader_dsn:
            print("seeding …", flush=True)
            scope, token = await seed_sessions(**SHAPE)
            servers, endpoints = servers_and_endpoints(
                settings, reader_dsn, scope.organization_id, work
            )
            with running(*(server for server, _ in servers)):
                for server, port in servers:
                    server.wait_for_port(port)
                run = Run("nested sessions query: Trainhub, PostGraphile, hand-written")
                count = await check_same_data(endpoints, token)
                print(f"the three endpoints answer the same {count} sessions", flush=True)
                loads = measure(endpoints, token, seconds, rounds, connections)
                await check_same_data(endpoints, token)  # still answering correctly
    lines = report(loads, seconds, connections)
    print("\n".join(lines))
    run.record(lines, *tools)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4, help="requests in flight")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.rounds, arguments.connections))
