"""The policy manifest: every fact a privacy policy states, as data (pydantic v2, YAML on disk).

A *manifest* is one version of a policy. A *policy book* (:class:`PolicyBook`) is the ordered
list of versions of one controller's policy, oldest first; every record and consent remembers
the version id in force when it was made.

Identifiers (``id`` fields) are lower-case slugs, unique within their list; references between
sections use them, and :meth:`Manifest.check_references` (run on load) refuses a reference to
anything undeclared. Data categories, data uses and data subjects carry their Fides taxonomy key
(``fideslang``) where one fits, so a manifest maps onto a Fides system; where the policy needs
more (``call_recording``, ``business_card``…) the category keeps our own id and the nearest
Fides parent as ``fides_key``.

Where the policy text is vague or contradictory, the manifest does not guess: it carries a
:class:`Note` saying so, attached to the section it concerns.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

__all__ = [
    "AutomatedDecisions",
    "BalancingTest",
    "Channel",
    "ConsentCategory",
    "ConsentMechanism",
    "Contact",
    "DataCategory",
    "DataSubjectType",
    "Dpo",
    "Entity",
    "EntityRole",
    "ErasureException",
    "KeepStart",
    "LegalBasis",
    "Manifest",
    "Note",
    "PolicyBook",
    "Processor",
    "ProcessorRole",
    "Purpose",
    "Recipient",
    "RecipientKind",
    "RecipientRole",
    "ReferenceProblem",
    "RetentionAction",
    "RetentionRule",
    "RetentionStart",
    "RightKind",
    "RightOffer",
    "Rights",
    "Safeguard",
    "Scope",
    "SoftOptIn",
    "SpamHandling",
    "StatutoryRetention",
    "TiaOutcome",
    "Tracker",
    "Transfer",
    "TransferImpactAssessment",
    "VersionInfo",
    "Waiver",
]

_SLUG = r"^[a-z0-9][a-z0-9_.-]{0,79}$"


def _country(value: str) -> str:
    # ISO 3166-1 alpha-2, upper case; "EU" is accepted for EU-wide statements.
    if len(value) != 2 or not value.isalpha() or not value.isupper():
        raise ValueError("must be an ISO 3166-1 alpha-2 country code in upper case, like 'NO'")
    return value


Slug = Annotated[str, Field(pattern=_SLUG)]
Country = Annotated[str, AfterValidator(_country)]


class StrictModel(BaseModel):
    """Base of every manifest model: unknown fields are errors, values are validated on set."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class Note(StrictModel):
    """Where the policy text is vague, contradictory or silent, and what the manifest did."""

    section: str = Field(description="Policy section the note is about, e.g. '6.4'.")
    text: str = Field(min_length=1)
    kind: str = Field(default="vague", pattern=r"^(vague|contradiction|omission|assumption)$")


# --- who -------------------------------------------------------------------------------------


class EntityRole(StrEnum):
    """What a legal entity of the controller group is for the policy."""

    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    GROUP_MEMBER = "group_member"  # named among "Altoros"/"we"/"us"
    CONTACT_POINT = "contact_point"  # answers data-subject requests
    EEA_REPRESENTATIVE = "eea_representative"  # GDPR Art. 27
    OFFICE = "office"


class Contact(StrictModel):
    email: str | None = None
    phone: str | None = None
    fax: str | None = None
    url: HttpUrl | None = None


class Entity(StrictModel):
    """A legal entity of the controller's group (GDPR Art. 4(7), 13(1)(a))."""

    id: Slug
    legal_name: str
    country: Country
    address: str | None = None
    registration_number: str | None = None
    roles: list[EntityRole] = Field(min_length=1)
    contact: Contact = Field(default_factory=Contact)
    notes: list[Note] = Field(default_factory=list)


class Dpo(StrictModel):
    """Data protection officer (GDPR Art. 37-39, 13(1)(b))."""

    name: str
    email: str
    responsibilities: str | None = None


class Scope(StrictModel):
    """Whom and what the policy covers."""

    data_subjects: list[Slug] = Field(default_factory=list)
    excluded: list[str] = Field(
        default_factory=list, description="E.g. 'employees: regulated by a separate local act'."
    )
    examples: list[str] = Field(default_factory=list)


# --- what --------------------------------------------------------------------------------------


class DataSubjectType(StrictModel):
    id: Slug
    name: str
    fides_key: str | None = Field(default=None, description="fideslang data subject key.")


class DataCategory(StrictModel):
    """A category of personal data the policy says it collects."""

    id: Slug
    name: str
    fides_key: str | None = Field(default=None, description="fideslang data category key.")
    description: str | None = None
    special: bool = Field(default=False, description="GDPR Art. 9 special category.")
    identity_kind: str | None = Field(
        default=None,
        description="When the category identifies a person for requests: email, phone, "
        "skype, linkedin, name, visitor_id, customer_id, account_id.",
    )
    identifies: bool | None = Field(
        default=None,
        description="Whether a value of this category identifies one person on its own (an "
        "e-mail address, a customer id), so that a submission carrying it joins the person "
        "already known by it; false when it only corroborates (a phone line or a name people "
        "share). Unset: the default for its identity_kind (docs/registry.md).",
    )
    field_type: str = Field(
        default="text",
        pattern=r"^(text|email|phone|url|date|integer|duration|reference|free_text)$",
        description="How intake validates a value of this category.",
    )


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) lawful bases."""

    CONSENT = "consent"  # (a)
    CONTRACT = "contract"  # (b)
    LEGAL_OBLIGATION = "legal_obligation"  # (c)
    VITAL_INTERESTS = "vital_interests"  # (d)
    PUBLIC_TASK = "public_task"  # (e)
    LEGITIMATE_INTEREST = "legitimate_interest"  # (f)


class ConsentMechanism(StrEnum):
    """How consent is obtained and can be recorded (GDPR Art. 7(1))."""

    BANNER = "banner"
    CHECKBOX = "checkbox"
    DOUBLE_OPT_IN = "double_opt_in"
    IMPLIED_BY_SUBMISSION = "implied_by_submission"  # what the seed policy says; not valid consent
    NONE = "none"


class Purpose(StrictModel):
    """A purpose of processing with its legal basis (GDPR Art. 5(1)(b), 6, 13(1)(c)-(d))."""

    id: Slug
    name: str
    description: str | None = None
    data_use: str | None = Field(default=None, description="fideslang data use key.")
    legal_basis: LegalBasis | None = None
    legitimate_interest: str | None = Field(
        default=None, description="The interest claimed, when the basis is legitimate interest."
    )
    consent_mechanism: ConsentMechanism | None = Field(
        default=None, description="How consent is given, when the basis is consent."
    )
    direct_marketing: bool = Field(default=False, description="Art. 21(2) applies.")
    categories: list[Slug] = Field(
        default_factory=list,
        description="Categories this purpose uses (empty: all of the channel).",
    )
    also_claimed_bases: list[LegalBasis] = Field(
        default_factory=list,
        description="Further bases the policy text claims for the same purpose elsewhere "
        "(e.g. 'legitimate interests, or with your consent'); a contradiction to resolve.",
    )
    sections: list[str] = Field(
        default_factory=list, description="Policy sections that state this purpose."
    )
    notes: list[Note] = Field(default_factory=list)
    # --- policy-model: lawfulness and marketing facts (additive) ---
    balancing_test: BalancingTest | None = Field(
        default=None,
        description="The documented balancing of a legitimate interest against the person's "
        "rights (Art. 6(1)(f), 5(2)); empty when none is documented.",
    )
    electronic: bool | None = Field(
        default=None,
        description="Direct marketing sent by e-mail, text or messenger (ePrivacy Art. 13); "
        "None: decided from the data use (marketing.communications*).",
    )
    soft_opt_in: SoftOptIn | None = Field(
        default=None,
        description="The ePrivacy Art. 13(2) exception this purpose relies on, when it sends "
        "electronic marketing without consent to existing customers.",
    )
    asks_for_consent: bool = Field(
        default=False,
        description="The purpose is to send messages asking people for consent (to marketing "
        "or to further contact); such messages are marketing themselves.",
    )


class BalancingTest(StrictModel):
    """A documented legitimate-interest assessment (GDPR Art. 6(1)(f), 5(2); EDPB Guidelines
    1/2024): the interest, why the processing is necessary, and why the person's interests do
    not override it."""

    date: dt.date
    outcome: str = Field(min_length=1, description="The conclusion, in a sentence.")
    reference: str | None = Field(default=None, description="Where the full assessment is kept.")


class SoftOptIn(StrictModel):
    """ePrivacy Dir. 2002/58/EC Art. 13(2): e-mail marketing without consent to one's own
    customers, for one's own similar products or services, with an opt-out offered at
    collection and in every message. All four facts must hold."""

    customers: list[Slug] = Field(
        min_length=1,
        description="Data-subject types that are customers (the contact details were obtained "
        "in the context of a sale).",
    )
    similar_products: bool = Field(description="Only the controller's own similar products.")
    opt_out_at_collection: bool = Field(description="An opt-out was offered when collected.")
    opt_out_in_every_message: bool = Field(description="Every message carries an opt-out.")

    @property
    def complete(self) -> bool:
        return (
            self.similar_products and self.opt_out_at_collection and self.opt_out_in_every_message
        )


class RetentionStart(StrEnum):
    """The event a retention clock starts from."""

    COLLECTION = "collection"
    LAST_CONTACT = "last_contact"
    LAST_EVENT_REGISTRATION = "last_event_registration"
    LAST_SERVICE_DELIVERY = "last_service_delivery"


class RetentionAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    DELETE_OR_ANONYMISE = "delete_or_anonymise"


class RetentionRule(StrictModel):
    """How long a channel's data is kept and from which event (GDPR Art. 5(1)(e), 13(2)(a))."""

    years: int = Field(default=0, ge=0, le=100)
    months: int = Field(default=0, ge=0, le=1200)
    days: int = Field(default=0, ge=0, le=36500)
    starts_from: RetentionStart = RetentionStart.COLLECTION
    action: RetentionAction = RetentionAction.DELETE_OR_ANONYMISE
    processors_own_retention: list[Slug] = Field(
        default_factory=list,
        description="Processors whose own policies set the retention of what they collect.",
    )
    reason: str | None = Field(default=None, description="Why the data is kept, as stated.")
    as_stated: str | None = Field(
        default=None,
        description="The rule in the policy's own words, e.g. '6 years from last "
        "Service delivery'.",
    )
    migrate_existing: bool = Field(
        default=False,
        description="When this version changes the rule, records collected under older "
        "versions follow the new rule too (otherwise each record keeps its version's rule).",
    )

    @model_validator(mode="after")
    def _some_period(self) -> RetentionRule:
        if self.years == 0 and self.months == 0 and self.days == 0:
            raise ValueError("a retention rule needs a period (years, months or days)")
        return self

    def describe(self) -> str:
        """Human text, e.g. '6 years from last service delivery'."""
        parts = []
        for value, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")):
            if value:
                parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
        return f"{' '.join(parts)} from {self.starts_from.value.replace('_', ' ')}"


class Channel(StrictModel):
    """A way the policy collects personal data (website, web forms, chatbot, …)."""

    id: Slug
    name: str
    section: str = Field(description="Policy section, e.g. '3'.")
    description: str | None = None
    data_subjects: list[Slug] = Field(default_factory=list)
    categories: list[Slug] = Field(min_length=1)
    purposes: list[Slug] = Field(default_factory=list)
    processors: list[Slug] = Field(default_factory=list)
    recipients: list[Slug] = Field(default_factory=list)
    retention: RetentionRule | None = None
    processing: list[str] = Field(
        default_factory=list, description="How the data is processed, as the policy states it."
    )
    recipients_statement: str | None = None
    notes: list[Note] = Field(default_factory=list)
    # --- policy-model: where the data comes from (additive) ---
    obtained_from: list[Slug] = Field(
        default_factory=list,
        description="Processors or recipients the data of this channel is obtained from, when "
        "not from the person (GDPR Art. 14).",
    )
    source_notice: str | None = Field(
        default=None,
        description="What the policy tells people whose data comes from others: the source "
        "and the categories (Art. 14(1)(d), 14(2)(f)), as stated.",
    )


# --- with whom -------------------------------------------------------------------------------


class ProcessorRole(StrEnum):
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    WIDGET = "widget"
    CRM = "crm"
    MARKETING = "marketing"
    COMMUNICATION = "communication"
    EMAIL = "email"
    MESSENGER = "messenger"
    CONFERENCING = "conferencing"
    STORAGE = "storage"
    HOSTING = "hosting"
    COLLABORATION = "collaboration"
    PROJECT_MANAGEMENT = "project_management"
    DOCUMENTS = "documents"
    INVOICING = "invoicing"
    EVENTS = "events"
    CHAT = "chat"
    PUSH = "push"
    VIDEO = "video"
    CMS = "cms"
    COMMENTS = "comments"
    SOCIAL = "social"


class ConsentCategory(StrEnum):
    """Banner categories of a website tracker."""

    NECESSARY = "necessary"
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    WIDGETS = "widgets"


class Tracker(StrictModel):
    """A processor's presence on the website (cookies, scripts, pixels)."""

    consent_category: ConsentCategory
    legal_basis: LegalBasis | None = Field(
        default=None, description="The basis the policy claims for this tracker."
    )
    cookies: list[str] = Field(default_factory=list, description="Cookie names, when known.")
    script_hosts: list[str] = Field(
        default_factory=list, description="Hosts its scripts load from, when known."
    )


class Safeguard(StrEnum):
    """GDPR Chapter V transfer mechanisms."""

    ADEQUACY = "adequacy"  # Art. 45
    SCC = "scc"  # Art. 46(2)(c)
    BCR = "bcr"  # Art. 47
    PRIVACY_SHIELD = "privacy_shield"  # invalidated by CJEU C-311/18 (Schrems II), 16 July 2020
    DPF = "dpf"  # EU-US Data Privacy Framework adequacy decision, 10 July 2023
    PROCESSOR_TERMS = "processor_terms"  # "their terms and privacy policies": not a safeguard
    NONE = "none"
    UNKNOWN = "unknown"


class RecipientRole(StrEnum):
    """What a third party is in law for the data it receives (GDPR Art. 4(7)-(9), 26, 28)."""

    PROCESSOR = "processor"  # Art. 28: on the controller's behalf, under a contract
    INDEPENDENT_CONTROLLER = "independent_controller"  # decides its own purposes and means
    JOINT_CONTROLLER = "joint_controller"  # Art. 26: decides them jointly with the controller
    RECIPIENT = "recipient"  # Art. 4(9): data disclosed to it, no role determined


class TiaOutcome(StrEnum):
    """The conclusion of a transfer impact assessment (EDPB Recommendations 01/2020)."""

    PERMITTED = "permitted"  # the destination's law does not impinge on the safeguard
    PERMITTED_WITH_MEASURES = "permitted_with_measures"  # supplementary measures make it so
    NOT_PERMITTED = "not_permitted"  # the transfer must not take place (or must stop)


class TransferImpactAssessment(StrictModel):
    """A transfer impact assessment behind SCCs or BCRs (CJEU C-311/18 Schrems II §134-135)."""

    date: dt.date
    outcome: TiaOutcome
    measures: list[str] = Field(
        default_factory=list, description="Supplementary measures relied on, if any."
    )
    reference: str | None = Field(default=None, description="Where the assessment is kept.")


class Processor(StrictModel):
    """A processor or third party the policy names (GDPR Art. 13(1)(e), 28)."""

    id: Slug
    name: str
    legal_entity: str | None = None
    country: Country | None = None
    roles: list[ProcessorRole] = Field(min_length=1)
    is_processor: bool = Field(
        default=True, description="False for independent third parties / joint controllers."
    )
    description: str | None = None
    privacy_policy_urls: list[HttpUrl] = Field(default_factory=list)
    tracker: Tracker | None = None
    own_retention: bool = Field(
        default=False, description="Its own privacy policy sets retention (policy §2.4)."
    )
    transfer_safeguard: Safeguard | None = None
    data_locations: list[Country] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    # --- policy-model: role in law and transfer record (additive) ---
    role: RecipientRole = Field(
        default=RecipientRole.PROCESSOR,
        description="Processor, independent or joint controller, or plain recipient; when "
        "left out it follows is_processor.",
    )
    arrangement: str | None = Field(
        default=None,
        description="For a joint controller: the essence of the Art. 26 arrangement (who "
        "answers which obligation), as made available to people (Art. 26(2)).",
    )
    tia: TransferImpactAssessment | None = None

    @model_validator(mode="before")
    @classmethod
    def _role_from_is_processor(cls, data: Any) -> Any:
        # Older manifests say only is_processor; a role, when given, decides is_processor.
        if isinstance(data, dict):
            if "role" not in data and data.get("is_processor") is False:
                data = {**data, "role": RecipientRole.INDEPENDENT_CONTROLLER.value}
            elif "role" in data and "is_processor" not in data:
                data = {**data, "is_processor": str(data["role"]) == "processor"}
        return data


class RecipientKind(StrEnum):
    PROCESSOR = "processor"
    THIRD_PARTY = "third_party"
    GROUP_COMPANY = "group_company"
    EVENT_ORGANISER = "event_organiser"
    AUTHORITY = "authority"


class Recipient(StrictModel):
    """A recipient or category of recipients (GDPR Art. 4(9), 13(1)(e))."""

    id: Slug
    name: str
    kind: RecipientKind
    description: str | None = None
    processors: list[Slug] = Field(default_factory=list)
    sections: list[str] = Field(
        default_factory=list, description="Policy sections that name this recipient."
    )
    notify_email: str | None = Field(default=None, description="Where Art. 19 notices go.")
    notify_webhook: HttpUrl | None = None
    # --- policy-model: role in law (additive) ---
    role: RecipientRole | None = Field(
        default=None, description="Its role in law, when the kind does not settle it."
    )
    arrangement: str | None = Field(
        default=None, description="For a joint controller: the essence of the Art. 26 arrangement."
    )
    country: Country | None = None
    notes: list[Note] = Field(default_factory=list)


class Transfer(StrictModel):
    """A transfer of personal data outside the EEA (GDPR Art. 44-49, 13(1)(f))."""

    id: Slug
    destination: Country
    exporter: Slug | None = Field(default=None, description="Entity id that sends the data.")
    importer_entity: Slug | None = None
    importer_processor: Slug | None = None
    safeguard: Safeguard
    description: str | None = None
    notes: list[Note] = Field(default_factory=list)
    tia: TransferImpactAssessment | None = None  # policy-model: behind SCCs/BCRs


# --- rights and general terms ----------------------------------------------------------------


class RightKind(StrEnum):
    """The data-subject rights (GDPR Art. 15-22, 7(3), 77)."""

    ACCESS = "access"  # Art. 15 (and to be informed, Art. 13-14)
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    PORTABILITY = "portability"  # Art. 20
    OBJECTION = "objection"  # Art. 21
    CONSENT_WITHDRAWAL = "consent_withdrawal"  # Art. 7(3)
    COMPLAINT = "complaint"  # Art. 77


class RightOffer(StrictModel):
    kind: RightKind
    title: str
    description: str | None = None
    grounds: list[str] = Field(
        default_factory=list, description="Grounds/conditions the policy lists for this right."
    )
    limitations: list[str] = Field(default_factory=list)
    # --- policy-model (additive) ---
    applies: bool = Field(
        default=True, description="False when the policy declares the right not applicable."
    )
    particular_situation_required: bool = Field(
        default=False,
        description="The policy makes the right depend on 'grounds relating to one's "
        "particular situation' (for objection: Art. 21(1) only, never 21(2)).",
    )


class Rights(StrictModel):
    """The rights offered and the procedural terms (GDPR Art. 12)."""

    offered: list[RightOffer] = Field(min_length=1)
    response_months: int = Field(default=1, ge=1, le=1, description="Art. 12(3): one month.")
    extension_months: int = Field(default=2, ge=0, le=2, description="Art. 12(3): up to two more.")
    extension_reasons_told: bool = True
    first_copy_free: bool = True
    fee_for_excessive: bool = True
    refusal_explained: bool = True
    identity_documents_required: int = Field(default=2, ge=0, le=5)
    delivery_format: str = Field(default="password_protected_pdf")
    request_email: str | None = None
    limitations: list[str] = Field(default_factory=list)


class AutomatedDecisions(StrictModel):
    """GDPR Art. 22: whether decisions are made solely by automated means, incl. profiling."""

    used: bool = False
    profiling: bool = False
    statement: str | None = None
    safeguards: list[str] = Field(
        default_factory=list, description="Art. 22(3): human intervention, contest, express view."
    )


class SpamHandling(StrictModel):
    """Policy §8: tracking of spam and swindler accounts, filtering at the server level."""

    blocklist_accounts: bool = True
    keyword_filtering: bool = True
    manual_review: bool = True
    statement: str | None = None


class VersionInfo(StrictModel):
    """Which version of the policy this manifest is."""

    id: Slug
    label: str
    order: int = Field(ge=1, description="Position among the versions, oldest = 1.")
    effective_from: dt.date | None = None
    reviewed: str | None = Field(default=None, description="As stated, e.g. 'September 2021'.")
    source: str | None = Field(default=None, description="The text the manifest was made from.")


class Waiver(StrictModel):
    """The DPO's decision to accept a lint finding, with the reason (GDPR Art. 5(2), 39(1)).

    A waived finding is still reported, marked with the waiver; a waiver that matches no
    finding is reported too."""

    rule: str = Field(min_length=1, description="The lint rule id.")
    where: str | None = Field(
        default=None,
        description="The finding's place, e.g. 'purposes[x].legal_basis'; "
        "empty: every finding of the rule.",
    )
    reason: str = Field(min_length=10)
    by: str = Field(min_length=1, description="Who decided (the DPO).")
    date: dt.date


class ReferenceProblem(NamedTuple):
    """A duplicate id or a reference to something undeclared, at ``loc`` in the manifest."""

    loc: tuple[str | int, ...]
    msg: str

    def __str__(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.loc)
        return f"{where.lstrip('.')}: {self.msg}"


# --- statutory keep-periods: what an erasure must keep (GDPR Art. 17(3)) ------------------------
# (added for issue 15 item 3; a block of its own; read by privacyops.policy.statutory)


class ErasureException(StrEnum):
    """The point of GDPR Art. 17(3) under which data an erasure would remove is kept."""

    FREEDOM_OF_EXPRESSION = "freedom_of_expression"  # 17(3)(a)
    LEGAL_OBLIGATION = "legal_obligation"  # 17(3)(b): e.g. bookkeeping law
    PUBLIC_HEALTH = "public_health"  # 17(3)(c)
    ARCHIVING = "archiving"  # 17(3)(d): archiving in the public interest, research, statistics
    LEGAL_CLAIMS = "legal_claims"  # 17(3)(e)

    @property
    def article(self) -> str:
        """The point of Art. 17(3), e.g. ``"17(3)(b)"``."""
        return f"17(3)({'abcde'[list(ErasureException).index(self)]})"


class KeepStart(StrEnum):
    """The event a statutory keep-period counts from."""

    #: the end of the financial year the record belongs to (the year of its last service
    #: delivery, else of its collection; the financial year is taken as the calendar year)
    END_OF_FINANCIAL_YEAR = "end_of_financial_year"
    #: the end of the contract (the record's last service delivery, else its collection)
    END_OF_CONTRACT = "end_of_contract"
    COLLECTION = "collection"


class StatutoryRetention(StrictModel):
    """A keep-period a law imposes on some records of some channels: an erasure keeps them
    (restricted, Art. 18(2)) until it ends, under the Art. 17(3) ``exception``."""

    id: Slug
    country: Country = Field(description="Whose law it is, e.g. 'NO'.")
    law: str = Field(min_length=1, description="The citation, e.g. 'bokføringsloven § 13'.")
    years: int = Field(ge=1, le=100, description="How long the law requires the records kept.")
    starts_from: KeepStart
    exception: ErasureException = ErasureException.LEGAL_OBLIGATION
    channels: list[Slug] = Field(min_length=1)
    categories: list[Slug] = Field(
        default_factory=list,
        description="The records it keeps hold one of these categories (empty: any record of "
        "the channels).",
    )
    purposes: list[Slug] = Field(
        default_factory=list,
        description="The records it keeps serve one of these purposes (empty: any).",
    )
    kept: str = Field(
        min_length=1, description="What is kept, in words a person reads in an erasure answer."
    )
    notes: list[Note] = Field(default_factory=list)


# --- end of the statutory keep-periods block -----------------------------------------------------


class Manifest(StrictModel):
    """One version of a privacy policy, every promise of it as a field."""

    schema_version: int = Field(default=1, ge=1, le=1)
    version: VersionInfo
    organization: str = Field(description="The name the policy uses for the controller group.")
    website: HttpUrl | None = None
    services_description: str | None = None
    entities: list[Entity] = Field(min_length=1)
    dpo: Dpo | None = None
    joint_controller_arrangement: str | None = Field(
        default=None,
        description="The essence of the arrangement between joint controllers, as made "
        "available to data subjects (GDPR Art. 26(2)); empty when the policy describes none.",
    )
    scope: Scope = Field(default_factory=Scope)
    data_subjects: list[DataSubjectType] = Field(default_factory=list)
    data_categories: list[DataCategory] = Field(min_length=1)
    purposes: list[Purpose] = Field(default_factory=list)
    processors: list[Processor] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    channels: list[Channel] = Field(min_length=1)
    transfers: list[Transfer] = Field(default_factory=list)
    storage_locations: list[Country] = Field(default_factory=list)
    storage_processors: list[Slug] = Field(
        default_factory=list,
        description="Processors whose cloud services store the data (policy §8).",
    )
    transfers_statement: str | None = Field(
        default=None, description="What the policy says of transfers in general, as stated."
    )
    security_measures: list[str] = Field(default_factory=list)
    security_statements: list[str] = Field(
        default_factory=list,
        description="Other statements of the security section (third parties, limits), as stated.",
    )
    age_limit: int = Field(default=16, ge=13, le=18, description="GDPR Art. 8(1).")
    age_limit_action: str | None = Field(
        default=None, description="What is done when data of an under-age person is found."
    )
    processing_statement: str | None = Field(
        default=None, description="The general definition of processing, as stated (policy §8)."
    )
    policy_changes: list[str] = Field(
        default_factory=list, description="How changes to the policy are made known, as stated."
    )
    automated_decisions: AutomatedDecisions = Field(default_factory=AutomatedDecisions)
    spam_handling: SpamHandling | None = None
    rights: Rights
    backups: str | None = Field(
        default=None, description="What happens to expired data in backups, as stated."
    )
    statutory_retention: list[StatutoryRetention] = Field(
        default_factory=list,
        description="Keep-periods laws impose, which an erasure honours (GDPR Art. 17(3)).",
    )
    backups_retention: RetentionRule | None = Field(
        default=None,
        description="How long backups keep data whose retention has expired (the backup "
        "rotation); empty when the policy states no period.",
    )
    notes: list[Note] = Field(default_factory=list)
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Free-form facts the schema has no place for yet."
    )
    # --- policy-model (additive) ---
    provision_requirement: str | None = Field(
        default=None,
        description="Whether giving the data is a statutory or contractual requirement or "
        "needed to enter a contract, whether people must give it, and what follows if they "
        "do not (Art. 13(2)(e)), as stated; empty when the policy says nothing.",
    )
    waivers: list[Waiver] = Field(default_factory=list)
    # Where the manifest was read from (a privacyops.policy.source.SourceMap), when a file:
    # lets the lint point each finding at its line. Not part of the data.
    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def check_references(self, info: ValidationInfo) -> Manifest:
        """Ids are unique per list and every reference points at something declared.

        Raises one ``ValueError`` naming every problem. A loader that wants each problem with
        its own location validates with ``context={"defer_reference_check": True}`` and then
        reads :meth:`reference_problems` itself.
        """
        if isinstance(info.context, dict) and info.context.get("defer_reference_check"):
            return self
        problems = self.reference_problems()
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    def reference_problems(self) -> list[ReferenceProblem]:
        """Each duplicate id and each reference to something undeclared, with its path."""
        problems: list[ReferenceProblem] = []

        def ids(name: str, items: list[Any]) -> set[str]:
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append(
                        ReferenceProblem((name, i, "id"), f"duplicate id '{item.id}' in {name}")
                    )
                seen.add(item.id)
            return seen

        entities = ids("entities", self.entities)
        subjects = ids("data_subjects", self.data_subjects)
        categories = ids("data_categories", self.data_categories)
        purposes = ids("purposes", self.purposes)
        processors = ids("processors", self.processors)
        recipients = ids("recipients", self.recipients)
        channel_ids = ids("channels", self.channels)
        ids("transfers", self.transfers)

        def refs(
            where: tuple[str | int, ...], values: list[str], known: set[str], kind: str
        ) -> None:
            for i, value in enumerate(values):
                if value not in known:
                    problems.append(ReferenceProblem((*where, i), f"undeclared {kind} '{value}'"))

        def ref(
            where: tuple[str | int, ...], value: str | None, known: set[str], kind: str
        ) -> None:
            if value is not None and value not in known:
                problems.append(ReferenceProblem(where, f"undeclared {kind} '{value}'"))

        refs(("scope", "data_subjects"), self.scope.data_subjects, subjects, "data subject")
        for i, p in enumerate(self.purposes):
            refs(("purposes", i, "categories"), p.categories, categories, "data category")
        for i, c in enumerate(self.channels):
            at: tuple[str | int, ...] = ("channels", i)
            refs((*at, "data_subjects"), c.data_subjects, subjects, "data subject")
            refs((*at, "categories"), c.categories, categories, "data category")
            refs((*at, "purposes"), c.purposes, purposes, "purpose")
            refs((*at, "processors"), c.processors, processors, "processor")
            refs((*at, "recipients"), c.recipients, recipients, "recipient")
            if c.retention:
                refs(
                    (*at, "retention", "processors_own_retention"),
                    c.retention.processors_own_retention,
                    processors,
                    "processor",
                )
        for i, r in enumerate(self.recipients):
            refs(("recipients", i, "processors"), r.processors, processors, "processor")
        for i, c in enumerate(self.channels):
            refs(
                ("channels", i, "obtained_from"),
                c.obtained_from,
                processors | recipients,
                "processor or recipient",
            )
        for i, p in enumerate(self.purposes):
            if p.soft_opt_in is not None:
                refs(
                    ("purposes", i, "soft_opt_in", "customers"),
                    p.soft_opt_in.customers,
                    subjects,
                    "data subject",
                )
        for i, k in enumerate(self.statutory_retention):  # statutory keep-periods
            refs(("statutory_retention", i, "channels"), k.channels, channel_ids, "channel")
            refs(("statutory_retention", i, "categories"), k.categories, categories, "category")
            refs(("statutory_retention", i, "purposes"), k.purposes, purposes, "purpose")
        refs(("storage_processors",), self.storage_processors, processors, "processor")
        for i, t in enumerate(self.transfers):
            ref(("transfers", i, "exporter"), t.exporter, entities, "entity")
            ref(("transfers", i, "importer_entity"), t.importer_entity, entities, "entity")
            ref(
                ("transfers", i, "importer_processor"),
                t.importer_processor,
                processors,
                "processor",
            )
        return problems

    # --- lookups used everywhere -----------------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id (KeyError if undeclared)."""
        for c in self.channels:
            if c.id == channel_id:
                return c
        raise KeyError(channel_id)

    def purpose(self, purpose_id: str) -> Purpose:
        for p in self.purposes:
            if p.id == purpose_id:
                return p
        raise KeyError(purpose_id)

    def processor(self, processor_id: str) -> Processor:
        for p in self.processors:
            if p.id == processor_id:
                return p
        raise KeyError(processor_id)

    def category(self, category_id: str) -> DataCategory:
        for c in self.data_categories:
            if c.id == category_id:
                return c
        raise KeyError(category_id)

    def entities_with(self, role: EntityRole) -> list[Entity]:
        return [e for e in self.entities if role in e.roles]

    @property
    def contact_point(self) -> Entity:
        """The entity that answers data-subject requests (whose country's holidays count)."""
        found = self.entities_with(EntityRole.CONTACT_POINT)
        if found:
            return found[0]
        controllers = self.entities_with(EntityRole.CONTROLLER)
        return controllers[0] if controllers else self.entities[0]

    @property
    def trackers(self) -> list[Processor]:
        """Processors present on the website as trackers, in manifest order."""
        return [p for p in self.processors if p.tracker is not None]


class PolicyBook(StrictModel):
    """All versions of one policy, oldest first."""

    versions: list[Manifest] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> PolicyBook:
        orders = [m.version.order for m in self.versions]
        if orders != sorted(orders) or len(set(orders)) != len(orders):
            raise ValueError("versions must have distinct 'order' values, oldest first")
        ids = [m.version.id for m in self.versions]
        if len(set(ids)) != len(ids):
            raise ValueError("version ids must be unique")
        return self

    @property
    def current(self) -> Manifest:
        """The version in force: the last one (ordered by ``order``)."""
        return self.versions[-1]

    def get(self, version_id: str) -> Manifest:
        """The version with this id (KeyError if there is none)."""
        for m in self.versions:
            if m.version.id == version_id:
                return m
        raise KeyError(version_id)

    def in_force_on(self, day: dt.date) -> Manifest:
        """The version in force on ``day``: the last whose effective_from is on or before it
        (versions without a date count as in force from their predecessor's)."""
        chosen = self.versions[0]
        for m in self.versions:
            if m.version.effective_from is None or m.version.effective_from <= day:
                chosen = m
        return chosen
