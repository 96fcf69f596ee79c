"""Localised labels shown to users (SPEC §5): French by default, English on request.

Every domain formats its values through here (sessions, confirmation, leads), so a label
reads the same in the API, the emails, exports and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.sessions import ConfirmationState, ConfirmationSummary, SessionStatus

DEFAULT_LOCALE = "fr"
LOCALES = ("fr", "en")

SESSION_STATUS: dict[str, dict[SessionStatus, str]] = {
    "fr": {
        SessionStatus.DRAFT: "Brouillon",
        SessionStatus.PLANNED: "Planifiée",
        SessionStatus.CANCELLED: "Annulée",
        SessionStatus.DONE: "Terminée",
    },
    "en": {
        SessionStatus.DRAFT: "Draft",
        SessionStatus.PLANNED: "Planned",
        SessionStatus.CANCELLED: "Cancelled",
        SessionStatus.DONE: "Done",
    },
}

CONFIRMATION_SUMMARY: dict[str, dict[ConfirmationSummary, str]] = {
    "fr": {
        ConfirmationSummary.DECLINED: "Décliné",
        ConfirmationSummary.PENDING: "En attente de confirmation",
        ConfirmationSummary.TO_CONFIRM: "À confirmer",
        ConfirmationSummary.CONFIRMED: "Confirmé",
    },
    "en": {
        ConfirmationSummary.DECLINED: "Declined",
        ConfirmationSummary.PENDING: "Awaiting confirmation",
        ConfirmationSummary.TO_CONFIRM: "To confirm",
        ConfirmationSummary.CONFIRMED: "Confirmed",
    },
}

# The list value of a single session client's state (SPEC §5 table, last column).
CONFIRMATION_LIST_VALUE: dict[ConfirmationState, ConfirmationSummary] = {
    ConfirmationState.TO_CONFIRM: ConfirmationSummary.TO_CONFIRM,
    ConfirmationState.PENDING: ConfirmationSummary.PENDING,
    ConfirmationState.ACCEPTED: ConfirmationSummary.CONFIRMED,
    ConfirmationState.DECLINED: ConfirmationSummary.DECLINED,
    ConfirmationState.MANUALLY_VALIDATED: ConfirmationSummary.CONFIRMED,
    ConfirmationState.EXPIRED: ConfirmationSummary.TO_CONFIRM,
}

CONFIRMATION_STATE: dict[str, dict[ConfirmationState, str]] = {
    "fr": {
        ConfirmationState.TO_CONFIRM: "Date(s) à confirmer",
        ConfirmationState.PENDING: (
            "Date(s) en attente de confirmation - Envoyé le {sent} - Échéance {deadline}"
        ),
        ConfirmationState.ACCEPTED: "Date(s) acceptée(s) le {answered}",
        ConfirmationState.DECLINED: "Date(s) déclinée(s) le {answered}",
        ConfirmationState.MANUALLY_VALIDATED: "Date(s) validée(s) manuellement",
        ConfirmationState.EXPIRED: "Échéance dépassée le {deadline} - sans réponse",
    },
    "en": {
        ConfirmationState.TO_CONFIRM: "Date(s) to be confirmed",
        ConfirmationState.PENDING: (
            "Date(s) awaiting confirmation - Sent on {sent} - Deadline {deadline}"
        ),
        ConfirmationState.ACCEPTED: "Date(s) accepted on {answered}",
        ConfirmationState.DECLINED: "Date(s) declined on {answered}",
        ConfirmationState.MANUALLY_VALIDATED: "Date(s) validated manually",
        ConfirmationState.EXPIRED: "Deadline passed on {deadline} - no answer",
    },
}

# Lead status, waiting-list status and duplicate reasons (SPEC §7), by enum value.
LEAD_VALUES: dict[str, tuple[str, str]] = {
    "NEW": ("Nouveau", "New"),
    "ASSIGNED": ("Assigné", "Assigned"),
    "IN_PROCESS": ("En cours de traitement", "In process"),
    "CONVERTED": ("Converti", "Converted"),
    "RECYCLED": ("Recyclé", "Recycled"),
    "DEAD": ("Perdu", "Dead"),
    "PENDING": ("En attente", "Pending"),
    "REMOVED": ("Supprimé", "Removed"),
    "SAME_EMAIL": ("Même adresse courriel", "Same email address"),
    "SAME_NAME_AND_PHONE": ("Même nom et même téléphone", "Same name and phone"),
    "SAME_NAME_AND_ACCOUNT": ("Même nom et même compte", "Same name and account"),
}


def _day_first(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


# dd/mm/yyyy and yyyy-mm-dd made from the ISO form: strftime costs several times more,
# and a nested page formats thousands of confirmation dates.
DATE_FORMAT: dict[str, Callable[[str], str]] = {"fr": _day_first, "en": str}
SQL_DATE_FORMAT = {"fr": "DD/MM/YYYY", "en": "YYYY-MM-DD"}  # the same, by to_char


def locale_of(value: str | None) -> str:
    """ "en", "en-GB"… → English; anything else → French (the default)."""
    return "en" if (value or "").lower().startswith("en") else DEFAULT_LOCALE


def format_date(
    value: date | datetime | None, locale: str | None, time_zone: str = "Europe/Paris"
) -> str:
    """dd/mm/yyyy in French (ISO in English); a datetime is shown in the organisation's zone."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(time_zone)).date()
    return DATE_FORMAT[locale_of(locale)](value.isoformat())


def session_status(status: SessionStatus, locale: str | None) -> str:
    return SESSION_STATUS[locale_of(locale)][status]


def confirmation_summary(summary: ConfirmationSummary, locale: str | None) -> str:
    return CONFIRMATION_SUMMARY[locale_of(locale)][ConfirmationSummary(summary)]


def list_value(state: ConfirmationState) -> ConfirmationSummary:
    """The session list's value for one client in ``state`` (SPEC §5 table, last column)."""
    return CONFIRMATION_LIST_VALUE[ConfirmationState(state)]


def confirmation_list_value(state: ConfirmationState, locale: str | None) -> str:
    return confirmation_summary(list_value(state), locale)


def confirmation_state(
    state: ConfirmationState,
    locale: str | None,
    *,
    sent_at: datetime | None = None,
    deadline: date | None = None,
    answered_at: datetime | None = None,
    time_zone: str = "Europe/Paris",
) -> str:
    """The label of one session client's confirmation, with its dates filled in."""
    template = CONFIRMATION_STATE[locale_of(locale)][state]
    if "{" not in template:  # most states show no date: skip formatting three of them
        return template
    return template.format(
        sent=format_date(sent_at, locale, time_zone),
        deadline=format_date(deadline, locale, time_zone),
        answered=format_date(answered_at, locale, time_zone),
    )


def needs_dates(state: ConfirmationState) -> bool:
    """Whether the label of ``state`` shows dates (and so the organisation's time zone)."""
    return "{" in CONFIRMATION_STATE[DEFAULT_LOCALE][state]


def lead_value(value: str, locale: str | None) -> str:
    """A lead status, waiting-list status or duplicate reason (by its enum value)."""
    french, english = LEAD_VALUES[value]
    return english if locale_of(locale) == "en" else french


# Related-record subpanel titles (SPEC §8), by panel key.
SUBPANEL_TITLES: dict[str, tuple[str, str]] = {
    "notes": ("Notes", "Notes"),
    "tasks": ("Tâches", "Tasks"),
    "documents": ("Documents", "Documents"),
    "emails": ("E-mails", "Emails"),
    "change_log": ("Historique des modifications", "Change log"),
    "contacts": ("Contacts", "Contacts"),
    "sessions": ("Sessions", "Sessions"),
    "clients": ("Clients", "Clients"),
    "proposals": ("Propositions de dates", "Date proposals"),
    "lead": ("Client potentiel d'origine", "Originating lead"),
}

TASK_STATUS: dict[str, tuple[str, str]] = {
    "NOT_STARTED": ("Non commencée", "Not started"),
    "IN_PROGRESS": ("En cours", "In progress"),
    "COMPLETED": ("Terminée", "Completed"),
    "DEFERRED": ("Reportée", "Deferred"),
}


def subpanel_title(key: str, locale: str | None) -> str:
    french, english = SUBPANEL_TITLES[key]
    return english if locale_of(locale) == "en" else french


def task_status(value: str, locale: str | None) -> str:
    french, english = TASK_STATUS[value]
    return english if locale_of(locale) == "en" else french
