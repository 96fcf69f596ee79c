"""py-spy for the benches: installed into the venv when missing, and a summary of its
collapsed stacks (``--format raw --full-filenames``: one ``frame;frame;… count`` line per
distinct stack, outermost frame first; frames read ``function (path:line)``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = "py-spy==0.4.3"
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]*):?(?P<line>\d*)\)$")
ROOT = Path(__file__).resolve().parent.parent
# Leaf frame's path fragment → layer; the first that matches wins.
LAYERS = [
    ("/graphql/", "graphql-core (execution, validation)"),
    ("/strawberry/", "strawberry"),
    (f"{ROOT}/schema/", "Trainhub schema/ (types, fast path, prefetch)"),
    (f"{ROOT}/resolvers/", "Trainhub resolvers/"),
    (f"{ROOT}/app/", "Trainhub app/ (ASGI, auth wiring)"),
    (f"{ROOT}/models/", "Trainhub models/"),
    ("/tortoise/", "tortoise-orm"),
    ("/pypika", "pypika (SQL building)"),
    ("/asyncpg/", "asyncpg"),
    ("/uvicorn/", "uvicorn"),
    ("/starlette/", "starlette"),
    ("/jwt/", "PyJWT"),
    ("/asyncio/", "asyncio"),
    ("/uvloop/", "uvloop"),
]


def py_spy() -> str:
    """Path of py-spy in this venv, installing it from PyPI first if it is missing."""
    path = Path(sys.executable).with_name("py-spy")
    if not path.exists():
        print(f"installing {PY_SPY} into the venv …", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PY_SPY], check=True)
    return str(path if path.exists() else shutil.which("py-spy"))


def parse(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    """Stacks as ``([(function, path), …], samples)``, outermost frame first."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            match = FRAME.match(raw)
            frames.append((match["function"], match["path"]) if match else (raw, ""))
        stacks.append((frames, int(count)))
    return stacks


GC = "CPython cyclic garbage collector"


def layer(path: str) -> str:
    return next((name for fragment, name in LAYERS if fragment in path), "other")


def python_leaf(frames: list[tuple[str, str]]) -> tuple[str, str]:
    """The innermost Python frame (native frames, with ``--native``, are C code it called)."""
    return next((f for f in reversed(frames) if f[1].endswith(".py")), frames[-1])


def in_gc(frames: list[tuple[str, str]]) -> bool:
    return any(function.startswith("gc_collect") for function, _ in frames)


def short(function: str, path: str) -> str:
    for prefix in (f"{ROOT}/", "site-packages/", "python3.11/"):
        if prefix in path:
            path = path.split(prefix, 1)[1]
    return f"{function} ({path})"


def phase_table(
    stacks: list[tuple[list[tuple[str, str]], int]], phases: list[tuple[str, str]]
) -> list[str]:
    """Samples by phase: the first of ``phases`` (label, marker), innermost first, whose
    marker is on the stack: a function name, or a path fragment when it holds a "/". The
    garbage collector's part of each is shown apart."""
    total = sum(count for _, count in stacks) or 1
    rest = "elsewhere (event loop, server protocol, asyncpg decoding rows, native I/O)"
    shares: dict[str, list[int]] = {label: [0, 0] for label, _ in [*phases, (rest, "")]}
    for frames, count in stacks:
        functions = {function for function, _ in frames}
        paths = " ".join(path for _, path in frames)
        label = next(
            (
                label
                for label, marker in phases
                if marker in (paths if "/" in marker else functions)
            ),
            rest,
        )
        shares[label][0] += count
        shares[label][1] += count if in_gc(frames) else 0
    return [
        "| phase (innermost first) | share of samples | of which garbage collector |",
        "|---|---:|---:|",
        *(
            f"| {label} | {100 * n / total:.1f} % | {100 * gc / total:.1f} % |"
            for label, (n, gc) in shares.items()
        ),
        "",
    ]


def summarise(
    text: str,
    possible_samples: float,
    requests: int,
    phases: list[tuple[str, str]] | None = None,
    top: int = 15,
) -> list[str]:
    """Markdown lines: samples by layer of the innermost Python frame (or the garbage
    collector, seen with ``--native``), top functions by own time (C code they call
    included), by total time (counted once per sample however deep it recurses; the
    frames in ≥ 90 % of the samples, the server's loop, left out) and, with
    ``--native``, the native leaf functions."""
    stacks = parse(text)
    total = sum(count for _, count in stacks) or 1
    by_layer: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    native: Counter[str] = Counter()
    for frames, count in stacks:
        leaf = python_leaf(frames)
        collecting = in_gc(frames)
        by_layer[GC if collecting else layer(leaf[1])] += count
        own[GC if collecting else short(*leaf)] += count
        if frames[-1] != leaf:
            native[short(*frames[-1])] += count
        for name in {short(*frame) for frame in frames if frame[1].endswith(".py")}:
            inclusive[name] += count
    trunk = [name for name, n in inclusive.items() if n >= 0.9 * total]  # the server's loop

    def share(n: int) -> str:
        return f"{100 * n / total:.1f} %"

    lines = [
        f"- Samples: {total:,} active of {possible_samples:,.0f} possible "
        f"({100 * total / possible_samples:.0f} % of the time on CPU), "
        f"{requests:,} requests",
        "",
        *phase_table(stacks, phases or []),
        "| layer (innermost Python frame) | share of samples |",
        "|---|---:|",
        *(f"| {name} | {share(n)} |" for name, n in by_layer.most_common()),
        "",
        "| top functions by own time | share |",
        "|---|---:|",
        *(f"| `{name}` | {share(n)} |" for name, n in own.most_common(top)),
        "",
        "| top functions by total time (with callees) | share |",
        "|---|---:|",
        *(
            f"| `{name}` | {share(n)} |"
            for name, n in [x for x in inclusive.most_common() if x[0] not in trunk][: top + 10]
        ),
    ]
    if native:
        lines += [
            "",
            "| top native leaf functions (--native) | share |",
            "|---|---:|",
            *(f"| `{name}` | {share(n)} |" for name, n in native.most_common(top)),
        ]
    return lines
