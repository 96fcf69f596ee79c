"""Public pages: the response page of a date proposal (SPEC §5).

``GET``/``HEAD /respond/{token}`` only read: mail scanners open every link. The answer is
``POST``ed by the page's buttons (no auto-submit); the token itself authorises it, so no
session or CSRF token is involved. Plain HTML, readable on a phone, no JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from models.confirmation import ProposalAnswerKind
from resolvers import labels
from resolvers.confirmation import answers
from resolvers.confirmation.emails import planning_for_display
from resolvers.errors import NotFound, RateLimited, UserError

_ENV = Environment(
    loader=PackageLoader("app", "templates"), autoescape=select_autoescape(default=True)
)
# The token is in the URL: keep it out of caches, referrers, search engines and frames.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
ANSWERS = {"accept": ProposalAnswerKind.ACCEPTED, "decline": ProposalAnswerKind.DECLINED}

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Proposition de dates",
        "intro": "Voici les dates proposées pour cette session de formation :",
        "date": "Date",
        "time": "Horaires",
        "location": "Lieu",
        "deadline": "Merci de répondre au plus tard le",
        "current": "État actuel :",
        "recorded": "Votre réponse a été enregistrée.",
        "confirm_choice": "Confirmez votre réponse en cliquant sur l'un des boutons :",
        "accept": "J'accepte",
        "decline": "Je décline",
        "change_until": "Vous pouvez modifier votre réponse jusqu'au",
        "expired_heading": "Échéance dépassée",
        "expired": "L'échéance de cette proposition est dépassée : elle ne peut plus recevoir de réponse.",
        "superseded_heading": "Lien remplacé",
        "superseded": "Cette proposition a été remplacée ou retirée : ce lien ne fonctionne plus. "
        "Utilisez le lien du message le plus récent.",
        "not_found_heading": "Lien inconnu",
        "not_found": "Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier.",
        "rate_heading": "Trop de requêtes",
        "rate": "Trop de requêtes depuis votre adresse : réessayez dans une minute.",
        "bad_heading": "Réponse non reconnue",
        "bad": "Choisissez « J'accepte » ou « Je décline ».",
        "failed_heading": "Réponse non enregistrée",
        "failed": "Votre réponse n'a pas pu être enregistrée : réessayez plus tard ou "
        "contactez l'organisme de formation.",
        "other_lang": "en",
        "other_label": "English",  # the switch link, in the language it leads to
    },
    "en": {
        "title": "Proposed dates",
        "intro": "These are the dates proposed for this training session:",
        "date": "Date",
        "time": "Time",
        "location": "Location",
        "deadline": "Please answer by",
        "current": "Current status:",
        "recorded": "Your answer has been recorded.",
        "confirm_choice": "Confirm your answer with one of the buttons:",
        "accept": "I accept",
        "decline": "I decline",
        "change_until": "You may change your answer until",
        "expired_heading": "Deadline passed",
        "expired": "The deadline of this proposal has passed: it can no longer be answered.",
        "superseded_heading": "Link replaced",
        "superseded": "This proposal was replaced or withdrawn: this link no longer works. "
        "Use the link in the most recent message.",
        "not_found_heading": "Unknown link",
        "not_found": "This link is not valid. Check that it was copied whole.",
        "rate_heading": "Too many requests",
        "rate": "Too many requests from your address: try again in a minute.",
        "bad_heading": "Answer not recognised",
        "bad": "Choose “I accept” or “I decline”.",
        "failed_heading": "Answer not recorded",
        "failed": "Your answer could not be recorded: try again later or contact the "
        "training organisation.",
        "other_lang": "fr",
        "other_label": "Français",
    },
}


def _language(request: Request, proposal_locale: str | None, header_locale: str) -> str:
    """The page's language: the one the page's switch link chose, else the proposal's
    (the language of the email the client opened), else the browser's (no proposal: an
    unknown link, a refusal before the link is looked up)."""
    chosen = request.query_params.get("lang")
    if chosen in labels.LOCALES:
        return chosen
    if proposal_locale:
        return labels.locale_of(proposal_locale)
    return header_locale


def _html(template: str, status: int, **values: Any) -> HTMLResponse:
    body = _ENV.get_template(template).render(**values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _message(
    lang: str, status: int, key: str, page: answers.ProposalPage | None = None
) -> HTMLResponse:
    t = TEXTS[lang]
    return _html(
        "respond_message.html",
        status,
        lang=lang,
        t=t,
        title=t[f"{key}_heading"],
        heading=t[f"{key}_heading"],
        message=t[key],
        organization=page.context.organization.name if page else "",
        status_label=page.status_label(lang) if page else "",
    )


def _proposal(
    request: Request,
    lang: str,
    page: answers.ProposalPage,
    *,
    recorded: bool = False,
    preselected: str | None = None,
) -> HTMLResponse:
    session = page.context.session
    return _html(
        "respond.html",
        200,
        lang=lang,
        t=TEXTS[lang],
        title=f"{TEXTS[lang]['title']} - {session.title}",
        organization=page.context.organization.name,
        session_title=session.title,
        session_reference=session.reference,
        planning=planning_for_display(page.proposal.planning, lang),
        deadline=labels.format_date(page.deadline, lang),
        status_label=page.status_label(lang),
        recorded=recorded,
        preselected=preselected,
        action=f"{request.url.path}?lang={lang}",  # the answer is shown in the page's language
    )


def routes(locale_of: Callable[[str | None], str]) -> list[Route]:
    """``locale_of`` maps an Accept-Language header to "fr" or "en"."""

    async def respond(request: Request) -> Response:
        browser = locale_of(request.headers.get("accept-language"))
        fallback = _language(request, None, browser)
        ip = request.client.host if request.client else ""
        try:
            await request.app.state.services.rate_limit("public", ip)
        except RateLimited:
            return _message(fallback, 429, "rate")
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                return await _post(request, browser, token, ip)
            page = await answers.proposal_page(token)
        except NotFound:
            return _message(fallback, 404, "not_found")
        except answers.LinkGone as exc:
            gone = answers.GoneReason(exc.details["reason"])
            page = await answers.proposal_page(token)
            lang = _language(request, page.proposal.locale, browser)
            return _message(lang, 410, gone.value.lower(), page)
        except UserError:
            # e.g. the organisation's notification template fails on this record: nothing
            # was written; the client gets a page, not the API's JSON error.
            proposal = await answers.find_proposal(token)
            return _message(_language(request, proposal.locale, browser), 400, "failed")
        lang = _language(request, page.proposal.locale, browser)
        if page.gone is not None:
            return _message(lang, 410, page.gone.value.lower(), page)
        preselected = request.query_params.get("answer")
        return _proposal(
            request, lang, page, preselected=preselected if preselected in ANSWERS else None
        )

    async def _post(request: Request, browser: str, token: str, ip: str) -> Response:
        form = await request.form()
        answer = ANSWERS.get(str(form.get("answer", "")))
        if answer is None:
            proposal = await answers.find_proposal(token)  # an unknown token stays a 404
            return _message(_language(request, proposal.locale, browser), 400, "bad")
        page = await answers.answer_proposal(token, answer, ip)
        lang = _language(request, page.proposal.locale, browser)
        return _proposal(request, lang, page, recorded=True)

    return [Route("/respond/{token}", respond, methods=["GET", "HEAD", "POST"])]
