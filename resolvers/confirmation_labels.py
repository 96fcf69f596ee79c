"""Labels of the confirmation states and of the session summary (SPEC §5 table).

Pure functions: the caller passes dates already in the organisation's time zone.
French is the default; dates are dd/mm/yyyy in French and "23 Nov 2026" in English.
"""

from __future__ import annotations

from datetime import date

from models.sessions import ConfirmationState, ConfirmationSummary

EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_STATE_LABELS: dict[str, dict[ConfirmationState, str]] = {
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

_SUMMARY_LABELS: dict[str, dict[ConfirmationSummary, str]] = {
    "fr": {
        ConfirmationSummary.TO_CONFIRM: "À confirmer",
        ConfirmationSummary.PENDING: "En attente de confirmation",
        ConfirmationSummary.CONFIRMED: "Confirmé",
        ConfirmationSummary.DECLINED: "Décliné",
    },
    "en": {
        ConfirmationSummary.TO_CONFIRM: "To be confirmed",
        ConfirmationSummary.PENDING: "Awaiting confirmation",
        ConfirmationSummary.CONFIRMED: "Confirmed",
        ConfirmationSummary.DECLINED: "Declined",
    },
}

# The list value of one client's state is the summary that state alone would give.
_STATE_LIST_VALUE: dict[ConfirmationState, ConfirmationSummary] = {
    ConfirmationState.TO_CONFIRM: ConfirmationSummary.TO_CONFIRM,
    ConfirmationState.PENDING: ConfirmationSummary.PENDING,
    ConfirmationState.ACCEPTED: ConfirmationSummary.CONFIRMED,
    ConfirmationState.DECLINED: ConfirmationSummary.DECLINED,
    ConfirmationState.MANUALLY_VALIDATED: ConfirmationSummary.CONFIRMED,
    ConfirmationState.EXPIRED: ConfirmationSummary.TO_CONFIRM,
}


def normalize_locale(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "fr"


def format_date(value: date | None, locale: str | None = "fr") -> str:
    if value is None:
        return "?"
    if normalize_locale(locale) == "en":
        return f"{value.day} {EN_MONTHS[value.month - 1]} {value.year}"
    return value.strftime("%d/%m/%Y")


def state_label(
    state: ConfirmationState,
    *,
    sent: date | None = None,
    deadline: date | None = None,
    answered: date | None = None,
    locale: str | None = "fr",
) -> str:
    """The "Etat confirmation" column of the session's Client tab."""
    lang = normalize_locale(locale)
    return _STATE_LABELS[lang][ConfirmationState(state)].format(
        sent=format_date(sent, lang),
        deadline=format_date(deadline, lang),
        answered=format_date(answered, lang),
    )


def summary_label(summary: ConfirmationSummary, locale: str | None = "fr") -> str:
    """The session list's "confirmation dates Client" column."""
    return _SUMMARY_LABELS[normalize_locale(locale)][ConfirmationSummary(summary)]


def state_list_value(state: ConfirmationState) -> ConfirmationSummary:
    return _STATE_LIST_VALUE[ConfirmationState(state)]
