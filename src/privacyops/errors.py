"""Every exception privacyops raises on purpose, in one place.

Domain packages raise these; only ``privacyops.web`` turns them into HTTP answers (one JSON
shape, see ``privacyops.web.errors``) and only ``privacyops.cli`` turns them into exit codes.
Each class carries ``status`` (the HTTP status) and ``code`` (a stable machine-readable string),
and subclasses the built-in exception a Python caller would expect.

    PrivacyOpsError                      base; status 500, code "internal_error"
    ├── InvalidInput (ValueError)        bad input from a caller; 400 "invalid_input"
    │   ├── ManifestInvalid              a policy manifest failed to load; 422 "manifest_invalid"
    │   ├── UndeclaredData               a field/category the policy does not declare; 422
    │   ├── AgeGateRefused               the person declared an age under the policy's limit; 422
    │   ├── InvalidChoice                a consent choice contradicts itself or the banner it
    │   │                                claims was shown (forged, stale texts); 422
    │   ├── PayloadTooLarge              body or file over its size cap; 413 "payload_too_large"
    │   └── RequestTimeout               the body did not arrive in time; 408 "request_timeout"
    ├── NotFound (LookupError)           the thing asked for does not exist (never used to reveal
    │                                    whether a data subject exists); 404 "not_found"
    ├── Conflict                         the request clashes with current state; 409 "conflict"
    │   └── InvalidTransition            a state machine refused a transition; 409
    ├── AuthenticationRequired           no or bad credentials; 401 "authentication_required"
    ├── PermissionDenied (PermissionError) authenticated but not allowed; 403 "forbidden"
    ├── VerificationFailed               wrong/expired one-time code or token; 400
    ├── RateLimited                      too many attempts; 429 "rate_limited"
    ├── ProcessingRestricted             processing refused by a restriction, objection, hold or
    │                                    suppression (GDPR Art. 18, 21); 409
    ├── DependencyUnavailable            a connector, SMTP server or other peer is down; 503
    └── ConfigurationError               settings or keys are missing or inconsistent; 500
        └── SettingsInvalid              a setting has a value it cannot take (names it); CLI exit 2

``details`` is a list of ``{"loc": ..., "msg": ...}`` items (the same shape pydantic uses) so a
caller can point at each problem; it never carries personal data of anyone but the caller.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AgeGateRefused",
    "AuthenticationRequired",
    "ConfigurationError",
    "Conflict",
    "DependencyUnavailable",
    "InvalidChoice",
    "InvalidInput",
    "InvalidTransition",
    "ManifestInvalid",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PrivacyOpsError",
    "ProcessingRestricted",
    "RateLimited",
    "RequestTimeout",
    "SettingsInvalid",
    "UndeclaredData",
    "VerificationFailed",
]


class PrivacyOpsError(Exception):
    """Base of every deliberate privacyops error.

    Args:
        message: one sentence a person can act on; safe to show to the caller.
        details: optional list of ``{"loc": [...], "msg": "..."}`` items, one per problem.
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []

    def to_dict(self) -> dict[str, Any]:
        """The one error shape, as sent by the HTTP API and ``--format json`` commands."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(PrivacyOpsError, ValueError):
    """Raised when a caller's input fails validation."""

    status = 400
    code = "invalid_input"
    exit_code = 2


class ManifestInvalid(InvalidInput):
    """Raised when a policy manifest cannot be loaded (syntax, schema, references).

    Each ``details`` item also has ``file``, ``line`` and ``column`` when they are known.
    """

    status = 422
    code = "manifest_invalid"


class UndeclaredData(InvalidInput):
    """Raised when a submission carries data the policy does not declare (data minimisation,
    GDPR Art. 5(1)(c))."""

    status = 422
    code = "undeclared_data"


class AgeGateRefused(InvalidInput):
    """Raised when a submission declares an age below the policy's age limit (policy §12)."""

    status = 422
    code = "age_gate_refused"


class InvalidChoice(InvalidInput):
    """Raised when a consent choice is malformed, contradicts itself (an "accept" refusing a
    category, a vendor granted in a refused category) or names texts other than the banner's
    (GDPR Art. 7(1): a record must prove what was shown)."""

    status = 422
    code = "invalid_choice"


class PayloadTooLarge(InvalidInput):
    """Raised when a body, file or field is larger than its cap."""

    status = 413
    code = "payload_too_large"


class RequestTimeout(InvalidInput):
    """Raised when a request's body does not arrive within its time (a slow or stalled
    client): the request is dropped, nothing of it is stored."""

    status = 408
    code = "request_timeout"


class NotFound(PrivacyOpsError, LookupError):
    """Raised when an addressed object does not exist. Never used to say whether a data
    subject exists: those paths answer the same either way."""

    status = 404
    code = "not_found"
    exit_code = 3


class Conflict(PrivacyOpsError):
    """Raised when a request clashes with the current state (duplicate, already done)."""

    status = 409
    code = "conflict"
    exit_code = 4


class InvalidTransition(Conflict):
    """Raised when a state machine is asked for a transition its current state forbids."""

    code = "invalid_transition"


class AuthenticationRequired(PrivacyOpsError):
    """Raised when a route needs a logged-in staff member or API token and has none."""

    status = 401
    code = "authentication_required"
    exit_code = 5


class PermissionDenied(PrivacyOpsError, PermissionError):
    """Raised when the caller is known but its role or token scope does not allow the act."""

    status = 403
    code = "forbidden"
    exit_code = 5


class VerificationFailed(PrivacyOpsError):
    """Raised when a one-time code, download token or signature does not verify."""

    status = 400
    code = "verification_failed"
    exit_code = 6


class RateLimited(PrivacyOpsError):
    """Raised when a caller exceeds an attempt or request limit."""

    status = 429
    code = "rate_limited"
    exit_code = 7

    def __init__(
        self,
        message: str = "Too many requests; try again later.",
        *,
        retry_after: int = 60,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ProcessingRestricted(PrivacyOpsError):
    """Raised when processing is refused because of a restriction (Art. 18), an objection
    (Art. 21), a legal hold or the marketing suppression list."""

    status = 409
    code = "processing_restricted"
    exit_code = 8


class DependencyUnavailable(PrivacyOpsError):
    """Raised when a peer (SMTP server, connector, database) does not answer in time."""

    status = 503
    code = "dependency_unavailable"
    exit_code = 9


class ConfigurationError(PrivacyOpsError):
    """Raised when settings, keys or files the service needs are missing or inconsistent."""

    status = 500
    code = "configuration_error"
    exit_code = 10


class SettingsInvalid(ConfigurationError):
    """Raised when a setting has a value it cannot take; names the setting, the value and what
    it expects (the CLI exits 2, as for any bad input)."""

    code = "settings_invalid"
    exit_code = 2
