"""Helpers of the print tests: a PDF's text as poppler's ``pdftotext`` extracts it, and its
first page rendered by ``pdftoppm`` (both from Debian's poppler-utils)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import httpx


def pdf_text(content: bytes) -> str:
    """The PDF's text, in reading order, with runs of whitespace made single spaces."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "print.pdf"
        path.write_bytes(content)
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
        )
    return " ".join(done.stdout.decode().split())


def render_first_page(content: bytes) -> bytes:
    """Page 1 as PNG; poppler fails (and so the test) on a PDF it cannot render."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "print.pdf"
        path.write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path), f"{tmp}/page"],
            capture_output=True,
            check=True,
        )
        png = next(Path(tmp).glob("page*.png")).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return png


def page_count(content: bytes) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "print.pdf"
        path.write_bytes(content)
        done = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
    line = next(x for x in done.stdout.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def assert_pdf(response: httpx.Response) -> str:
    """A PDF answer that poppler reads and renders; its text."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    render_first_page(response.content)
    import os

    if os.environ.get("KEEP_PDF"):
        Path(os.environ["KEEP_PDF"]).write_bytes(response.content)
    return pdf_text(response.content)
