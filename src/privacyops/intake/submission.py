"""Checking one channel submission against the policy manifest in force.

A *payload* is a flat JSON object: each key is either the id of a data category the manifest
declares for the channel (``name``, ``email``, ``call_duration``…) or one of the control fields
below. Nothing else is accepted: a key the channel does not declare is refused by name
(:class:`~privacyops.errors.UndeclaredData`, data minimisation, GDPR Art. 5(1)(c)).

Control fields (never stored as personal data themselves):

``marketing_consent``  true when the person opted in to marketing; adds the channel's
                       consent-based purposes (direct marketing…) to the record. Without it
                       they are left out: a submission alone is not consent.
``age``, ``birth_date`` checked by the age gate (policy §12) and then dropped: only the fact
                       that the person is old enough matters.
``collected_at``, ``last_contact_at``, ``last_event_registration_at``,
``last_service_delivery_at``, ``source_system``, ``contract_event``
                       set by staff channels and imports only (a public form cannot backdate
                       its own retention clock).

A blank value (``null`` or an empty string, as in an empty CSV cell) counts as absent.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from privacyops.errors import (
    AgeGateRefused,
    ConfigurationError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UndeclaredData,
)
from privacyops.identities import identifies
from privacyops.intake.fields import FieldProblem, parse_date, parse_datetime, validate_value
from privacyops.policy.schema import Channel, LegalBasis, Manifest, PolicyBook, RetentionStart

__all__ = [
    "CLOCK_FIELDS",
    "CONTRACT_EVENTS",
    "CONTROL_FIELDS",
    "MAX_FIELDS",
    "STAFF_ONLY_FIELDS",
    "CheckedSubmission",
    "check_age",
    "validate_submission",
]

#: Retention clock fields a payload may carry, by the manifest event they record.
CLOCK_FIELDS: dict[str, RetentionStart] = {
    "last_contact_at": RetentionStart.LAST_CONTACT,
    "last_event_registration_at": RetentionStart.LAST_EVENT_REGISTRATION,
    "last_service_delivery_at": RetentionStart.LAST_SERVICE_DELIVERY,
}
#: Contract events a customer submission may report; ``service_delivered`` moves the clock of
#: "last service delivery" (policy §6.4).
CONTRACT_EVENTS = frozenset(
    {"contract_signed", "contract_renewed", "service_delivered", "contract_ended"}
)
STAFF_ONLY_FIELDS = frozenset({"collected_at", "source_system", "contract_event", *CLOCK_FIELDS})
CONTROL_FIELDS = frozenset({"marketing_consent", "age", "birth_date", *STAFF_ONLY_FIELDS})
MAX_FIELDS = 100
#: Identity kinds that find a data subject only together with another field.
WEAK_IDENTITY_KINDS = frozenset({"name"})
# Clock skew tolerated between a sender's clock and ours before a timestamp counts as future.
_FUTURE_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class CheckedSubmission:
    """A payload that passed every check, normalised, with what the manifest says about it.

    Attributes:
        channel: the channel id.
        policy_version: id of the manifest version it was checked against.
        data: category id -> normalised value (what is encrypted and stored).
        identities: ``(identity kind, normalised value)`` pairs that find the data subject.
        purposes: purpose ids of the record; ``legal_basis`` is the basis of the first one.
        marketing_consent: the person opted in to the channel's direct-marketing purposes.
        collected_at / clocks: when it was collected and the retention clock events.
    """

    channel: str
    policy_version: str
    data: dict[str, Any]
    identities: list[tuple[str, str]]
    purposes: list[str]
    legal_basis: str
    marketing_consent: bool
    collected_at: dt.datetime
    last_contact_at: dt.datetime | None = None
    last_event_registration_at: dt.datetime | None = None
    last_service_delivery_at: dt.datetime | None = None
    source_system: str | None = None
    contract_event: dict[str, str] | None = None
    marketing_purposes: list[str] = field(default_factory=list)
    #: identity kind -> whether it identifies the person on its own (else it corroborates)
    identity_roles: dict[str, bool] = field(default_factory=dict)

    @cached_property
    def categories(self) -> list[str]:
        """The data categories present, in manifest order."""
        return list(self.data)

    def stored_payload(self) -> dict[str, Any]:
        """What the record keeps, encrypted: the category values (and a contract event)."""
        if self.contract_event is None:
            return dict(self.data)
        return {**self.data, "contract_event": self.contract_event}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _problem(loc: str, msg: str) -> dict[str, Any]:
    return {"loc": [loc], "msg": msg}


def check_age(payload: dict[str, Any], *, age_limit: int, on: dt.date) -> list[dict[str, Any]]:
    """The age gate (policy §12, GDPR Art. 8(1)).

    Returns the problems of malformed ``age``/``birth_date`` values (empty when fine).

    Raises:
        AgeGateRefused: the payload declares an age, or a birth date giving an age on ``on``,
            under ``age_limit``. The message does not repeat the age.
    """
    problems: list[dict[str, Any]] = []
    ages: list[int] = []
    raw_age: Any = payload.get("age")
    if not _blank(raw_age):
        whole = isinstance(raw_age, int) and not isinstance(raw_age, bool)
        if not whole and not (isinstance(raw_age, str) and raw_age.strip().isdigit()):
            problems.append(_problem("age", "expected a whole number of years"))
        elif not 0 <= int(raw_age) <= 150:
            problems.append(_problem("age", "is not an age in years"))
        else:
            ages.append(int(raw_age))
    raw_birth = payload.get("birth_date")
    if not _blank(raw_birth):
        try:
            born = parse_date(raw_birth)
        except FieldProblem as exc:
            problems.append(_problem("birth_date", str(exc)))
        else:
            if born > on:
                problems.append(_problem("birth_date", "is in the future"))
            else:
                had_birthday = (on.month, on.day) >= (born.month, born.day)
                ages.append(on.year - born.year - (0 if had_birthday else 1))
    if any(age < age_limit for age in ages):
        raise AgeGateRefused(
            f"We do not collect personal data from people under {age_limit} (privacy policy "
            "§12); nothing of this submission was stored."
        )
    return problems


@dataclass(frozen=True)
class _ChannelPlan:
    """What the manifest says about one channel, worked out once per manifest version."""

    manifest: Manifest
    channel: Channel
    fields: tuple[tuple[str, str, str | None], ...]  # (category id, field type, identity kind)
    base_purposes: tuple[str, ...]
    basis: str | None
    consent_purposes: tuple[str, ...]
    clock_start: RetentionStart
    identity_hint: str
    #: identity kind -> whether it identifies on its own (manifest ``identifies`` or default)
    identity_roles: dict[str, bool]

    def purposes(self, consent: bool) -> tuple[list[str], str]:
        """The record's purposes and legal basis.

        A purpose whose basis is consent applies only when the person opted in (GDPR Art.
        6(1)(a), 7(1)): a submission alone is not consent, whatever a policy text implies.
        """
        basis = self.basis
        if basis is None:
            if not (consent and self.consent_purposes):
                raise ConfigurationError(
                    f"Channel '{self.channel.id}' has no purpose with a legal basis other than "
                    f"consent in policy version {self.manifest.version.id}; without an opt-in "
                    "nothing can be collected through it."
                )
            basis = LegalBasis.CONSENT.value
        extra = list(self.consent_purposes) if consent else []
        return [*self.base_purposes, *extra], basis


# Plans by (id of the manifest object, channel id); the manifest is kept in the plan and
# compared by identity, so a recycled id never returns another manifest's plan.
_PLANS: dict[tuple[int, str], _ChannelPlan] = {}


def _plan(manifest: Manifest, channel: Channel) -> _ChannelPlan:
    key = (id(manifest), channel.id)
    plan = _PLANS.get(key)
    if plan is not None and plan.manifest is manifest:
        return plan
    fields = []
    for cid in channel.categories:
        category = manifest.category(cid)
        fields.append((cid, category.field_type, category.identity_kind))
    base: list[str] = []
    consent_ids: list[str] = []
    basis: str | None = None
    for pid in channel.purposes:
        purpose = manifest.purpose(pid)
        if purpose.legal_basis == LegalBasis.CONSENT:
            consent_ids.append(pid)
            continue
        base.append(pid)
        if basis is None and purpose.legal_basis is not None:
            basis = purpose.legal_basis.value
    kinds = sorted(
        {cid for cid, _, kind in fields if kind is not None and kind not in WEAK_IDENTITY_KINDS}
    )
    roles = {"name_company": identifies("name_company")}
    for cid in channel.categories:
        category = manifest.category(cid)
        if category.identity_kind:
            roles[category.identity_kind] = identifies(category.identity_kind, category.identifies)
    plan = _ChannelPlan(
        manifest=manifest,
        channel=channel,
        fields=tuple(fields),
        base_purposes=tuple(base),
        basis=basis,
        consent_purposes=tuple(consent_ids),
        clock_start=channel.retention.starts_from
        if channel.retention
        else RetentionStart.COLLECTION,
        identity_hint=", ".join(kinds),
        identity_roles=roles,
    )
    if len(_PLANS) > 1000:  # policy books reloaded many times (tests): do not grow forever
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def payload_size(payload: Any) -> int:
    """Bytes of the payload as compact JSON (what the size cap counts)."""
    return len(json.dumps(payload, separators=(",", ":"), default=str).encode())


def _surely_under(payload: dict[Any, Any], cap: int) -> bool:
    """True when a flat payload cannot reach ``cap`` bytes as JSON, without encoding it: each
    character takes at most 12 bytes (a surrogate pair escaped), each item 20 of punctuation."""
    bound = 2
    for key, value in payload.items():
        if not isinstance(key, str):
            return False
        if isinstance(value, str):
            bound += 12 * (len(key) + len(value)) + 20
        elif value is None or isinstance(value, bool):
            bound += 12 * len(key) + 25
        elif isinstance(value, int | float):
            bound += 12 * len(key) + 20 + len(repr(value))
        else:
            return False
        if bound > cap:
            return False
    return True


def validate_submission(
    book: PolicyBook,
    channel_id: str,
    payload: Any,
    *,
    staff: bool = True,
    now: dt.datetime | None = None,
    max_bytes: int = 65_536,
    phone_region: str | None = None,
) -> CheckedSubmission:
    """Check a payload against the policy version in force and return it normalised.

    The version is the one in force at ``collected_at`` when the payload carries it (an import
    of older data), else the current one.

    Args:
        book: the policy book.
        channel_id: a channel id the manifest declares.
        payload: the decoded JSON object.
        staff: False for public channels (web form, chatbot), which may not set control fields
            of :data:`STAFF_ONLY_FIELDS`.
        now: the time of receipt (default: now, UTC).
        max_bytes: cap on the payload's size as compact JSON.
        phone_region: ISO country whose national phone format is accepted; otherwise phone
            numbers must be international.

    Raises:
        NotFound: the manifest declares no such channel.
        UndeclaredData: a field that the channel does not declare.
        AgeGateRefused: a declared age under the policy's limit.
        PayloadTooLarge: the payload is over ``max_bytes``.
        InvalidInput: anything else malformed, one ``details`` item per field.
    """
    now = now or dt.datetime.now(dt.UTC)
    if not isinstance(payload, dict):
        raise InvalidInput("A submission must be a JSON object of field names and values.")
    if len(payload) > MAX_FIELDS:
        raise PayloadTooLarge(f"A submission may have at most {MAX_FIELDS} fields.")
    if not _surely_under(payload, max_bytes) and payload_size(payload) > max_bytes:
        raise PayloadTooLarge(f"A submission may be at most {max_bytes} bytes.")
    bad_keys = [k for k in payload if not isinstance(k, str)]
    if bad_keys:
        raise InvalidInput("Field names must be strings.")

    problems: list[dict[str, Any]] = []
    collected_at = now
    raw_collected = payload.get("collected_at")
    if staff and not _blank(raw_collected):
        try:
            collected_at = parse_datetime(raw_collected)
        except FieldProblem as exc:
            problems.append(_problem("collected_at", str(exc)))
        else:
            if collected_at > now + _FUTURE_SLACK:
                problems.append(_problem("collected_at", "is in the future"))
                collected_at = now
    manifest = book.in_force_on(collected_at.date()) if collected_at != now else book.current
    try:
        channel = manifest.channel(channel_id)
    except KeyError:
        known = ", ".join(c.id for c in manifest.channels)
        raise NotFound(
            f"No channel '{channel_id}' in policy version {manifest.version.id}; channels: {known}."
        ) from None

    plan = _plan(manifest, channel)
    declared = set(channel.categories)
    undeclared = [
        k
        for k in payload
        if k not in declared and k not in CONTROL_FIELDS and not _blank(payload[k])
    ]
    if not staff:
        undeclared += [k for k in payload if k in STAFF_ONLY_FIELDS and not _blank(payload[k])]
    if undeclared:
        names = ", ".join(f"'{k[:64]}'" for k in undeclared)
        raise UndeclaredData(
            f"Field {names} is not declared for channel '{channel.id}' in policy version "
            f"{manifest.version.id}: only declared data is collected (data minimisation, "
            "GDPR Art. 5(1)(c)).",
            details=[
                _problem(
                    k[:64],
                    "not declared for this channel"
                    if k not in STAFF_ONLY_FIELDS
                    else "only staff channels and imports may set this field",
                )
                for k in undeclared
            ],
        )

    problems += check_age(payload, age_limit=manifest.age_limit, on=collected_at.date())

    data: dict[str, Any] = {}
    identities: list[tuple[str, str]] = []
    for cid, field_type, identity_kind in plan.fields:  # manifest order: stable layout
        raw = payload.get(cid)
        if _blank(raw):
            continue
        try:
            value = validate_value(field_type, raw, phone_region=phone_region)
        except FieldProblem as exc:
            problems.append(_problem(cid, str(exc)))
            continue
        data[cid] = value
        if identity_kind and isinstance(value, str):
            identities.append((identity_kind, value))

    # A name alone identifies no one (two people share it): it counts as an identity only
    # together with the company, as "name + company" (GDPR Art. 4(1) "identifiable").
    strong = [(k, v) for k, v in identities if k not in WEAK_IDENTITY_KINDS]
    if isinstance(data.get("name"), str) and isinstance(data.get("company"), str):
        strong.append(("name_company", f"{data['name']} | {data['company']}"))
    identities = strong

    marketing = False
    raw_marketing = payload.get("marketing_consent")
    if not _blank(raw_marketing):
        if isinstance(raw_marketing, bool):
            marketing = raw_marketing
        elif isinstance(raw_marketing, str) and raw_marketing.strip().lower() in _BOOLS:
            marketing = _BOOLS[raw_marketing.strip().lower()]
        else:
            problems.append(_problem("marketing_consent", "expected true or false"))

    clocks: dict[str, dt.datetime | None] = dict.fromkeys(CLOCK_FIELDS)
    source_system: str | None = None
    contract_event: dict[str, str] | None = None
    if staff:
        for name in CLOCK_FIELDS:
            raw = payload.get(name)
            if _blank(raw):
                continue
            try:
                moment = parse_datetime(raw)
            except FieldProblem as exc:
                problems.append(_problem(name, str(exc)))
                continue
            if moment > now + _FUTURE_SLACK:
                problems.append(_problem(name, "is in the future"))
            clocks[name] = moment
        raw_source = payload.get("source_system")
        if not _blank(raw_source):
            if not isinstance(raw_source, str) or len(raw_source.strip()) > 128:
                problems.append(
                    _problem("source_system", "expected a name of at most 128 characters")
                )
            else:
                source_system = raw_source.strip()
        raw_event = payload.get("contract_event")
        if not _blank(raw_event):
            if not isinstance(raw_event, str) or raw_event.strip() not in CONTRACT_EVENTS:
                problems.append(
                    _problem(
                        "contract_event", "expected one of " + ", ".join(sorted(CONTRACT_EVENTS))
                    )
                )
            else:
                contract_event = {"kind": raw_event.strip(), "at": collected_at.isoformat()}

    if not identities and not problems:
        problems.append(
            _problem(
                "(submission)",
                "identifies no one: give at least one of "
                + plan.identity_hint
                + " (or name and company)",
            )
        )
    if problems:
        raise InvalidInput("The submission is not valid.", details=problems)

    # A submission is a contact by the person, and the event the channel's retention clock
    # starts from is this submission itself, unless the sender says otherwise (an import keeps
    # the original timestamps).
    start = plan.clock_start
    for name, event in CLOCK_FIELDS.items():
        if clocks[name] is None and (event == start or event == RetentionStart.LAST_CONTACT):
            clocks[name] = collected_at
    if contract_event and contract_event["kind"] == "service_delivered":
        clocks["last_service_delivery_at"] = clocks["last_service_delivery_at"] or collected_at

    purposes, basis = plan.purposes(marketing)
    return CheckedSubmission(
        channel=channel.id,
        policy_version=manifest.version.id,
        data=data,
        identities=identities,
        purposes=purposes,
        legal_basis=basis,
        marketing_consent=marketing,
        collected_at=collected_at,
        last_contact_at=clocks["last_contact_at"],
        last_event_registration_at=clocks["last_event_registration_at"],
        last_service_delivery_at=clocks["last_service_delivery_at"],
        source_system=source_system,
        contract_event=contract_event,
        marketing_purposes=list(plan.consent_purposes) if marketing else [],
        identity_roles=plan.identity_roles,
    )


_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
