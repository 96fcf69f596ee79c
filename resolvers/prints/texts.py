"""The words of the prints, French and English (SPEC §5: French unless asked otherwise).
Field labels follow the seed's French names."""

from __future__ import annotations

from resolvers.labels import locale_of

TEXTS: dict[str, tuple[str, str]] = {
    # every print
    "printed_on": ("Imprimé le", "Printed on"),
    "page": ("Page", "Page"),
    "yes": ("Oui", "Yes"),
    "no": ("Non", "No"),
    "date": ("Date", "Date"),
    "item": ("Élément", "Item"),
    "more_items": ("Les {shown} plus récents sur {count}.", "The latest {shown} of {count}."),
    # lists
    "filter": ("Filtre", "Filter"),
    "no_filter": ("aucun (tous les dossiers)", "none (every record)"),
    "picked": ("Sélection : {count} dossier(s) choisi(s)", "Selection: {count} record(s) picked"),
    "excluded": ("{count} dossier(s) exclu(s)", "{count} record(s) left out"),
    "order": ("Tri", "Order"),
    # record types, one and many (a list print's title, a record's related lists)
    "lead": ("Client potentiel", "Lead"),
    "leads": ("Clients potentiels", "Leads"),
    "session": ("Session", "Session"),
    "sessions": ("Sessions", "Sessions"),
    "client": ("Client", "Client"),
    "clients": ("Clients", "Clients"),
    "contacts": ("Contacts", "Contacts"),
    # lead groups (the seed's tabs)
    "overview": ("Aperçu", "Overview"),
    "more_information": ("Renseignements supplémentaires", "More information"),
    "waiting_list": ("Liste d'attente", "Waiting list"),
    "consent": ("Consentement", "Consent"),
    "other": ("Autre", "Other"),
    # lead fields
    "name": ("Nom", "Name"),
    "email": ("Adresse courriel", "Email address"),
    "office_phone": ("Téléphone au bureau", "Office phone"),
    "mobile": ("Cellulaire", "Mobile"),
    "fax": ("Télécopieur", "Fax"),
    "job_title": ("Titre du poste", "Job title"),
    "department": ("Service", "Department"),
    "account_name": ("Nom du compte", "Account name"),
    "website": ("Site Web", "Website"),
    "primary_address": ("Adresse principale", "Primary address"),
    "other_address": ("Autre adresse", "Other address"),
    "description": ("Description", "Description"),
    "assigned_user": ("Attribué à", "Assigned to"),
    "referred_by": ("Référent", "Referred by"),
    "status": ("État", "Status"),
    "lead_source": ("Source du client potentiel", "Lead source"),
    "status_description": ("Description de l'état", "Status description"),
    "lead_source_description": (
        "Description de la source du client potentiel",
        "Lead source description",
    ),
    "opportunity_amount": ("Montant de l'opportunité", "Opportunity amount"),
    "campaign": ("Campagne", "Campaign"),
    "is_waitlist_entry": ("Est une entrée de la liste d'attente", "Is a waiting-list entry"),
    "waitlist_product_code": ("Code du produit de la liste d'attente", "Waiting-list product code"),
    "waitlist_date_added": (
        "Date de l'ajout à la liste d'attente",
        "Date added to the waiting list",
    ),
    "waitlist_status": ("État du dossier dans la liste d'attente", "Waiting-list status"),
    "waitlist_purchase_date": ("Date de l'achat dans la liste d'attente", "Purchase date"),
    "waitlist_order_number": ("Numéro de la commande dans la liste d'attente", "Order number"),
    "waitlist_emails_sent": (
        "Nombre de courriels envoyés par la boutique",
        "Emails sent by the store",
    ),
    "store_customer_id": ("ID client de la boutique", "Store customer ID"),
    "source_system": ("Système source", "Source system"),
    "store": ("Boutique", "Store"),
    "lawful_basis": ("Base légale", "Lawful basis"),
    "lawful_basis_source": ("Source de la base légale", "Lawful basis source"),
    "lawful_basis_review_date": (
        "Date de la révision de la base légale",
        "Lawful basis review date",
    ),
    "record_id": ("ID", "ID"),
    "created_at": ("Date de création", "Date created"),
    "updated_at": ("Date de modification", "Date modified"),
    "deleted_at": ("Date de suppression", "Date deleted"),
    # session
    "reference": ("Référence", "Reference"),
    "title": ("Intitulé", "Title"),
    "product_code": ("Code du cours", "Course code"),
    "location": ("Lieu", "Location"),
    "session_status": ("Statut", "Status"),
    "owner": ("Responsable", "Owner"),
    "confirmation_summary": ("Confirmation dates client", "Client date confirmation"),
    "planning": ("Planning", "Planning"),
    "no_planning": ("Aucune date planifiée.", "No dates planned."),
    "start": ("Début", "Start"),
    "end": ("Fin", "End"),
    "confirmation_state": ("État confirmation", "Confirmation status"),
    # client
    "client_name": ("Raison sociale", "Company name"),
    "address": ("Adresse", "Address"),
    "siret": ("SIRET", "SIRET"),
    "main_contact": ("Contact principal", "Main contact"),
    "phone": ("Téléphone", "Phone"),
    "dates": ("Dates", "Dates"),
}


def text(key: str, locale: str | None) -> str:
    french, english = TEXTS[key]
    return english if locale_of(locale) == "en" else french
