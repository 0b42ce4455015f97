"""The request state machine, request types and the steps each type runs.

States move one way (see :data:`TRANSITIONS`); each state is documented where it is declared.
A request's work is a list of named steps (:data:`PLANS`); each step runs once, recorded in
``rights_steps`` under the key (request, step) in the same transaction as its effects, so a
worker that dies mid-request is resumed by the next one without doing anything twice.
"""

from __future__ import annotations

from enum import StrEnum

from privacyops.errors import InvalidInput, InvalidTransition
from privacyops.policy.restriction import RestrictionGround

__all__ = [
    "FINAL_STATES",
    "NEEDS_SECOND_FACTOR",
    "OBJECTION_KINDS",
    "PLANS",
    "RESTRICTION_GROUNDS",
    "TRANSITIONS",
    "RequestState",
    "RequestType",
    "TaskKind",
    "check_transition",
    "parse_type",
]


class RequestType(StrEnum):
    """What the person asks for (policy §9; GDPR Art. 15-21, 7(3), 77)."""

    ACCESS = "access"  # Art. 15: a copy of all data, with purposes, bases, recipients...
    RECTIFICATION = "rectification"  # Art. 16: correct or complete data
    ERASURE = "erasure"  # Art. 17: the right to be forgotten
    RESTRICTION = "restriction"  # Art. 18: keep but do not process
    OBJECTION = "objection"  # Art. 21: direct marketing (absolute) or legitimate interest
    PORTABILITY = "portability"  # Art. 20: data provided, under consent or contract
    CONSENT_WITHDRAWAL = "consent_withdrawal"  # Art. 7(3)
    COMPLAINT = "complaint"  # Art. 77: which supervisory authority to complain to


class RequestState(StrEnum):
    """Where a request stands. Final states: ``completed`` and ``refused``."""

    #: Stored; no code sent yet (a request is in this state only inside ``submit``).
    RECEIVED = "received"
    #: A one-time code went to the e-mail address (and, when the type needs the second
    #: factor, a second code or a document review is pending); nothing else happens until
    #: the person proves control of the identity.
    AWAITING_IDENTITY = "awaiting_identity"
    #: Identity confirmed (all factors the type needs); queued for the engine.
    VERIFIED = "verified"
    #: A worker runs the request's steps; resumable after a crash from the last step done.
    IN_PROGRESS = "in_progress"
    #: Waiting for a staff decision: an identity document, the balancing test of a
    #: legitimate-interest objection, or a fee/refusal for a repeated or excessive request.
    AWAITING_REVIEW = "awaiting_review"
    #: Answered; the answer (and any export link) went to the person.
    COMPLETED = "completed"
    #: Refused with reasons and the further actions open to the person (Art. 12(4)).
    REFUSED = "refused"


FINAL_STATES = frozenset({RequestState.COMPLETED, RequestState.REFUSED})

TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.RECEIVED: frozenset({RequestState.AWAITING_IDENTITY}),
    RequestState.AWAITING_IDENTITY: frozenset(
        {RequestState.VERIFIED, RequestState.AWAITING_REVIEW, RequestState.REFUSED}
    ),
    RequestState.VERIFIED: frozenset({RequestState.IN_PROGRESS, RequestState.REFUSED}),
    RequestState.IN_PROGRESS: frozenset(
        {RequestState.AWAITING_REVIEW, RequestState.COMPLETED, RequestState.REFUSED}
    ),
    RequestState.AWAITING_REVIEW: frozenset(
        {RequestState.VERIFIED, RequestState.IN_PROGRESS, RequestState.REFUSED}
    ),
    RequestState.COMPLETED: frozenset(),
    RequestState.REFUSED: frozenset(),
}


def check_transition(current: str, target: RequestState) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` may move to ``target``."""
    if target not in TRANSITIONS[RequestState(current)]:
        raise InvalidTransition(f"A request that is {current} cannot become {target.value}.")


def parse_type(value: str) -> RequestType:
    """The request type named by ``value``.

    Raises:
        InvalidInput: not one of the types the policy offers.
    """
    try:
        return RequestType(value)
    except ValueError:
        raise InvalidInput(
            "Unknown request type.",
            details=[
                {"loc": ["type"], "msg": f"one of: {', '.join(t.value for t in RequestType)}"}
            ],
        ) from None


class TaskKind(StrEnum):
    """Decisions staff record (see :class:`privacyops.rights.models.StaffTask`)."""

    IDENTITY_DOCUMENT = "identity_document"  # second factor by document review
    BALANCING = "balancing"  # Art. 21(1): compelling legitimate grounds or not
    EXCESSIVE = "excessive"  # Art. 12(5): fee, refusal, or proceed
    RECIPIENTS = "recipients"  # Art. 19: recipients with no address: other route or exemption


#: Types whose answer releases data or destroys it: the second factor is required first.
NEEDS_SECOND_FACTOR = frozenset({RequestType.ACCESS, RequestType.PORTABILITY, RequestType.ERASURE})

#: What the person is told for each ground of policy §9 / GDPR Art. 18(1).
RESTRICTION_GROUNDS: dict[RestrictionGround, str] = {
    RestrictionGround.ACCURACY_CONTESTED: "You contest the accuracy of your data (Art. 18(1)(a)).",
    RestrictionGround.UNLAWFUL_PROCESSING: "The processing is unlawful and you oppose erasure "
    "(Art. 18(1)(b)).",
    RestrictionGround.LEGAL_CLAIMS: "We no longer need the data but you need it for legal claims "
    "(Art. 18(1)(c)).",
    RestrictionGround.OBJECTION_PENDING: "You objected under Art. 21(1), pending the verification "
    "whether our legitimate grounds override yours (Art. 18(1)(d)).",
}

OBJECTION_KINDS: dict[str, str] = {
    "direct_marketing": "Direct marketing, including profiling for it (Art. 21(2)-(3)).",
    "legitimate_interest": "Processing based on legitimate interests (Art. 21(1)).",
}

#: The steps each type runs, in order. ``resolve`` finds the person in the registry (and
#: checks the second factor matches them); ``collect`` asks every connected system once for
#: the person's records; ``export`` waits until all of them have answered, then makes the
#: export; ``answer`` writes the answer to the outbox.
PLANS: dict[RequestType, tuple[str, ...]] = {
    RequestType.ACCESS: ("resolve", "collect", "export", "answer"),
    RequestType.PORTABILITY: ("resolve", "collect", "export", "answer"),
    RequestType.RECTIFICATION: ("resolve", "rectify", "notify", "answer"),
    RequestType.ERASURE: ("resolve", "erase", "notify", "answer"),
    RequestType.RESTRICTION: ("resolve", "restrict", "notify", "answer"),
    RequestType.OBJECTION: ("resolve", "object", "balance", "answer"),
    RequestType.CONSENT_WITHDRAWAL: ("resolve", "withdraw", "answer"),
    RequestType.COMPLAINT: ("complaint", "answer"),
}
