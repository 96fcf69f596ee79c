"""Which PDF library the prints use, by measurement (issue 11): the same 1,000-row table
of lead-like values (accents, an account name long enough to wrap) rendered by

- WeasyPrint from a Jinja2 HTML template (``table-layout: fixed``, repeated heading,
  page numbers from ``@page``); needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0);
- fpdf2's own ``table()`` (pure Python; DejaVu fonts from Debian's fonts-dejavu-core);
- fpdf2 through ``resolvers.prints.pdf.PrintDocument`` (what the prints use: cells wrapped
  word by word on cached widths).

Each in a process of its own: seconds to render, and the process's peak RSS growth
(``VmHWM`` after rendering, reset after the imports, minus ``VmRSS`` before).

    .venv/bin/pip install weasyprint   # only to compare: not a dependency of Trainhub
    .venv/bin/python -m bench.pdf_libraries [--rows 1000]

Prints the figures and appends the run to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HEAD = ["#", "Prénom", "Nom", "Courriel", "Statut", "Liste d'attente", "Produit", "Compte"]
WEIGHTS = (4, 12, 12, 18, 8, 10, 8, 28)
ACCOUNT = "Société d'études et de réalisations électroniques de Provence"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEMPLATE = """<html><head><style>
@page { size: A4 landscape; margin: 12mm;
  @bottom-center { content: "Page " counter(page) " / " counter(pages); font-size: 7pt } }
body { font-family: "DejaVu Sans"; font-size: 9pt }
table { width: 100%; border-collapse: collapse; table-layout: fixed }
thead { display: table-header-group }
th, td { border: 0.3pt solid #aaa; padding: 1.2mm; overflow-wrap: anywhere; text-align: left }
</style></head><body><h1>Clients potentiels</h1><table><thead><tr>
{% for h in head %}<th style="width: {{ widths[loop.index0] }}%">{{ h }}</th>{% endfor %}
</tr></thead><tbody>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>
{% endfor %}</tr>{% endfor %}</tbody></table></body></html>"""


def rows(count: int) -> Iterator[list[str]]:
    for i in range(count):
        yield [
            str(i + 1),
            f"Hélène-Éloïse {i}",
            f"Dupont-Légère {i}",
            f"helene.{i}@exemple.fr",
            "Assigné",
            "En attente",
            f"PY-{i % 17:03d}",
            " ".join([ACCOUNT] * (1 + i % 3)),
        ]


def weasyprint(count: int) -> bytes:
    from jinja2 import Template
    from weasyprint import HTML

    widths = [100 * w / sum(WEIGHTS) for w in WEIGHTS]
    html = Template(TEMPLATE).render(head=HEAD, rows=rows(count), widths=widths)
    return bytes(HTML(string=html).write_pdf())


def fpdf2_table(count: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("DejaVu", fname=FONT)
    pdf.add_font("DejaVu", style="B", fname=FONT.replace("Sans.ttf", "Sans-Bold.ttf"))
    pdf.set_font("DejaVu", size=9)
    pdf.add_page()
    with pdf.table(col_widths=WEIGHTS, repeat_headings=1) as table:
        table.row(HEAD)
        for row in rows(count):
            table.row(row)
    return bytes(pdf.output())


def trainhub(count: int) -> bytes:
    from resolvers.prints.pdf import Header, PrintDocument

    doc = PrintDocument(Header("Org", "Clients potentiels", "02/12/2026"), landscape=True)
    doc.data_table(HEAD, list(rows(count)))
    return doc.render()


CANDIDATES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "weasyprint": ("WeasyPrint (Jinja2 HTML)", weasyprint),
    "fpdf2_table": ("fpdf2 `table()`", fpdf2_table),
    "trainhub": ("fpdf2 via PrintDocument (the prints)", trainhub),
}
IMPORTS = {"weasyprint": "weasyprint", "fpdf2_table": "fpdf", "trainhub": "resolvers.prints.pdf"}


def memory_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def measure_here(name: str, count: int) -> dict[str, float]:
    """Render in this process (the child's side); the peak is the kernel's high-water
    mark, reset after the imports (``/proc/self/clear_refs``)."""
    __import__(IMPORTS[name])
    Path("/proc/self/clear_refs").write_text("5")
    before = memory_kb("VmRSS")
    start = time.perf_counter()
    content = CANDIDATES[name][1](count)
    seconds = time.perf_counter() - start
    growth_mb = (memory_kb("VmHWM") - before) / 1024
    return {"seconds": seconds, "growth_mb": growth_mb, "kb": len(content) / 1024}


def measure(name: str, count: int) -> dict[str, float] | str:
    done = subprocess.run(
        [sys.executable, "-m", "bench.pdf_libraries", "--child", name, "--rows", str(count)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return dict(json.loads(done.stdout))


def main(count: int) -> None:
    # Imported here: a child measures its memory from what the render alone adds.
    from bench.harness import Run

    run = Run(f"PDF library: a {count:,}-row table, WeasyPrint vs fpdf2")
    results = {name: measure(name, count) for name in CANDIDATES}
    ours = results["trainhub"]
    lines = [
        f"- The same {count:,}-row, 8-column table (accents, long cells that wrap), A4 "
        "landscape with a repeated heading and page numbers; each in its own process: "
        "render seconds and peak RSS growth after the imports",
        "",
        "| library | s | × PrintDocument | peak RSS growth MB | PDF KB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (label, _) in CANDIDATES.items():
        result = results[name]
        if isinstance(result, str):
            lines.append(f"| {label} | not run: {result} | | | |")
            continue
        ratio = result["seconds"] / ours["seconds"] if isinstance(ours, dict) else float("nan")
        lines.append(
            f"| {label} | {result['seconds']:.2f} | {ratio:.1f}× | "
            f"{result['growth_mb']:.0f} | {result['kb']:.0f} |"
        )
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--child", choices=list(CANDIDATES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_here(args.child, args.rows)))
    else:
        main(args.rows)
