"""The embedded SMTP sink of ``trainhub dev`` and its browser at /dev/mailbox."""

from __future__ import annotations

import email
import email.policy
import html
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.embedded import import_embedded


class MailboxHandler:
    """aiosmtpd handler: each accepted message becomes one ``.eml`` file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        name = f"{time.time_ns()}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_sink(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Any:
    """The running aiosmtpd ``Controller`` (``.stop()`` it)."""
    controller_module = import_embedded("aiosmtpd.controller", "the embedded SMTP sink")
    controller = controller_module.Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def _load(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}
.meta{{color:#555}}iframe{{width:100%;height:70vh;border:1px solid #ccc}}pre{{white-space:pre-wrap}}
</style></head><body>{body}</body></html>"""


def routes(directory: Path) -> list[Route]:
    async def inbox(request: Request) -> HTMLResponse:
        files = sorted(directory.glob("*.eml"), reverse=True) if directory.exists() else []
        rows = []
        for path in files[:500]:
            msg = _load(path)
            rows.append(
                f"<tr><td><a href='/dev/mailbox/{path.stem}'>{html.escape(str(msg['subject'] or '(no subject)'))}</a></td>"
                f"<td>{html.escape(str(msg['to'] or ''))}</td><td class=meta>{html.escape(str(msg['date'] or ''))}</td></tr>"
            )
        body = "<h1>Dev mailbox</h1><p class=meta>Mail caught by the embedded SMTP sink.</p>"
        body += (
            "<table><tr><th>Subject</th><th>To</th><th>Date</th></tr>" + "".join(rows) + "</table>"
        )
        if not rows:
            body += "<p>No mail yet.</p>"
        return HTMLResponse(_PAGE.format(title="Dev mailbox", body=body))

    def _path(request: Request, suffix: str = ".eml") -> Path | None:
        stem = request.path_params["stem"]
        if not re.fullmatch(r"\d+", stem):
            return None
        path = directory / f"{stem}{suffix}"
        return path if path.exists() else None

    async def message(request: Request) -> Response:
        path = _path(request)
        if path is None:
            return HTMLResponse(
                _PAGE.format(title="Not found", body="<h1>No such message</h1>"), 404
            )
        msg = _load(path)
        head = "".join(
            f"<div><b>{name}:</b> {html.escape(str(msg[name]))}</div>"
            for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID")
            if msg[name]
        )
        attachments = [name for p in msg.iter_attachments() if (name := p.get_filename())]
        if attachments:
            head += "<div><b>Attachments:</b> " + html.escape(", ".join(attachments)) + "</div>"
        text = msg.get_body(("plain",))
        body = f"<p><a href='/dev/mailbox/'>← all mail</a></p>{head}"
        if msg.get_body(("html",)) is not None:
            body += f"<h3>HTML</h3><iframe sandbox='allow-top-navigation-by-user-activation allow-popups' src='/dev/mailbox/{path.stem}/html'></iframe>"
        if text is not None:
            body += f"<h3>Text</h3><pre>{html.escape(text.get_content())}</pre>"
        return HTMLResponse(_PAGE.format(title=html.escape(str(msg["subject"])), body=body))

    async def message_html(request: Request) -> Response:
        path = _path(request)
        part = _load(path).get_body(("html",)) if path else None
        if part is None:
            return HTMLResponse("not found", 404)
        # Links open in the top window so a click goes to the response page itself.
        content = part.get_content()
        base = "<base target='_top'>"
        content = (
            content.replace("<head>", f"<head>{base}", 1) if "<head>" in content else base + content
        )
        return HTMLResponse(content)

    return [
        Route("/", inbox),
        Route("/{stem}", message),
        Route("/{stem}/html", message_html),
    ]
